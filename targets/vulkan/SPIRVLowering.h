//===- SPIRVLowering.h - dispatch-level kernels as one SPIR-V module -*- C++ -*-===//
//
// The Vulkan back end's code path, in two passes so each can be tested with
// lit, and a driver that runs both and serializes the result:
//
//   llmc-vulkan-outline   every dispatched func.func kernel becomes a
//                         gpu.func compute entry `llmc_<kernel>` in one
//                         gpu.module: bindings are StorageBuffer memrefs
//                         (set 0, binding = argument index), and one more
//                         binding holds the launch's scalars and grid as
//                         i32 (the "params" slot the HAL writes per
//                         dispatch); invocation i runs iteration i, those
//                         past the grid return; llm.lane_sum becomes a
//                         subgroup reduction plus a workgroup-memory sum of
//                         the subgroups' results. Kernel bodies are made
//                         legal for Vulkan's logical addressing first
//                         (vector loads as element loads, private arrays in
//                         Function memory, constant tables copied in).
//   llmc-vulkan-to-spirv  upstream conversions (gpu, scf, arith, math,
//                         memref, vector, func to spirv) against the
//                         module's `spirv.target_env`, then
//                         spirv-lower-abi-attrs and spirv-update-vce.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_VULKAN_SPIRVLOWERING_H
#define LLMC_TARGETS_VULKAN_SPIRVLOWERING_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace llmc::vulkan {

struct SPIRVOptions {
  /// `#spirv.target_env<...>` as text (version, capabilities, extensions,
  /// limits); it decides which types and instructions the code may use.
  std::string targetEnv;
  /// Invocations per workgroup of kernels that do not distribute rows over
  /// lanes (those with `llm.lanes` use their lane count).
  int64_t workgroupSize = 64;
};

/// Lowers the kernels of a dispatch-level module (consumed) to one SPIR-V
/// module with an entry point per kernel. Errors are MLIR diagnostics at the
/// failing op, and an error value.
llvm::Error lowerToSPIRV(mlir::ModuleOp module, const SPIRVOptions &options);

/// The binary of the spirv.module lowerToSPIRV left in `module`.
llvm::Expected<std::vector<uint32_t>> serializeSPIRV(mlir::ModuleOp module);

/// The entry point name of a kernel ("llmc_" + kernel).
std::string spirvEntryName(llvm::StringRef kernel);

/// Registers the two passes with llmc-opt.
void registerVulkanTargetPasses();

} // namespace llmc::vulkan

#endif // LLMC_TARGETS_VULKAN_SPIRVLOWERING_H
