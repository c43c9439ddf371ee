//===- OpenCLEmitter.h - dispatch-level kernels as OpenCL C ------*- C++ -*-===//
//
// Prints the kernels of a dispatch-level module (func.func over memref
// bindings and index scalars, bodies in scf / arith / math / vector /
// memref) as one OpenCL C 1.2 program. Our own printer rather than MLIR's
// EmitC: the kernels are written with `vector` ops, which map one to one
// onto OpenCL's float4 / vload4 / fma, while EmitC in MLIR 19 has no vector
// conversion and does not convert memref arguments; OpenCL also needs
// address-space qualifiers and a kernel wrapper that EmitC would leave to a
// post-pass over its text. See targets/opencl/README.md.
//
// Each dispatched kernel `k` becomes a static function with the kernel's
// body and a `__kernel void llmc_k(...)` wrapper: per binding a buffer and a
// byte offset, then the scalars as `long`, then the grid; work-item i runs
// iteration i of [0, grid).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_OPENCL_OPENCLEMITTER_H
#define LLMC_TARGETS_OPENCL_OPENCLEMITTER_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace llmc::opencl {

struct OpenCLEmitOptions {
  /// Work-items per workgroup, written as reqd_work_group_size on every
  /// kernel (the HAL launches with it and rounds the grid up).
  int64_t workgroupSize = 64;
  /// A comment line naming the preset, at the top of the program.
  std::string banner;
};

/// The OpenCL C program for every kernel an `llm.dispatch` of `module`
/// launches. A kernel the printer cannot express (an op or type it does not
/// know) is reported as an MLIR diagnostic at that op, and an error returned.
llvm::Expected<std::string> emitOpenCL(mlir::ModuleOp module,
                                       const OpenCLEmitOptions &options);

/// Registers `--llmc-print-opencl` (the printer as a pass, for lit tests).
void registerOpenCLTargetPasses();

/// The entry name of a kernel in the program ("llmc_" + kernel).
std::string openclEntryName(llvm::StringRef kernel);

} // namespace llmc::opencl

#endif // LLMC_TARGETS_OPENCL_OPENCLEMITTER_H
