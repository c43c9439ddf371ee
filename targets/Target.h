//===- Target.h - what the build pipeline asks of a back end ----*- C++ -*-===//
//
// The one interface between `compiler/pipeline/Build.cpp` and the back ends:
// the build asks the target for its loop strategy (how the target-neutral
// kernels are written), then hands it the dispatch-level module and gets
// back an executable the artifact stores as a payload, with one entry per
// kernel. Build.cpp never knows which target it drives. Adding a back end
// (OpenCL, Vulkan, Metal) means implementing this class in targets/<name>/
// and one case in createTarget().
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_TARGET_H
#define LLMC_TARGETS_TARGET_H

#include "passes/KernelPatterns.h"
#include "targets/presets/Presets.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
class ModuleOp;
} // namespace mlir

namespace llmc::targets {

/// How the target wants the kernels written (llm-lower-to-kernels options).
struct KernelStrategy {
  int64_t vectorWidth = 8;  ///< f32 lanes per vector op
  int64_t accumulators = 4; ///< independent FMA chains in dot products
  /// Integer weights packed in panels (llm-pack-weights) and multiplied by
  /// int8-quantized activations with the target's integer dot products.
  bool int8Dot = false;
  /// GPU lanes that compute one row of a matrix-vector product together
  /// (llm-distribute-reductions); 1: one iteration per row (CPUs).
  int64_t lanes = 1;
  /// The target stores f16 natively (GPUs): a `q4f16_*` build keeps its
  /// activations in f16 (llm-plan-memory's `activations`), halving their
  /// traffic; kernels still compute in f32.
  bool halfActivations = false;
};

/// Compiled code for the artifact's KernelPayload.
struct Executable {
  std::string format;   ///< "elf-shared-object", "opencl-c"; later "spirv", "msl"
  std::string triple;   ///< what the code (or its host part) runs on
  std::string features; ///< CPU features the code needs, "+avx2,+fma,..."
  std::vector<uint8_t> bytes;
};

/// The kernels as a library an app links (`llmc build --emit static-lib` /
/// `shared-lib`): one exported function returns their llmc_kernel_table
/// (runtime/include/llmc_kernel_abi.h); the artifact's "linked" payload
/// records the same code id.
struct Library {
  std::vector<uint8_t> bytes; ///< an ar archive (static) or a shared object
  std::string triple, features;
  uint64_t codeId = 0;
};

struct LibraryOptions {
  bool shared = false;
  /// The exported function returning the kernel table (a C identifier).
  std::string symbol;
  /// A shared library's soname (its file name).
  std::string soname;
  /// The llmc_code_record the kernel table points to (packager::codeRecord).
  std::vector<uint8_t> codeRecord;
  /// Called with the library's triple, features and code id once they are
  /// known (its bytes are not made yet); returns the bytes of an artifact to
  /// embed in the library (exported as `<symbol>_artifact`), or none. An
  /// error stops the build.
  std::function<llvm::Expected<std::vector<uint8_t>>(const Library &)> embed;
};

class Target {
public:
  virtual ~Target() = default;
  virtual const TargetPreset &preset() const = 0;
  virtual KernelStrategy kernelStrategy() const = 0;
  /// The target's own kernels for some ops (microkernels), by op name; they
  /// replace the target-neutral patterns of passes/KernelPatterns.cpp.
  /// None by default.
  virtual void addKernelPatterns(lowering::KernelPatterns &patterns) const {}
  /// The name under which the executable exposes `kernel`.
  virtual std::string kernelEntry(llvm::StringRef kernel) const = 0;
  /// Compiles the kernels of a dispatch-level module (the module is
  /// consumed).
  virtual llvm::Expected<Executable> compile(mlir::ModuleOp module) = 0;
  /// The target code as text, for `llmc build --emit-llvm` and friends
  /// (the module is consumed).
  virtual llvm::Expected<std::string> emitText(mlir::ModuleOp module) = 0;
  /// The kernels as a library (the module is consumed). Only targets whose
  /// code is native can; the others answer noNativeLibrary.
  virtual llvm::Expected<Library> compileLibrary(mlir::ModuleOp module,
                                                 const LibraryOptions &options) = 0;
};

/// compileLibrary of a target whose kernels the device's driver compiles.
inline llvm::Error noNativeLibrary(const TargetPreset &preset) {
  return llvm::createStringError(
      "--emit static-lib / shared-lib needs native code: the " + std::string(preset.name) +
      " target's kernels are compiled by the device's driver at run time; build an "
      "artifact (--emit artifact)");
}

/// The lanes a GPU preset gives each row of a matrix-vector product
/// (KernelStrategy::lanes, and the workgroup size of every kernel): its
/// subgroup, so that on the reference device a row's reduction is one
/// subgroup operation, within its workgroup limit. At least 1.
int64_t gpuRowLanes(const TargetPreset &preset);

/// The back end of `preset`; an error naming the issue that brings it when
/// it is not built yet.
llvm::Expected<std::unique_ptr<Target>> createTarget(const TargetPreset &preset);

/// Every dialect the back ends consume or produce.
void registerTargetDialects(mlir::DialectRegistry &registry);

} // namespace llmc::targets

#endif // LLMC_TARGETS_TARGET_H
