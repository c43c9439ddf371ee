//===- KernelPatterns.h - one kernel pattern per llm op ---------*- C++ -*-===//
//
// The light half of the kernel-pattern interface (DispatchBuilder.h has the
// rest): a pattern turns one llm op into a kernel and its dispatch. Kept
// free of MLIR dialect headers so targets/Target.h can name it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_KERNELPATTERNS_H
#define LLMC_PASSES_KERNELPATTERNS_H

#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>

namespace mlir {
class Operation;
class Pass;
} // namespace mlir

namespace llmc {
struct LLMLowerToKernelsOptions;

namespace lowering {
class DispatchBuilder;
/// Writes the kernel and the dispatch(es) of one op.
using KernelPattern =
    std::function<mlir::LogicalResult(mlir::Operation *, DispatchBuilder &)>;
/// Patterns by op name ("llm.linear", "arith.addi", ...).
using KernelPatterns = llvm::StringMap<KernelPattern>;

/// The target-neutral patterns, one per op @forward may contain.
void populateKernelPatterns(KernelPatterns &patterns);
} // namespace lowering

/// llm-lower-to-kernels with `overrides` taking the place of the default
/// patterns of the ops they name (a target's microkernels).
std::unique_ptr<mlir::Pass>
createLLMLowerToKernels(const LLMLowerToKernelsOptions &options,
                        lowering::KernelPatterns overrides);

} // namespace llmc

#endif // LLMC_PASSES_KERNELPATTERNS_H
