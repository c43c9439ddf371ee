//===- LLMOps.cpp - verifiers of the llm ops ------------------------------===//
//
// Verifiers compare static dimensions only: a dynamic token dimension (`?`)
// is compatible with anything, feature dimensions are always static.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace llmc::llm;

#define GET_OP_CLASSES
#include "dialects/llm/LLMOps.cpp.inc"

namespace {
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

int64_t dim(Value v, unsigned i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

/// Resolves `ref` to an `llm.weight`, reporting a precise error on `op`.
FailureOr<WeightOp> lookupWeight(Operation *op, FlatSymbolRefAttr ref,
                                 SymbolTableCollection &symbolTable) {
  auto weight = symbolTable.lookupNearestSymbolFrom<WeightOp>(op, ref);
  if (!weight)
    return op->emitOpError() << "references " << ref
                             << ", which is not an llm.weight";
  return weight;
}

/// Checks that an op maps each input row to one result row.
LogicalResult verifySameRows(Operation *op, Value input, Value result) {
  if (!compatible(dim(input, 0), dim(result, 0)))
    return op->emitOpError() << "input has " << dimStr(dim(input, 0))
                             << " rows but the result has "
                             << dimStr(dim(result, 0));
  return success();
}

/// Checks that a feature dimension equals heads * head_dim.
LogicalResult verifyHeads(Operation *op, StringRef what, int64_t featureDim,
                          int64_t heads, int64_t headDim) {
  if (!ShapedType::isDynamic(featureDim) && featureDim != heads * headDim)
    return op->emitOpError() << what << " has " << featureDim
                             << " features, expected " << heads << " heads x "
                             << headDim << " = " << heads * headDim;
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  RankedTensorType type = getTensorType();
  Type elt = type.getElementType();
  if (!elt.isF32() && !elt.isF16() && !elt.isBF16())
    return emitOpError() << "weight must have an f32, f16 or bf16 element "
                            "type, got "
                         << elt;
  if (!type.hasStaticShape())
    return emitOpError() << "weight must have a static shape, got " << type;
  auto isFloat = [](DType dt) {
    return dt == DType::f32 || dt == DType::f16 || dt == DType::bf16;
  };
  // The parts' rows stack into the weight: same row length, rows adding up.
  SmallVector<WeightStorageAttr> parts = getParts();
  int64_t rows = 0;
  for (WeightStorageAttr part : parts) {
    ArrayRef<int64_t> stored = part.getShape();
    bool fits = parts.size() == 1
                    ? stored == type.getShape()
                    : stored.size() == 2 && type.getRank() == 2 &&
                          stored[1] == type.getDimSize(1);
    if (!fits) {
      auto diag = emitOpError() << "storage shape [";
      llvm::interleaveComma(stored, diag);
      diag << "] of " << part.getTensor() << " differs from the weight type "
           << type;
      return diag;
    }
    rows += stored[0];
    DType dt = part.getDtype();
    if (!isFloat(dt) && !getGGMLType(dt))
      return emitOpError() << "source storage must be f32, f16 or bf16, got "
                           << stringifyDType(dt)
                           << " (or a ggml block format: q8_0, q4_0, ..., q6_k)";
  }
  if (rows != type.getDimSize(0))
    return emitOpError() << "its parts hold " << rows << " rows, the weight type "
                         << type << " has " << type.getDimSize(0);
  if (WeightStorageAttr scale = getScaledByAttr()) {
    int64_t cols = type.getRank() == 2 ? type.getDimSize(1) : -1;
    if (scale.getShape().size() != 1 || scale.getShape()[0] != cols)
      return emitOpError() << "scaled_by " << scale.getTensor()
                           << " must be a vector of the " << cols
                           << " columns of a 2-D weight";
    if (!isFloat(scale.getDtype()))
      return emitOpError() << "scaled_by must be stored as f32, f16 or bf16";
  }
  if (std::optional<int64_t> panel = getPacked()) {
    llmc::quant::Layout l = getLayout();
    if (!l.isInteger() || type.getRank() != 2)
      return emitOpError() << "only integer-quantized matrices pack in panels";
    if (const char *why = l.invalidReason())
      return emitOpError() << "cannot pack in panels of " << *panel << ": " << why;
  }
  if (std::optional<int64_t> at = getSegmentOffset())
    if (*at < 0 || *at % llmc::quant::kAlign)
      return emitOpError() << "segment offset " << *at
                           << " is not a non-negative multiple of "
                           << llmc::quant::kAlign;
  return success();
}

/// Whether every source part of `w` is a ggml block tensor whose exact
/// layout (ggml::keptLayout) is `l`'s; with `kquantOnly`, of Q4_K, Q6_K or
/// Q3_K only.
/// Whether every source part of `w` is a ggml block format kept as int8
/// groups (ggml::keptLayout) whose codes fit in int6 as the panel kernels
/// read it: symmetric -32..31 (Q5_0, Q3_K, Q6_K), or with mins 0..63 in
/// groups of 32 (Q5_1, Q5_K; the asymmetric tile has no groups of 16).
static bool partsFitInt6(WeightOp w) {
  return llvm::all_of(w.getParts(), [](WeightStorageAttr p) {
    std::optional<llmc::GGMLType> g = getGGMLType(p.getDtype());
    std::optional<llmc::ggml::BlockForm> f;
    if (g)
      f = llmc::ggml::blockForm(*g);
    if (!f || llmc::ggml::keptLayout(*f).bits != 8)
      return false;
    return f->asymmetric
               ? f->codeMin >= 0 && f->codeMax <= 63 && f->group % 32 == 0
               : f->codeMin >= -32 && f->codeMax <= 31;
  });
}

static bool partsKeptAs(WeightOp w, const llmc::quant::Layout &l, bool kquantOnly) {
  if (!l.isInteger())
    return false;
  // Codes that fit in int6, packed so (getLayout), are the format's own.
  const bool int6 = l.bits == 6 && l.panel && partsFitInt6(w);
  for (WeightStorageAttr part : w.getParts()) {
    std::optional<llmc::GGMLType> g = getGGMLType(part.getDtype());
    if (!g || (kquantOnly && *g != llmc::GGMLType::Q4_K && *g != llmc::GGMLType::Q5_K &&
               *g != llmc::GGMLType::Q6_K && *g != llmc::GGMLType::Q3_K))
      return false;
    llmc::ggml::KeptLayout k = llmc::ggml::keptLayout(*llmc::ggml::blockForm(*g));
    if ((k.bits != l.bits && !(int6 && k.bits == 8)) || k.group != l.group ||
        k.asymmetric != l.asymmetric || k.scaleBytes != l.scaleBytes)
      return false;
  }
  return true;
}

llmc::quant::Layout WeightOp::getLayout() {
  return getLayoutInPanels(getPacked().value_or(0));
}

llmc::quant::Layout WeightOp::getLayoutInPanels(int64_t panel) {
  llmc::quant::Layout l = layoutFor(getTensorType(), getQuantAttr());
  l.panel = panel;
  // ggml's K-quants kept exactly and packed: their scales (and mins) are
  // an f16 super-block scale times 6- or 8-bit sub-scales, stored so (int8
  // under an f32 per 256 columns) instead of one f32 per group.
  if (l.panel && l.scaleBytes == 4 && l.cols % 256 == 0 &&
      partsKeptAs(*this, l, /*kquantOnly=*/true))
    l.superGroups = 256 / l.group;
  // Kept codes of 5 or 6 bits (Q5_0, Q5_1, Q5_K, Q3_K, Q6_K) are packed as
  // int6, not widened to int8: Q6_K 6.62 bits a weight instead of 8.62 (a
  // Q4_K_M file's vocabulary matrix, the largest a decode token reads, is
  // Q6_K), Q5_K 6.75 instead of 10.
  if (l.panel && l.bits == 8 && partsKeptAs(*this, l, /*kquantOnly=*/false) &&
      partsFitInt6(*this))
    l.bits = 6;
  return l;
}

SmallVector<WeightStorageAttr> WeightOp::getParts() {
  SmallVector<WeightStorageAttr> parts{getStorage()};
  if (ArrayAttr more = getThenAttr())
    for (Attribute a : more)
      parts.push_back(cast<WeightStorageAttr>(a));
  return parts;
}

bool WeightOp::copiesSourceBlocks() {
  return partsKeptAs(*this, getLayout(), /*kquantOnly=*/false);
}

llmc::quant::Layout llmc::llm::layoutFor(RankedTensorType t, QuantAttr q) {
  llmc::quant::Layout l;
  l.rows = t.getDimSize(0);
  l.cols = t.getRank() == 2 ? t.getDimSize(1) : 1;
  if (q) {
    l.bits = q.getBits();
    if (q.getScheme() == QuantScheme::int_group) {
      l.group = q.getGroupSize() ? q.getGroupSize() : l.cols;
      l.asymmetric = q.getZeroPoint() == ZeroPoint::asymmetric;
      l.scaleBytes = q.getScaleDtype() == DType::f32 ? 4 : 2;
    }
  }
  return l;
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  if (!compatible(dim(getTokens(), 0), dim(getResult(), 0)))
    return emitOpError() << "has " << dimStr(dim(getTokens(), 0))
                         << " tokens but " << dimStr(dim(getResult(), 0))
                         << " result rows";
  return success();
}

LogicalResult
EmbeddingOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight = lookupWeight(*this, getWeightAttr(), symbolTable);
  if (failed(weight))
    return failure();
  RankedTensorType wt = weight->getTensorType();
  if (wt.getRank() != 2)
    return emitOpError() << "embedding table must be [vocab, hidden], got "
                         << wt;
  if (dim(getResult(), 1) != wt.getDimSize(1))
    return emitOpError() << "result has " << dim(getResult(), 1)
                         << " features but the embedding table " << wt
                         << " has " << wt.getDimSize(1);
  return success();
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight = lookupWeight(*this, getWeightAttr(), symbolTable);
  if (failed(weight))
    return failure();
  RankedTensorType wt = weight->getTensorType();
  if (wt.getRank() != 1 || wt.getDimSize(0) != dim(getInput(), 1))
    return emitOpError() << "norm weight " << wt << " does not match "
                         << dim(getInput(), 1) << " input features";
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  if (failed(verifySameRows(*this, getInput(), getResult())))
    return failure();
  if (getInput().getType().getElementType() !=
      getResult().getType().getElementType())
    return emitOpError() << "input and result element types differ";
  return success();
}

LogicalResult LinearOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight = lookupWeight(*this, getWeightAttr(), symbolTable);
  if (failed(weight))
    return failure();
  RankedTensorType wt = weight->getTensorType();
  if (wt.getRank() != 2)
    return emitOpError() << "weight must be [out_features, in_features], got "
                         << wt;
  if (wt.getDimSize(1) != dim(getInput(), 1))
    return emitOpError() << "weight " << wt << " expects "
                         << wt.getDimSize(1) << " input features, got "
                         << dim(getInput(), 1);
  if (wt.getDimSize(0) != dim(getResult(), 1))
    return emitOpError() << "weight " << wt << " produces "
                         << wt.getDimSize(0) << " features, result has "
                         << dim(getResult(), 1);
  if (QuantAttr q = weight->getQuantAttr();
      q && q.getScheme() == QuantScheme::int_group)
    return emitOpError() << "weight @" << weight->getSymName()
                         << " is integer-quantized; use llm.quantized_linear";
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizedLinearOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizedLinearOp::verify() {
  if (failed(verifySameRows(*this, getInput(), getResult())))
    return failure();
  return success();
}

LogicalResult
QuantizedLinearOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight = lookupWeight(*this, getWeightAttr(), symbolTable);
  if (failed(weight))
    return failure();
  QuantAttr quant = weight->getQuantAttr();
  if (!quant || quant.getScheme() != QuantScheme::int_group)
    return emitOpError() << "weight @" << weight->getSymName()
                         << " is not integer-quantized; use llm.linear";
  RankedTensorType wt = weight->getTensorType();
  if (wt.getRank() != 2 || wt.getDimSize(1) != dim(getInput(), 1) ||
      wt.getDimSize(0) != dim(getResult(), 1))
    return emitOpError() << "weight " << wt << " does not map "
                         << dim(getInput(), 1) << " to " << dim(getResult(), 1)
                         << " features";
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  if (getHeadDim() % 2 != 0)
    return emitOpError() << "head_dim must be even, got " << getHeadDim();
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError() << "theta must be positive";
  return verifyHeads(*this, "input", dim(getInput(), 1), getNumHeads(),
                     getHeadDim());
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

static LogicalResult verifyKVRows(Operation *op, KVCacheType cache,
                                  uint64_t layer, Value keys, Value values) {
  if (layer >= static_cast<uint64_t>(cache.getNumLayers()))
    return op->emitOpError() << "layer " << layer << " is out of range: the "
                             << "cache has " << cache.getNumLayers()
                             << " layers";
  if (keys.getType() != values.getType())
    return op->emitOpError() << "keys " << keys.getType() << " and values "
                             << values.getType() << " differ";
  if (dim(keys, 1) != cache.getRowSize())
    return op->emitOpError()
           << "rows have " << dim(keys, 1) << " features, the cache holds "
           << cache.getNumKvHeads() << " kv heads x " << cache.getHeadDim()
           << " = " << cache.getRowSize();
  return success();
}

LogicalResult KVWriteOp::verify() {
  return verifyKVRows(*this, getCache().getType(), getLayer(), getKeys(),
                      getValues());
}

LogicalResult KVReadOp::verify() {
  return verifyKVRows(*this, getCache().getType(), getLayer(), getKeys(),
                      getValues());
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(), hd = getHeadDim();
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads (" << heads
                         << ") must be a multiple of num_kv_heads (" << kvHeads
                         << ")";
  if (failed(verifyHeads(*this, "query", dim(getQuery(), 1), heads, hd)) ||
      failed(verifyHeads(*this, "keys", dim(getKeys(), 1), kvHeads, hd)))
    return failure();
  if (getKeys().getType() != getValues().getType())
    return emitOpError() << "keys " << getKeys().getType() << " and values "
                         << getValues().getType() << " differ";
  if (getQuery().getType() != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " differs from the query type "
                         << getQuery().getType();
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError() << "scale must be positive";
  return success();
}

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

/// The weight of a fused op maps `in` features to `rows` rows; `gamma`, if
/// any, is a norm vector over the input features.
static LogicalResult verifyFusedWeight(Operation *op, FlatSymbolRefAttr ref,
                                       FlatSymbolRefAttr gamma, int64_t in,
                                       int64_t rows,
                                       SymbolTableCollection &symbolTable) {
  auto weight = lookupWeight(op, ref, symbolTable);
  if (failed(weight))
    return failure();
  RankedTensorType wt = weight->getTensorType();
  if (wt.getRank() != 2 || wt.getDimSize(1) != in || wt.getDimSize(0) != rows)
    return op->emitOpError() << "weight " << wt << " must be [" << rows << ", "
                             << in << "]";
  if (!gamma)
    return success();
  auto g = lookupWeight(op, gamma, symbolTable);
  if (failed(g))
    return failure();
  RankedTensorType gt = g->getTensorType();
  if (gt.getRank() != 1 || gt.getDimSize(0) != in)
    return op->emitOpError() << "gamma " << gt << " does not match " << in
                             << " input features";
  return success();
}

LogicalResult FusedLinearOp::verify() {
  if (failed(verifySameRows(*this, getInput(), getResult())))
    return failure();
  if (getGammaAttr() && !getNormEpsilon())
    return emitOpError() << "has a gamma but no norm";
  if (Value r = getResidual(); r && r.getType() != getResult().getType())
    return emitOpError() << "residual " << r.getType()
                         << " differs from the result " << getResult().getType();
  return success();
}

LogicalResult
FusedLinearOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  int64_t rows = dim(getResult(), 1) * (getSwiglu() ? 2 : 1);
  return verifyFusedWeight(*this, getWeightAttr(), getGammaAttr(),
                           dim(getInput(), 1), rows, symbolTable);
}

LogicalResult QKVRopeOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(), hd = getHeadDim();
  KVCacheType cache = getCache().getType();
  if (hd % 2 != 0)
    return emitOpError() << "head_dim must be even, got " << hd;
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads (" << heads
                         << ") must be a multiple of num_kv_heads (" << kvHeads
                         << ")";
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError() << "theta must be positive";
  if (getGammaAttr() && !getNormEpsilon())
    return emitOpError() << "has a gamma but no norm";
  if (getLayer() >= uint64_t(cache.getNumLayers()))
    return emitOpError() << "layer " << getLayer() << " is out of range: the "
                         << "cache has " << cache.getNumLayers() << " layers";
  if (cache.getNumKvHeads() != kvHeads || cache.getHeadDim() != hd)
    return emitOpError() << "the cache holds " << cache.getNumKvHeads()
                         << " kv heads x " << cache.getHeadDim() << ", not "
                         << kvHeads << " x " << hd;
  if (failed(verifySameRows(*this, getInput(), getResult())))
    return failure();
  return verifyHeads(*this, "result", dim(getResult(), 1), heads, hd);
}

LogicalResult QKVRopeOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  int64_t rows = (getNumHeads() + 2 * getNumKvHeads()) * getHeadDim();
  return verifyFusedWeight(*this, getWeightAttr(), getGammaAttr(),
                           dim(getInput(), 1), rows, symbolTable);
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

LogicalResult
DispatchOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto fn = symbolTable.lookupNearestSymbolFrom<func::FuncOp>(*this,
                                                              getKernelAttr());
  if (!fn)
    return emitOpError() << "kernel " << getKernelAttr()
                         << " is not a func.func";
  FunctionType type = fn.getFunctionType();
  size_t nb = getBindings().size(), ns = getScalars().size();
  if (type.getNumResults() != 0 || type.getNumInputs() != nb + ns + 2)
    return emitOpError() << "kernel " << getKernelAttr() << " has type " << type
                         << "; expected " << nb << " memrefs (bindings), " << ns
                         << " + 2 indices (scalars, begin, end) and no results";
  for (auto [i, attr] : llvm::enumerate(getBindings())) {
    auto binding = cast<BindingAttr>(attr);
    auto mem = dyn_cast<MemRefType>(type.getInput(i));
    if (!mem || !mem.hasStaticShape() || !mem.getLayout().isIdentity())
      return emitOpError() << "kernel argument #" << i << " of type "
                           << type.getInput(i)
                           << " is not a static memref with identity layout";
    if (binding.getOffset() < 0 || binding.getSize() < 0)
      return emitOpError() << "binding #" << i << " has a negative range";
    int64_t bytes = mem.getNumElements() *
                    ((mem.getElementTypeBitWidth() + 7) / 8);
    if (binding.getSize() < bytes)
      return emitOpError() << "binding #" << i << " holds "
                           << binding.getSize() << " bytes but kernel argument "
                           << type.getInput(i) << " needs " << bytes;
  }
  for (size_t i = nb; i < nb + ns + 2; ++i)
    if (!type.getInput(i).isIndex())
      return emitOpError() << "kernel argument #" << i << " must be index, got "
                           << type.getInput(i);
  return success();
}

//===----------------------------------------------------------------------===//
// LaneSumOp
//===----------------------------------------------------------------------===//

LogicalResult LaneSumOp::verify() {
  auto fn = (*this)->getParentOfType<func::FuncOp>();
  auto lanes = fn ? fn->getAttrOfType<IntegerAttr>("llm.lanes") : IntegerAttr();
  if (!lanes || lanes.getInt() < 1)
    return emitOpError("needs a kernel distributed across lanes (a func.func with "
                       "`llm.lanes`)");
  return success();
}
