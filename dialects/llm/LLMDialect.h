//===- LLMDialect.h - the llm dialect ----------------------------*- C++ -*-===//
//
// One header for the whole dialect: attributes, types and ops. Include it only
// from files that build or inspect `llm` IR; it pulls in MLIR's op machinery.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECTS_LLM_LLMDIALECT_H
#define LLMC_DIALECTS_LLM_LLMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/llm/GGMLBlocks.h"
#include "dialects/llm/QuantLayout.h"

namespace llmc::llm {
// Custom parameter parsers/printers used by the generated attribute code.
mlir::FailureOr<llvm::APFloat> parseF64Param(mlir::AsmParser &parser);
void printF64Param(mlir::AsmPrinter &printer, const llvm::APFloat &value);
mlir::FailureOr<bool> parseBoolParam(mlir::AsmParser &parser);
mlir::FailureOr<llvm::SmallVector<int64_t>>
parseI64ListParam(mlir::AsmParser &parser);
void printI64ListParam(mlir::AsmPrinter &printer, llvm::ArrayRef<int64_t> v);
} // namespace llmc::llm

#include "dialects/llm/LLMEnums.h.inc"

#include "dialects/llm/LLMDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/LLMAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/LLMTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/llm/LLMOps.h.inc"

namespace llmc::llm {
/// The `#llm.config` of the module enclosing `op`, or null.
ModelConfigAttr getModelConfig(mlir::Operation *op);
/// The byte layout of a weight of type `type` stored as `quant` (null: f32):
/// the one place a #llm.quant becomes a QuantLayout.h layout.
quant::Layout layoutFor(mlir::RankedTensorType type, QuantAttr quant);
/// Bytes per element of a stored dtype (i4/u4: 0, they are packed).
unsigned getDTypeBits(DType dtype);
/// The ggml tensor type a ggml block dtype (q8_0, ..., q6_k) stores;
/// std::nullopt for the plain dtypes.
std::optional<GGMLType> getGGMLType(DType dtype);
/// Positions per online-softmax tile of an `llm.attention` without
/// `kv_tile`.
constexpr int64_t kDefaultKVTile = 32;

/// What a rotary embedding computes with: position p of frequency i turns by
/// angle p * invFreq[i], and cos/sin are multiplied by attentionFactor.
struct RopeFrequencies {
  llvm::SmallVector<float> invFreq; ///< head_dim / 2 entries
  float attentionFactor = 1.0f;
};
/// Hugging Face transformers' frequencies (modeling_rope_utils.py, in f32
/// where it computes in f32) for `scaling` (null: the default rope). The one
/// place the rope math lives: the lowering and the GGUF importer call it.
RopeFrequencies computeRope(int64_t headDim, double theta,
                            RopeScalingAttr scaling);
} // namespace llmc::llm

#endif // LLMC_DIALECTS_LLM_LLMDIALECT_H
