// swift-tools-version:5.9
// The llmc runtime and one model, linked into an iOS (or macOS) app as
// static libraries wrapped in XCFrameworks, with a small Swift API
// (Sources/Llmc). README.md says how to make the two XCFrameworks.
import PackageDescription

let package = Package(
    name: "Llmc",
    platforms: [.iOS(.v17), .macOS(.v13)],
    products: [.library(name: "Llmc", targets: ["Llmc"])],
    targets: [
        // libllmc_runtime.a + include/llmc (module LlmcRuntime)
        .binaryTarget(name: "LlmcRuntime", path: "LlmcRuntime.xcframework"),
        // libmodel.a + model.h from `llmc build --target ios/cpu --emit static-lib`
        // (module LlmcModel)
        .binaryTarget(name: "LlmcModel", path: "LlmcModel.xcframework"),
        .target(name: "Llmc", dependencies: ["LlmcRuntime", "LlmcModel"]),
    ]
)
