//===- OpenCLTarget.cpp - OpenCL C back end --------------------------------===//

#include "targets/opencl/OpenCLTarget.h"

#include "targets/Target.h"
#include "targets/opencl/OpenCLEmitter.h"
#include "targets/presets/Presets.h"

#include "mlir/IR/BuiltinOps.h"

namespace {

class OpenCLBackend final : public llmc::targets::Target {
public:
  explicit OpenCLBackend(const llmc::targets::TargetPreset &preset)
      : preset_(preset) {}
  const llmc::targets::TargetPreset &preset() const override { return preset_; }
  // float4: one 128-bit load per lane on Adreno's ALUs (and what OpenCL's
  // vload4 gives every device); 4 chains to hide the FMA latency. No integer
  // dot products: quantized weights are dequantized inside the dot product
  // (the float-activation qlinear kernels), so weights keep the row layout.
  // Each row of a matrix-vector product goes to one workgroup of
  // workgroupSize() lanes (llm-distribute-reductions), whose partial dot
  // products meet in a subgroup or local-memory reduction.
  llmc::targets::KernelStrategy kernelStrategy() const override {
    return {4, 4, /*int8Dot=*/false, /*lanes=*/workgroupSize(),
            /*halfActivations=*/true};
  }
  std::string kernelEntry(llvm::StringRef kernel) const override {
    return llmc::opencl::openclEntryName(kernel);
  }
  llvm::Expected<llmc::targets::Executable> compile(mlir::ModuleOp module) override {
    auto text = emitText(module);
    if (!text)
      return text.takeError();
    llmc::targets::Executable exe;
    exe.format = "opencl-c";
    // The program is portable OpenCL C; the triple records the preset's host
    // CPU (informational: the runtime checks no architecture for it).
    exe.triple = preset_.triple;
    exe.bytes.assign(text->begin(), text->end());
    return std::move(exe);
  }
  llvm::Expected<std::string> emitText(mlir::ModuleOp module) override {
    llmc::opencl::OpenCLEmitOptions options;
    options.workgroupSize = workgroupSize();
    options.banner = std::string(preset_.name) + " (" + preset_.device + ")";
    return llmc::opencl::emitOpenCL(module, options);
  }
  llvm::Expected<llmc::targets::Library>
  compileLibrary(mlir::ModuleOp, const llmc::targets::LibraryOptions &) override {
    return llmc::targets::noNativeLibrary(preset());
  }

private:
  // On Adreno a 64-wide workgroup is one wave in half-wave mode, so a row's
  // reduction is a single subgroup reduction.
  int64_t workgroupSize() const { return llmc::targets::gpuRowLanes(preset_); }
  const llmc::targets::TargetPreset &preset_;
};

} // namespace

std::unique_ptr<llmc::targets::Target>
llmc::opencl::createOpenCLTarget(const targets::TargetPreset &preset) {
  return std::make_unique<OpenCLBackend>(preset);
}
