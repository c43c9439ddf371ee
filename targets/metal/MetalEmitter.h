//===- MetalEmitter.h - dispatch-level kernels as MSL ------------*- C++ -*-===//
//
// Prints the kernels of a dispatch-level module as one Metal Shading
// Language source: the bodies through the C-family printer shared with the
// OpenCL target (targets/CKernelPrinter.h), in MSL's spellings, and a
// `kernel void llmc_k(...)` entry per kernel. Why a direct emitter and not
// SPIRV-Cross over the Vulkan target's SPIR-V: see targets/metal/README.md.
//
// The kernel ABI (what runtime/hal/metal and the MSL-on-CPU harness bind):
// binding i is `[[buffer(i)]]`, a device pointer already at the binding's
// offset; after the bindings one more buffer, the params slot, holds the
// scalars then the grid as int32; thread i of the launch
// (`thread_position_in_grid`) runs iteration i of [0, grid). Every kernel
// of a module declares the same threadgroup size,
// `[[max_total_threads_per_threadgroup(N)]]`, which the HAL reads back.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_METAL_METALEMITTER_H
#define LLMC_TARGETS_METAL_METALEMITTER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace llmc::metal {

struct MetalEmitOptions {
  /// Threads per threadgroup of every kernel; a distributed kernel's rows
  /// must be this many lanes, one SIMD-group (simdWidth).
  int64_t threadgroupSize = 32;
  /// The GPU's SIMD-group width: simd_sum covers this many threads.
  int64_t simdWidth = 32;
  /// A comment line naming the preset, at the top of the source.
  std::string banner;
};

/// The MSL source for every kernel an `llm.dispatch` of `module` launches;
/// an op or type the printer cannot express is an MLIR diagnostic at that
/// op, and an error.
llvm::Expected<std::string> emitMSL(mlir::ModuleOp module,
                                    const MetalEmitOptions &options);

/// Registers `--llmc-print-msl` (the printer as a pass, for lit tests).
void registerMetalTargetPasses();

/// The entry name of a kernel in the source ("llmc_" + kernel).
std::string metalEntryName(llvm::StringRef kernel);

} // namespace llmc::metal

#endif // LLMC_TARGETS_METAL_METALEMITTER_H
