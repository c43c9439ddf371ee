//===- MetalTarget.cpp - MSL back end --------------------------------------===//

#include "targets/metal/MetalTarget.h"

#include "targets/Target.h"
#include "targets/metal/MetalEmitter.h"
#include "targets/presets/Presets.h"

#include "mlir/IR/BuiltinOps.h"

namespace {

class MetalBackend final : public llmc::targets::Target {
public:
  explicit MetalBackend(const llmc::targets::TargetPreset &preset) : preset_(preset) {}

  const llmc::targets::TargetPreset &preset() const override { return preset_; }
  // float4 (MSL's widest vector) and 4 FMA chains, as on OpenCL; quantized
  // weights dequantized inside the dot product. Each row of a
  // matrix-vector product is one SIMD-group of 32 threads (Apple's width),
  // whose partial sums meet in simd_sum; every kernel's threadgroup is that
  // one SIMD-group. Activations of q4f16_* builds are half.
  llmc::targets::KernelStrategy kernelStrategy() const override {
    return {4, 4, /*int8Dot=*/false, /*lanes=*/threadgroupSize(),
            /*halfActivations=*/true};
  }
  std::string kernelEntry(llvm::StringRef kernel) const override {
    return llmc::metal::metalEntryName(kernel);
  }
  llvm::Expected<llmc::targets::Executable> compile(mlir::ModuleOp module) override {
    auto text = emitText(module);
    if (!text)
      return text.takeError();
    llmc::targets::Executable exe;
    exe.format = "msl";
    // MSL source is compiled by Metal on the device; the triple records the
    // preset's (informational: the runtime checks no architecture for it).
    exe.triple = preset_.triple;
    exe.bytes.assign(text->begin(), text->end());
    return std::move(exe);
  }
  llvm::Expected<std::string> emitText(mlir::ModuleOp module) override {
    llmc::metal::MetalEmitOptions options;
    options.threadgroupSize = threadgroupSize();
    options.simdWidth = preset_.subgroupSize;
    options.banner = std::string(preset_.name) + " (" + preset_.device + ")";
    return llmc::metal::emitMSL(module, options);
  }
  llvm::Expected<llmc::targets::Library>
  compileLibrary(mlir::ModuleOp, const llmc::targets::LibraryOptions &) override {
    return llmc::targets::noNativeLibrary(preset());
  }

private:
  int64_t threadgroupSize() const { return llmc::targets::gpuRowLanes(preset_); }
  const llmc::targets::TargetPreset &preset_;
};

} // namespace

std::unique_ptr<llmc::targets::Target>
llmc::metal::createMetalTarget(const targets::TargetPreset &preset) {
  return std::make_unique<MetalBackend>(preset);
}
