//===- LlamaGraph.h - the @forward of a Llama 3 model -------------*- C++ -*-===//
//
// Both importers (Hugging Face, GGUF) name weights as Hugging Face does and
// build the same graph; this is that graph, written once.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_LLAMAGRAPH_H
#define LLMC_COMPILER_FRONTEND_LLAMAGRAPH_H

#include "dialects/llm/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace llmc {

struct LlamaGraphShape {
  int64_t hidden = 0, ffn = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0, vocab = 0, maxContext = 0;
  double rmsNormEps = 1e-5, ropeTheta = 500000.0;
  llm::RopeScalingAttr ropeScaling; // null: none
  bool tiedEmbeddings = false;
};

struct LlamaWeight {
  std::string name;                   ///< Hugging Face name = symbol name
  llvm::SmallVector<int64_t, 2> shape; ///< [out, in] or [n]
  /// What it is: the importers put it on the llm.weight, and GGUF names its
  /// tensors by it.
  llm::WeightRole role;
  int64_t layer = -1;                 ///< -1 outside the layers
};

/// Every weight of a Llama 3 model of this shape, in model order.
std::vector<LlamaWeight> llamaWeights(const LlamaGraphShape &shape);

/// Appends `func.func @forward(tokens, start_pos, kv cache) -> logits` to
/// `module`, referring to weights `model.embed_tokens.weight`,
/// `model.layers.N.*`, `model.norm.weight` and `lm_head.weight` (or the
/// embedding when tied). `isIntegerWeight(name)` says which weights already
/// carry an integer #llm.quant, so their linears are llm.quantized_linear.
void emitLlamaForward(mlir::OpBuilder &b, mlir::ModuleOp module,
                      mlir::Location loc, const LlamaGraphShape &shape,
                      llvm::function_ref<bool(llvm::StringRef)> isIntegerWeight);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_LLAMAGRAPH_H
