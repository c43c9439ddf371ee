//===- LLMDialect.cpp - dialect, attributes and types ---------------------===//

#include "dialects/llm/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llmc::llm;

#include "dialects/llm/LLMDialect.cpp.inc"
#include "dialects/llm/LLMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/LLMAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/LLMTypes.cpp.inc"

void LLMDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/llm/LLMAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/llm/LLMTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/llm/LLMOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Parameter parsing helpers
//===----------------------------------------------------------------------===//

FailureOr<llvm::APFloat> llmc::llm::parseF64Param(AsmParser &parser) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  return llvm::APFloat(value);
}

void llmc::llm::printF64Param(AsmPrinter &printer, const llvm::APFloat &value) {
  // Shortest %g form that reads back to the same double, made to lex as an
  // MLIR float literal (which needs a '.').
  double v = value.convertToDouble();
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string str(buf);
  if (str.find_first_of(".ni") == std::string::npos) {
    size_t e = str.find('e');
    str.insert(e == std::string::npos ? str.size() : e, ".0");
  }
  printer << str;
}

FailureOr<bool> llmc::llm::parseBoolParam(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(),
                          "expected 'true' or 'false'");
}

FailureOr<SmallVector<int64_t>> llmc::llm::parseI64ListParam(AsmParser &parser) {
  SmallVector<int64_t> values;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        int64_t v;
        if (parser.parseInteger(v))
          return failure();
        values.push_back(v);
        return success();
      }))
    return failure();
  return values;
}

void llmc::llm::printI64ListParam(AsmPrinter &printer, ArrayRef<int64_t> v) {
  printer << '[';
  llvm::interleaveComma(v, printer);
  printer << ']';
}

unsigned llmc::llm::getDTypeBits(DType dtype) {
  switch (dtype) {
  case DType::f32:
    return 32;
  case DType::f16:
  case DType::bf16:
    return 16;
  case DType::i8:
  case DType::u8:
    return 8;
  case DType::i4:
  case DType::u4:
    return 4;
  // ggml blocks: the code bits, rounded down (Q8_0 is 8.5 bits per element).
  case DType::q8_0:
    return 8;
  case DType::q5_0:
  case DType::q5_1:
  case DType::q5_k:
    return 5;
  case DType::q4_0:
  case DType::q4_1:
  case DType::iq4_nl:
  case DType::q4_k:
    return 4;
  case DType::q6_k:
    return 6;
  case DType::q3_k:
    return 3;
  case DType::q2_k:
    return 2;
  }
  return 0;
}

std::optional<llmc::GGMLType> llmc::llm::getGGMLType(DType dtype) {
  switch (dtype) {
  case DType::q8_0: return GGMLType::Q8_0;
  case DType::q4_0: return GGMLType::Q4_0;
  case DType::q4_1: return GGMLType::Q4_1;
  case DType::q5_0: return GGMLType::Q5_0;
  case DType::q5_1: return GGMLType::Q5_1;
  case DType::iq4_nl: return GGMLType::IQ4_NL;
  case DType::q2_k: return GGMLType::Q2_K;
  case DType::q3_k: return GGMLType::Q3_K;
  case DType::q4_k: return GGMLType::Q4_K;
  case DType::q5_k: return GGMLType::Q5_K;
  case DType::q6_k: return GGMLType::Q6_K;
  default: return std::nullopt;
  }
}

ModelConfigAttr llmc::llm::getModelConfig(Operation *op) {
  ModuleOp module = isa<ModuleOp>(op) ? cast<ModuleOp>(op)
                                      : op->getParentOfType<ModuleOp>();
  if (!module)
    return {};
  return module->getAttrOfType<ModelConfigAttr>(LLMDialect::kConfigAttrName);
}

//===----------------------------------------------------------------------===//
// Attribute and type verifiers
//===----------------------------------------------------------------------===//

LogicalResult
WeightStorageAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          StringAttr file, StringAttr tensor, uint64_t offset,
                          DType dtype, ArrayRef<int64_t> shape,
                          int64_t ropePermuteHeads) {
  if (file.getValue().empty())
    return emitError() << "storage file name must not be empty";
  if (tensor.getValue().empty())
    return emitError() << "storage tensor name must not be empty";
  for (int64_t d : shape)
    if (d < 0)
      return emitError() << "storage shape has a negative dimension " << d;
  if (std::optional<GGMLType> g = getGGMLType(dtype)) {
    int block = llmc::ggml::blockForm(*g)->elems;
    if (shape.empty() || shape.back() % block != 0)
      return emitError() << "storage dtype " << stringifyDType(dtype)
                         << " needs rows that are whole blocks of " << block
                         << " elements";
  }
  if (ropePermuteHeads < 0)
    return emitError() << "rope_permute_heads must be >= 0, got "
                       << ropePermuteHeads;
  if (ropePermuteHeads > 0 &&
      (shape.size() != 2 || shape[0] % (2 * ropePermuteHeads) != 0))
    return emitError() << "rope_permute_heads = " << ropePermuteHeads
                       << " needs a matrix whose rows split into that many "
                          "heads of an even size";
  return success();
}

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                QuantScheme scheme, unsigned bits,
                                int64_t groupSize, ZeroPoint zeroPoint,
                                DType scaleDtype) {
  switch (scheme) {
  case QuantScheme::float_cast:
    if (bits != 16 && bits != 32)
      return emitError() << "float_cast quantization needs 16 or 32 bits, got "
                         << bits;
    return success();
  case QuantScheme::int_group:
    if (bits != 4 && bits != 6 && bits != 8)
      return emitError() << "int_group quantization supports 4, 6 or 8 bits, got "
                         << bits;
    if (groupSize < 0)
      return emitError() << "group_size must be >= 0 (0 = per channel), got "
                         << groupSize;
    if (scaleDtype != DType::f32 && scaleDtype != DType::f16 &&
        scaleDtype != DType::bf16)
      return emitError() << "scale_dtype must be a float type, got "
                         << stringifyDType(scaleDtype);
    return success();
  }
  return emitError() << "unknown quantization scheme";
}

LogicalResult RopeScalingAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, RopeType type,
    llvm::APFloat factorF, llvm::APFloat lowF, llvm::APFloat highF,
    int64_t originalMaxPositions, llvm::APFloat attentionFactorF,
    llvm::APFloat betaFastF, llvm::APFloat betaSlowF, bool truncate) {
  double factor = factorF.convertToDouble();
  double lowFreqFactor = lowF.convertToDouble();
  double highFreqFactor = highF.convertToDouble();
  double attentionFactor = attentionFactorF.convertToDouble();
  double betaFast = betaFastF.convertToDouble();
  double betaSlow = betaSlowF.convertToDouble();
  StringRef name = stringifyRopeType(type);
  if (!(factor >= 1.0) || !std::isfinite(factor))
    return emitError() << "rope scaling factor must be >= 1, got " << factor;
  bool isLlama3 = type == RopeType::llama3, isYarn = type == RopeType::yarn;
  // A parameter of another type would be silently ignored by the lowering.
  if (!isLlama3 && (lowFreqFactor != 0.0 || highFreqFactor != 0.0))
    return emitError() << name
                       << " rope scaling takes no low/high_freq_factor";
  if (!isYarn && (attentionFactor != 1.0 || betaFast != 32.0 ||
                  betaSlow != 1.0 || !truncate))
    return emitError() << name
                       << " rope scaling takes no attention_factor, "
                          "beta_fast, beta_slow or truncate";
  if ((isLlama3 || isYarn) != (originalMaxPositions != 0))
    return emitError() << name << " rope scaling "
                       << (isLlama3 || isYarn ? "needs" : "takes no")
                       << " original_max_position_embeddings";
  if (originalMaxPositions < 0)
    return emitError() << "original_max_position_embeddings must be positive";
  if (isLlama3 && (!(lowFreqFactor > 0.0) || !(highFreqFactor > lowFreqFactor)))
    return emitError() << "rope scaling needs 0 < low_freq_factor < "
                          "high_freq_factor, got "
                       << lowFreqFactor << " and " << highFreqFactor;
  if (isYarn && (!(attentionFactor > 0.0) || !std::isfinite(attentionFactor) ||
                 !(betaFast > 0.0) || !(betaSlow > 0.0) ||
                 !std::isfinite(betaFast) || !std::isfinite(betaSlow)))
    return emitError() << "yarn rope scaling needs positive attention_factor, "
                          "beta_fast and beta_slow";
  return success();
}

LogicalResult ModelConfigAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, int64_t hiddenSize,
    int64_t intermediateSize, int64_t numLayers, int64_t numHeads,
    int64_t numKvHeads, int64_t headDim, int64_t vocabSize, int64_t maxContext,
    llvm::APFloat rmsNormEpsF, llvm::APFloat ropeThetaF,
    RopeScalingAttr ropeScaling,
    bool tieWordEmbeddings, int64_t bosTokenId, ArrayRef<int64_t> eosTokenIds) {
  double rmsNormEps = rmsNormEpsF.convertToDouble();
  double ropeTheta = ropeThetaF.convertToDouble();
  struct {
    const char *name;
    int64_t value;
  } positive[] = {{"hidden_size", hiddenSize},
                  {"intermediate_size", intermediateSize},
                  {"num_layers", numLayers},
                  {"num_heads", numHeads},
                  {"num_kv_heads", numKvHeads},
                  {"head_dim", headDim},
                  {"vocab_size", vocabSize},
                  {"max_context", maxContext}};
  for (auto &p : positive)
    if (p.value <= 0)
      return emitError() << p.name << " must be positive, got " << p.value;
  if (numHeads % numKvHeads != 0)
    return emitError() << "num_heads (" << numHeads
                       << ") must be a multiple of num_kv_heads ("
                       << numKvHeads << ")";
  if (headDim % 2 != 0)
    return emitError() << "head_dim must be even for rotary embeddings, got "
                       << headDim;
  if (!(rmsNormEps > 0.0))
    return emitError() << "rms_norm_eps must be positive";
  if (!(ropeTheta > 0.0))
    return emitError() << "rope_theta must be positive";
  auto inVocab = [&](int64_t id) { return id >= 0 && id < vocabSize; };
  if (!inVocab(bosTokenId))
    return emitError() << "bos_token_id " << bosTokenId
                       << " is outside the vocabulary [0, " << vocabSize << ")";
  for (int64_t id : eosTokenIds)
    if (!inVocab(id))
      return emitError() << "eos token id " << id
                         << " is outside the vocabulary [0, " << vocabSize
                         << ")";
  return success();
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t numLayers, int64_t numKvHeads,
                                  int64_t headDim, int64_t maxContext,
                                  DType dtype) {
  if (numLayers <= 0 || numKvHeads <= 0 || headDim <= 0 || maxContext <= 0)
    return emitError() << "kv_cache dimensions must be positive";
  if (dtype != DType::f32 && dtype != DType::f16 && dtype != DType::i8)
    return emitError() << "kv_cache dtype must be f32, f16 or i8";
  return success();
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t prefillChunk, int64_t arenaSize,
                               int64_t weightsSize, int64_t kvCacheSize,
                               Type activations) {
  if (prefillChunk <= 0 || arenaSize < 0 || weightsSize < 0 || kvCacheSize < 0)
    return emitError() << "plan sizes must be non-negative and the prefill "
                          "chunk positive";
  if (activations && !activations.isF32() && !activations.isF16())
    return emitError() << "plan activations must be f32 or f16, got "
                       << activations;
  return success();
}

LogicalResult LLMDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  if (attr.getName() == kConfigAttrName) {
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << kConfigAttrName
                             << "' is only valid on a module";
    if (!isa<ModelConfigAttr>(attr.getValue()))
      return op->emitError() << "'" << kConfigAttrName
                             << "' must be a #llm.config attribute";
    return success();
  }
  // The memory plan's marks on the ops of @forward (llm-plan-memory).
  if (attr.getName() == "llm.slot" || attr.getName() == "llm.scratch") {
    auto off = dyn_cast<IntegerAttr>(attr.getValue());
    if (!off || off.getInt() < 0 || off.getInt() % 64)
      return op->emitError() << "'" << attr.getName()
                             << "' must be a 64-byte aligned arena offset";
    return success();
  }
  // A kernel whose rows are computed by groups of lanes
  // (llm-distribute-reductions; llm.lane_sum).
  if (attr.getName() == "llm.lanes") {
    auto lanes = dyn_cast<IntegerAttr>(attr.getValue());
    if (op->getName().getStringRef() != "func.func" || !lanes || lanes.getInt() < 1)
      return op->emitError()
             << "'llm.lanes' must be a positive integer on a func.func";
    return success();
  }
  if (attr.getName() == "llm.plan") {
    if (!isa<ModuleOp>(op) || !isa<PlanAttr>(attr.getValue()))
      return op->emitError()
             << "'llm.plan' must be a #llm.plan attribute on a module";
    return success();
  }
  return op->emitError() << "unknown llm dialect attribute '"
                         << attr.getName().getValue() << "'";
}
