//===- LowerToKernels.cpp - llm model -> kernels + host schedule ----------===//
//
// The tensor level says *what* the model computes; this pass decides *where*
// every value lives and *which code* computes it, once, at compile time:
//
//  * Shapes become static: every activation is a [prefill_chunk, features]
//    f32 buffer and the kernels take the live row count `n` as an argument.
//  * A linear scan over the schedule assigns each activation an arena slot
//    and frees it after its last use, so the runtime makes one allocation
//    whose size is known here.
//  * Each llm op becomes a call to a kernel function specialised for its
//    shapes; identical kernels (all layers' q_proj, say) are shared.
//
// Kernels are deliberately plain loops with 8-wide vector FMAs in the
// reductions: correct first, fast enough to run a 1B model; the fusion and
// tiling passes will replace them.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"
#include "dialects/llm/QuantLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

namespace llmc {
#define GEN_PASS_DEF_LLMLOWERTOKERNELS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;
namespace quant = llmc::quant;

namespace {

//===----------------------------------------------------------------------===//
// Loop-building helpers
//===----------------------------------------------------------------------===//

struct KB {
  OpBuilder &b;
  Location loc;
  /// The target's loop strategy (targets/Target.h, KernelStrategy): f32
  /// lanes per vector op and independent accumulators in dot products.
  int64_t vec = 8;
  int64_t accs = 4;

  Value idx(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32(double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
  }
  void loop(Value lb, Value ub, int64_t step,
            function_ref<void(Value)> body) {
    b.create<scf::ForOp>(loc, lb, ub, idx(step), ValueRange{},
                         [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(nb.getInsertionBlock(),
                                               nb.getInsertionPoint());
                           body(iv);
                           b.create<scf::YieldOp>(loc);
                         });
  }
  /// A loop carrying one value; returns the final value.
  Value reduce(Value lb, Value ub, int64_t step, Value init,
               function_ref<Value(Value, Value)> body) {
    auto forOp = b.create<scf::ForOp>(
        loc, lb, ub, idx(step), ValueRange{init},
        [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value next = body(iv, args[0]);
          b.create<scf::YieldOp>(loc, next);
        });
    return forOp.getResult(0);
  }
  Value load(Value mem, ValueRange ivs) {
    return b.create<memref::LoadOp>(loc, mem, ivs);
  }
  void store(Value v, Value mem, ValueRange ivs) {
    b.create<memref::StoreOp>(loc, v, mem, ivs);
  }
  Value add(Value a, Value c) { return b.create<arith::AddFOp>(loc, a, c); }
  Value sub(Value a, Value c) { return b.create<arith::SubFOp>(loc, a, c); }
  Value mul(Value a, Value c) { return b.create<arith::MulFOp>(loc, a, c); }
  Value div(Value a, Value c) { return b.create<arith::DivFOp>(loc, a, c); }
  Value iadd(Value a, Value c) { return b.create<arith::AddIOp>(loc, a, c); }
  Value imul(Value a, Value c) { return b.create<arith::MulIOp>(loc, a, c); }
  Value exp(Value a) { return b.create<math::ExpOp>(loc, a); }
  Value max(Value a, Value c) { return b.create<arith::MaximumFOp>(loc, a, c); }
  /// An element widened to f32 (weights may be stored as f16).
  Value loadF32(Value mem, ValueRange ivs) {
    Value v = load(mem, ivs);
    return v.getType().isF32() ? v : b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
  }
  /// `vec` consecutive elements widened to f32.
  Value loadVec(Value mem, ValueRange ivs) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    Value v = b.create<vector::LoadOp>(loc, VectorType::get({vec}, elt), mem, ivs);
    if (elt.isF32())
      return v;
    return b.create<arith::ExtFOp>(loc, VectorType::get({vec}, b.getF32Type()), v);
  }
  /// sum_k a[ka + k] * c[kc + k] for k < len, vectorised when len allows.
  Value dot(Value a, ValueRange aIdx, Value c, ValueRange cIdx, int64_t len);
};

Value KB::dot(Value a, ValueRange aIdx, Value c, ValueRange cIdx,
              int64_t len) {
  // Indices: the last index of each is the start along the contiguous dim.
  auto at = [&](ValueRange base, Value k) {
    SmallVector<Value> ivs(base.begin(), base.end());
    ivs.back() = iadd(ivs.back(), k);
    return ivs;
  };
  Type f32Ty = b.getF32Type();
  Value sum = f32(0.0);
  int64_t vecLen = len / vec * vec;
  if (vecLen) {
    auto vt = VectorType::get({vec}, f32Ty);
    // Independent accumulators hide the FMA latency when len allows.
    int64_t unroll = (vecLen % (accs * vec) == 0) ? accs : 1;
    SmallVector<Value> inits(unroll, b.create<arith::ConstantOp>(
                                         loc, vt, DenseElementsAttr::get(
                                                      vt, b.getF32FloatAttr(0))));
    auto forOp = b.create<scf::ForOp>(
        loc, idx(0), idx(vecLen), idx(unroll * vec), inits,
        [&](OpBuilder &nb, Location, Value k, ValueRange accs) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> next;
          for (int64_t u = 0; u < unroll; ++u) {
            Value ku = iadd(k, idx(u * vec));
            Value va = loadVec(a, at(aIdx, ku));
            Value vc = loadVec(c, at(cIdx, ku));
            next.push_back(b.create<vector::FMAOp>(loc, va, vc, accs[u]));
          }
          b.create<scf::YieldOp>(loc, next);
        });
    Value acc = forOp.getResult(0);
    for (int64_t u = 1; u < unroll; ++u)
      acc = b.create<arith::AddFOp>(loc, acc, forOp.getResult(u));
    sum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, acc);
  }
  if (vecLen < len)
    sum = reduce(idx(vecLen), idx(len), 1, sum, [&](Value k, Value s) {
      return add(s, mul(loadF32(a, at(aIdx, k)), loadF32(c, at(cIdx, k))));
    });
  return sum;
}
//===----------------------------------------------------------------------===//
// The lowering
//===----------------------------------------------------------------------===//

/// An index of @forward as the dispatch level sees it: affine in the values
/// that change per call (#llm.scalar).
struct Affine {
  int64_t c = 0, n = 0, pos = 0, rows = 0;
  ScalarAttr attr(MLIRContext *ctx) const {
    return ScalarAttr::get(ctx, c, n, pos, rows);
  }
  bool isZero() const { return !c && !n && !pos && !rows; }
  Affine operator*(int64_t f) const { return {c * f, n * f, pos * f, rows * f}; }
};

/// A kernel's buffer argument: the bytes it binds, how the kernel sees
/// them, and the bytes one call reads and writes (for `llmc inspect`).
struct Buffer {
  BufferSpace space;
  int64_t offset = 0, size = 0;
  MemRefType type;
  Affine read, write;
  Buffer reads(Affine bytes) const {
    Buffer b = *this;
    b.read = bytes;
    return b;
  }
  Buffer writes(Affine bytes) const {
    Buffer b = *this;
    b.write = bytes;
    return b;
  }
  /// Every byte of the binding once.
  Buffer readsAll() const { return reads(Affine{size, 0, 0, 0}); }
};

class Lowering {
public:
  Lowering(ModuleOp module, int64_t vec, int64_t accs)
      : module(module), vec(vec), accs(accs) {}
  LogicalResult run();

private:
  struct WeightInfo {
    WeightOp op;
    int64_t offset = 0;
    int64_t size = 0;
    quant::Layout layout;
  };
  /// Views of an integer-quantized weight's parts.
  struct QuantViews {
    Buffer qs, scales;
    std::optional<Buffer> mins;
  };
  QuantViews quantViews(FlatSymbolRefAttr sym);
  Value dequantDot(KB &k, const quant::Layout &l, Value x, Value t, Value qs,
                   Value scales, Value mins, Value j);

  LogicalResult readPlan(func::FuncOp forward);
  LogicalResult emitOp(Operation *op);

  // Bindings of the runtime's buffers.
  Buffer buffer(BufferSpace space, int64_t offset, MemRefType type);
  Buffer activation(Value v);
  Buffer weightView(FlatSymbolRefAttr sym);
  Buffer scratchView(int64_t offset, ArrayRef<int64_t> shape);
  Buffer kvLayer(int64_t layer);
  Buffer logits();
  Buffer tokens();

  /// The (possibly shared) kernel for `key`. Its arguments are `buffers`'
  /// memref types, one index per scalar, then begin and end of the parallel
  /// dimension; `body` gets all of them.
  func::FuncOp kernel(StringRef kind, StringRef key, ArrayRef<Buffer> buffers,
                      unsigned numScalars,
                      function_ref<void(KB &, ValueRange)> body);
  void dispatch(func::FuncOp fn, StringRef label, Affine grid,
                ArrayRef<Buffer> buffers, ArrayRef<Affine> scalars);
  FailureOr<Affine> scalar(Value v);

  MemRefType actType(int64_t features) {
    return MemRefType::get({chunk, features}, Float32Type::get(ctx()));
  }
  MLIRContext *ctx() { return module.getContext(); }

  ModuleOp module;
  int64_t chunk = 0; // from llm.plan
  int64_t vec, accs; // the target's loop strategy
  ModelConfigAttr config;
  KVCacheType cacheType;

  llvm::MapVector<StringRef, WeightInfo> weights;
  DenseMap<Value, std::pair<int64_t, int64_t>> slots; // value -> (off, feats)
  DenseMap<Operation *, int64_t> scratch;             // op -> arena offset
  int64_t arenaSize = 0;
  int64_t kvBytes = 0;

  // Emission state.
  Location loc = UnknownLoc::get(module.getContext());
  OpBuilder *builder = nullptr; // inserts into the llm.schedule
  OpBuilder::InsertPoint kernelsAt;
  DenseMap<Value, Affine> indices;
  llvm::StringMap<func::FuncOp> kernels;
  llvm::StringMap<unsigned> kindCounts;
  llvm::StringMap<memref::GlobalOp> tables;
  Operation *lmHead = nullptr;
};

LogicalResult Lowering::readPlan(func::FuncOp forward) {
  auto plan = module->getAttrOfType<PlanAttr>("llm.plan");
  if (!plan)
    return module.emitError() << "no llm.plan: run --llm-plan-weights and "
                                 "--llm-plan-memory first";
  chunk = plan.getPrefillChunk();
  arenaSize = plan.getArenaSize();
  kvBytes = plan.getKvCacheSize();
  for (auto w : module.getOps<WeightOp>()) {
    std::optional<int64_t> at = w.getSegmentOffset();
    if (!at)
      return w.emitOpError() << "is not placed (run --llm-plan-weights first)";
    quant::Layout l = w.getLayout();
    if (l.bits == 8 && l.group % vec)
      return w.emitOpError() << "int8 groups of " << l.group
                             << " do not fill vectors of " << vec;
    weights[w.getSymName()] = {w, *at, l.totalBytes(), l};
  }
  for (Operation &op : forward.getBody().front()) {
    if (auto slot = op.getAttrOfType<IntegerAttr>("llm.slot"))
      slots[op.getResult(0)] = {
          slot.getInt(),
          cast<RankedTensorType>(op.getResult(0).getType()).getDimSize(1)};
    if (auto off = op.getAttrOfType<IntegerAttr>("llm.scratch"))
      scratch[&op] = off.getInt();
    else if (isa<AttentionOp>(op))
      return op.emitOpError() << "has no llm.scratch (run --llm-plan-memory)";
  }
  return success();
}

Buffer Lowering::buffer(BufferSpace space, int64_t offset, MemRefType type) {
  int64_t bytes =
      type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
  return {space, offset, bytes, type, {}, {}};
}

Buffer Lowering::activation(Value v) {
  auto [off, feats] = slots.lookup(v);
  return buffer(BufferSpace::arena, off, actType(feats));
}

Buffer Lowering::scratchView(int64_t offset, ArrayRef<int64_t> shape) {
  return buffer(BufferSpace::arena, offset,
                MemRefType::get(shape, Float32Type::get(ctx())));
}

Buffer Lowering::kvLayer(int64_t layer) {
  auto type = MemRefType::get(
      {2, cacheType.getMaxContext(), cacheType.getRowSize()},
      Float32Type::get(ctx()));
  return buffer(BufferSpace::kv_cache, layer * type.getNumElements() * 4, type);
}

Buffer Lowering::logits() {
  return buffer(BufferSpace::logits, 0,
                MemRefType::get({chunk, config.getVocabSize()},
                                Float32Type::get(ctx())));
}

Buffer Lowering::tokens() {
  return buffer(BufferSpace::tokens, 0,
                MemRefType::get({chunk}, IntegerType::get(ctx(), 32)));
}

Buffer Lowering::weightView(FlatSymbolRefAttr sym) {
  WeightInfo &w = weights[sym.getValue()];
  auto shape = w.op.getTensorType().getShape();
  Type elt = w.layout.bits == 16 ? Type(Float16Type::get(ctx()))
                                 : Type(Float32Type::get(ctx()));
  return buffer(BufferSpace::weights, w.offset, MemRefType::get(shape, elt));
}

Lowering::QuantViews Lowering::quantViews(FlatSymbolRefAttr sym) {
  WeightInfo &w = weights[sym.getValue()];
  const quant::Layout &l = w.layout;
  Type i8 = IntegerType::get(ctx(), 8);
  Type scaleTy = l.scaleBytes == 4 ? Type(Float32Type::get(ctx()))
                                   : Type(Float16Type::get(ctx()));
  QuantViews v;
  v.qs = buffer(BufferSpace::weights, w.offset,
                MemRefType::get({l.rows, l.bits == 8 ? l.cols : l.cols / 2}, i8));
  auto scalesTy = MemRefType::get({l.rows, l.groups()}, scaleTy);
  v.scales = buffer(BufferSpace::weights, w.offset + l.scalesOffset(), scalesTy);
  if (l.asymmetric)
    v.mins = buffer(BufferSpace::weights, w.offset + l.minsOffset(), scalesTy);
  return v;
}

FailureOr<Affine> Lowering::scalar(Value v) {
  auto it = indices.find(v);
  if (it == indices.end())
    return failure();
  return it->second;
}
/// sum_k x[t, k] * dequant(W[j, k]) for an integer weight, group by group:
/// the group's integer products accumulate in 8-lane vectors, then one FMA
/// with the group's scale (and, asymmetric, the group's min times sum(x)).
Value Lowering::dequantDot(KB &k, const quant::Layout &l, Value x, Value t,
                           Value qs, Value scales, Value mins, Value j) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Type f32 = b.getF32Type();
  const int64_t vec = k.vec;
  auto vf = VectorType::get({vec}, f32);
  auto vi8 = VectorType::get({vec}, b.getI8Type());
  auto zero = [&] {
    return b.create<arith::ConstantOp>(loc, vf,
                                       DenseElementsAttr::get(vf, b.getF32FloatAttr(0)));
  };
  auto splatI8 = [&](int v) {
    return b.create<arith::ConstantOp>(
        loc, vi8, DenseElementsAttr::get(vi8, b.getI8IntegerAttr(v)));
  };
  auto toF32 = [&](Value ints, bool isSigned) -> Value {
    if (isSigned)
      return b.create<arith::SIToFPOp>(loc, vf, ints);
    return b.create<arith::UIToFPOp>(loc, vf, ints);
  };
  auto scalarF32 = [&](Value mem, ValueRange ivs) { return k.loadF32(mem, ivs); };
  Value offset8 = l.bits == 4 && !l.asymmetric
                      ? Value(b.create<arith::ConstantOp>(
                            loc, vf, DenseElementsAttr::get(vf, b.getF32FloatAttr(8))))
                      : Value();
  SmallVector<Value> init{zero(), zero()};
  auto groupLoop = b.create<scf::ForOp>(
      loc, k.idx(0), k.idx(l.groups()), k.idx(1), init,
      [&](OpBuilder &nb, Location, Value g, ValueRange accs) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value k0 = k.imul(g, k.idx(l.group));
        // Inner products of this group: (sum q*x, sum x).
        int64_t step = l.bits == 8 ? vec : quant::kInt4Block;
        SmallVector<Value> ginit{zero(), zero()};
        auto inner = b.create<scf::ForOp>(
            loc, k.idx(0), k.idx(l.group), k.idx(step), ginit,
            [&](OpBuilder &ib, Location, Value kk, ValueRange gaccs) {
              OpBuilder::InsertionGuard guard2(b);
              b.setInsertionPoint(ib.getInsertionBlock(), ib.getInsertionPoint());
              Value kabs = k.iadd(k0, kk);
              Value qx = gaccs[0], sx = gaccs[1];
              if (l.bits == 8) {
                Value q = b.create<vector::LoadOp>(loc, vi8, qs, ValueRange{j, kabs});
                Value xv = k.loadVec(x, {t, kabs});
                qx = b.create<vector::FMAOp>(loc, toF32(q, !l.asymmetric), xv, qx);
                if (l.asymmetric)
                  sx = k.add(sx, xv);
              } else {
                // One 32-element block = 16 bytes; each `vec` bytes of it
                // feed elements [h*vec, h*vec+vec) (low nibbles) and
                // [16+h*vec, ...) (high).
                Value byte0 = b.create<arith::DivUIOp>(loc, kabs, k.idx(2));
                for (int64_t h = 0; h < quant::kInt4Half / vec; ++h) {
                  Value off = k.iadd(byte0, k.idx(h * vec));
                  Value raw = b.create<vector::LoadOp>(loc, vi8, qs, ValueRange{j, off});
                  Value lo = b.create<arith::AndIOp>(loc, raw, splatI8(15));
                  Value hi = b.create<arith::ShRUIOp>(loc, raw, splatI8(4));
                  Value lof = toF32(lo, false), hif = toF32(hi, false);
                  if (offset8) {
                    lof = b.create<arith::SubFOp>(loc, lof, offset8);
                    hif = b.create<arith::SubFOp>(loc, hif, offset8);
                  }
                  Value xlo = k.loadVec(x, {t, k.iadd(kabs, k.idx(h * vec))});
                  Value xhi = k.loadVec(
                      x, {t, k.iadd(kabs, k.idx(quant::kInt4Half + h * vec))});
                  qx = b.create<vector::FMAOp>(loc, lof, xlo, qx);
                  qx = b.create<vector::FMAOp>(loc, hif, xhi, qx);
                  if (l.asymmetric)
                    sx = k.add(k.add(sx, xlo), xhi);
                }
              }
              b.create<scf::YieldOp>(loc, ValueRange{qx, sx});
            });
        Value d = b.create<vector::SplatOp>(loc, vf, scalarF32(scales, {j, g}));
        Value acc = b.create<vector::FMAOp>(loc, inner.getResult(0), d, accs[0]);
        Value accMin = accs[1];
        if (l.asymmetric) {
          Value m = b.create<vector::SplatOp>(loc, vf, scalarF32(mins, {j, g}));
          accMin = b.create<vector::FMAOp>(loc, inner.getResult(1), m, accMin);
        }
        b.create<scf::YieldOp>(loc, ValueRange{acc, accMin});
      });
  Value total = groupLoop.getResult(0);
  if (l.asymmetric)
    total = k.add(total, groupLoop.getResult(1));
  return b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, total);
}

func::FuncOp Lowering::kernel(StringRef kind, StringRef key,
                              ArrayRef<Buffer> buffers, unsigned numScalars,
                              function_ref<void(KB &, ValueRange)> body) {
  std::string fullKey = (kind + "|" + key).str();
  auto it = kernels.find(fullKey);
  if (it != kernels.end())
    return it->second;
  OpBuilder b(ctx());
  b.restoreInsertionPoint(kernelsAt);
  SmallVector<Type> args;
  for (const Buffer &buf : buffers)
    args.push_back(buf.type);
  args.append(numScalars + 2, b.getIndexType());
  std::string name = ("k_" + kind + "_" + Twine(kindCounts[kind]++)).str();
  auto fn = b.create<func::FuncOp>(loc, name, b.getFunctionType(args, {}));
  fn.setPrivate();
  Block *block = fn.addEntryBlock();
  b.setInsertionPointToStart(block);
  KB k{b, loc, vec, accs};
  body(k, block->getArguments());
  b.create<func::ReturnOp>(loc);
  kernels[fullKey] = fn;
  return fn;
}

void Lowering::dispatch(func::FuncOp fn, StringRef label, Affine grid,
                        ArrayRef<Buffer> buffers, ArrayRef<Affine> scalars) {
  SmallVector<Attribute> bindings, values;
  auto bytes = [&](const Affine &a) {
    return a.isZero() ? ScalarAttr() : a.attr(ctx());
  };
  for (const Buffer &buf : buffers)
    bindings.push_back(BindingAttr::get(ctx(), buf.space, buf.offset, buf.size,
                                        bytes(buf.read), bytes(buf.write)));
  for (const Affine &s : scalars)
    values.push_back(s.attr(ctx()));
  builder->create<DispatchOp>(loc, fn.getSymName(), label, grid.attr(ctx()),
                              builder->getArrayAttr(bindings),
                              builder->getArrayAttr(values));
}

LogicalResult Lowering::emitOp(Operation *op) {
  Type f32 = builder->getF32Type();
  const Affine nTokens{0, 1, 0, 0};
  auto constant = [](int64_t c) { return Affine{c, 0, 0, 0}; };
  auto operandIndex = [&](Value v) -> FailureOr<Affine> {
    FailureOr<Affine> a = scalar(v);
    if (failed(a))
      op->emitOpError() << "uses an index the dispatch level cannot express";
    return a;
  };

  // Index arithmetic of @forward folds into #llm.scalar values.
  if (auto c = dyn_cast<arith::ConstantIndexOp>(op)) {
    indices[c] = constant(c.value());
    return success();
  }
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op)) {
    FailureOr<Affine> l = operandIndex(op->getOperand(0));
    FailureOr<Affine> r = operandIndex(op->getOperand(1));
    if (failed(l) || failed(r))
      return failure();
    Affine a;
    if (isa<arith::AddIOp>(op)) {
      a = {l->c + r->c, l->n + r->n, l->pos + r->pos, l->rows + r->rows};
    } else if (isa<arith::SubIOp>(op)) {
      a = {l->c - r->c, l->n - r->n, l->pos - r->pos, l->rows - r->rows};
    } else {
      auto isConst = [](const Affine &x) { return !x.n && !x.pos && !x.rows; };
      if (!isConst(*l) && !isConst(*r))
        return op->emitOpError() << "multiplies two per-call indices";
      const Affine &s = isConst(*l) ? *r : *l;
      int64_t f = isConst(*l) ? l->c : r->c;
      a = {s.c * f, s.n * f, s.pos * f, s.rows * f};
    }
    indices[op->getResult(0)] = a;
    return success();
  }
  if (isa<arith::ArithDialect>(op->getDialect()))
    return op->emitOpError() << "non-index scalar arithmetic in @forward";
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    auto arg = dyn_cast<BlockArgument>(dim.getSource());
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!arg || arg.getArgNumber() != 0 || !index || *index != 0)
      return op->emitOpError() << "only the token count can be queried";
    indices[dim.getResult()] = nTokens;
    return success();
  }

  // Traffic of a [chunk, d] f32 activation per call: n rows.
  auto rowsBytes = [&](Affine rows, int64_t d) { return rows * (d * 4); };
  auto perRow = [&](const Buffer &b) { // bytes of one row of a 2-D binding
    return b.size / b.type.getDimSize(0);
  };

  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    const quant::Layout &l = weights[e.getWeight()].layout;
    int64_t d = l.cols, vocab = l.rows;
    // The lookup reads one table row per token.
    Buffer out = activation(e.getResult()).writes(rowsBytes(nTokens, d));
    Buffer toks = tokens().reads(nTokens * 4);
    if (l.isInteger()) {
      QuantViews v = quantViews(e.getWeightAttr());
      SmallVector<Buffer> bufs{toks, v.qs.reads(nTokens * perRow(v.qs)),
                               v.scales.reads(nTokens * perRow(v.scales)), out};
      if (v.mins)
        bufs.push_back(v.mins->reads(nTokens * perRow(*v.mins)));
      std::string key = std::to_string(vocab) + "x" + std::to_string(d) + "/q" +
                        std::to_string(l.bits) + "g" + std::to_string(l.group) +
                        (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes);
      auto fn = kernel("embedding", key, bufs, 0, [&](KB &k, ValueRange a) {
        OpBuilder &b = k.b;
        Type f32 = b.getF32Type();
        Value mins = l.asymmetric ? a[4] : Value();
        k.loop(a[a.size() - 2], a[a.size() - 1], 1, [&](Value t) {
          Value row = b.create<arith::IndexCastOp>(k.loc, b.getIndexType(),
                                                   k.load(a[0], {t}));
          k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
            Value g = b.create<arith::DivUIOp>(k.loc, i, k.idx(l.group));
            Value q;
            if (l.bits == 8) {
              Value raw = k.load(a[1], {row, i});
              q = l.asymmetric ? Value(b.create<arith::UIToFPOp>(k.loc, f32, raw))
                               : Value(b.create<arith::SIToFPOp>(k.loc, f32, raw));
            } else {
              // quant::int4Byte / int4IsHigh, in IR.
              Value blk = b.create<arith::DivUIOp>(k.loc, i, k.idx(quant::kInt4Block));
              Value w = b.create<arith::RemUIOp>(k.loc, i, k.idx(quant::kInt4Block));
              Value inLow = b.create<arith::CmpIOp>(k.loc, arith::CmpIPredicate::ult,
                                                    w, k.idx(quant::kInt4Half));
              Value byteIdx = k.iadd(
                  k.imul(blk, k.idx(quant::kInt4Half)),
                  b.create<arith::RemUIOp>(k.loc, w, k.idx(quant::kInt4Half)));
              Value raw = k.load(a[1], {row, byteIdx});
              Value lo = b.create<arith::AndIOp>(
                  k.loc, raw, b.create<arith::ConstantIntOp>(k.loc, 15, 8));
              Value hi = b.create<arith::ShRUIOp>(
                  k.loc, raw, b.create<arith::ConstantIntOp>(k.loc, 4, 8));
              Value nib = b.create<arith::SelectOp>(k.loc, inLow, lo, hi);
              q = b.create<arith::UIToFPOp>(k.loc, f32, nib);
              if (!l.asymmetric)
                q = k.sub(q, k.f32(8.0));
            }
            Value x = k.mul(q, k.loadF32(a[2], {row, g}));
            if (l.asymmetric)
              x = k.add(x, k.loadF32(mins, {row, g}));
            k.store(x, a[3], {t, i});
          });
        });
      });
      dispatch(fn, "embedding", nTokens, bufs, {});
      return success();
    }
    Buffer table = weightView(e.getWeightAttr());
    SmallVector<Buffer> bufs{toks, table.reads(nTokens * perRow(table)), out};
    auto fn = kernel("embedding",
                     std::to_string(vocab) + "x" + std::to_string(d) + "/" +
                         std::to_string(l.bits),
                     bufs, 0, [&](KB &k, ValueRange a) {
                       k.loop(a[3], a[4], 1, [&](Value t) {
                         Value id = k.load(a[0], {t});
                         Value row = k.b.create<arith::IndexCastOp>(
                             k.loc, k.b.getIndexType(), id);
                         k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
                           k.store(k.loadF32(a[1], {row, i}), a[2], {t, i});
                         });
                       });
                     });
    dispatch(fn, "embedding", nTokens, bufs, {});
    return success();
  }

  // The lm_head projects `logit_rows` rows (all of them, or only the last,
  // which a select_last_row dispatch moved to row 0); other linears `n`.
  auto rowsOf = [&](Operation *o) {
    return o == lmHead ? Affine{0, 0, 0, 1} : nTokens;
  };

  if (auto ql = dyn_cast<QuantizedLinearOp>(op)) {
    const quant::Layout &l = weights[ql.getWeight()].layout;
    int64_t nOut = l.rows, kIn = l.cols;
    QuantViews v = quantViews(ql.getWeightAttr());
    Affine rows = rowsOf(op);
    Buffer out = (op == lmHead ? logits() : activation(ql.getResult()))
                     .writes(rowsBytes(rows, nOut));
    SmallVector<Buffer> bufs{
        activation(ql.getInput()).reads(rowsBytes(rows, kIn)), v.qs.readsAll(),
        v.scales.readsAll(), out};
    if (v.mins)
      bufs.push_back(v.mins->readsAll());
    std::string key = std::to_string(kIn) + "x" + std::to_string(nOut) + "/q" +
                      std::to_string(l.bits) + "g" + std::to_string(l.group) +
                      (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes);
    auto fn = kernel("qlinear", key, bufs, 1, [&](KB &k, ValueRange a) {
      Value mins = l.asymmetric ? a[4] : Value();
      unsigned s = bufs.size();
      // Output features are the parallel dimension; rows inner, so a weight
      // row is read once per chunk.
      k.loop(a[s + 1], a[s + 2], 1, [&](Value j) {
        k.loop(k.idx(0), a[s], 1, [&](Value t) {
          Value sum = dequantDot(k, l, a[0], t, a[1], a[2], mins, j);
          k.store(sum, a[3], {t, j});
        });
      });
    });
    dispatch(fn, op == lmHead ? "lm_head" : "qlinear", constant(nOut), bufs,
             {rowsOf(op)});
    return success();
  }

  if (auto n = dyn_cast<RMSNormOp>(op)) {
    int64_t d = n.getType().getDimSize(1);
    double eps = n.getEpsilon().convertToDouble();
    SmallVector<Buffer> bufs{
        activation(n.getInput()).reads(rowsBytes(nTokens, d)),
        weightView(n.getWeightAttr()).readsAll(),
        activation(n.getResult()).writes(rowsBytes(nTokens, d))};
    auto fn = kernel(
        "rms_norm", std::to_string(d) + "/" + std::to_string(eps), bufs, 0,
        [&](KB &k, ValueRange a) {
          k.loop(a[3], a[4], 1, [&](Value t) {
            Value ss = k.dot(a[0], {t, k.idx(0)}, a[0], {t, k.idx(0)}, d);
            Value mean = k.div(ss, k.f32(double(d)));
            Value inv = k.b.create<math::RsqrtOp>(k.loc, k.add(mean, k.f32(eps)));
            k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
              Value x = k.mul(k.load(a[0], {t, i}), inv);
              k.store(k.mul(k.loadF32(a[1], {i}), x), a[2], {t, i});
            });
          });
        });
    dispatch(fn, "rms_norm", nTokens, bufs, {});
    return success();
  }

  if (auto l = dyn_cast<LinearOp>(op)) {
    Buffer w = weightView(l.getWeightAttr()).readsAll();
    int64_t nOut = w.type.getDimSize(0), kIn = w.type.getDimSize(1);
    Affine rows = rowsOf(op);
    Buffer out = (op == lmHead ? logits() : activation(l.getResult()))
                     .writes(rowsBytes(rows, nOut));
    SmallVector<Buffer> bufs{activation(l.getInput()).reads(rowsBytes(rows, kIn)),
                             w, out};
    auto fn = kernel(
        "linear",
        std::to_string(kIn) + "x" + std::to_string(nOut) +
            (w.type.getElementType().isF16() ? "/f16" : ""),
        bufs, 1, [&](KB &k, ValueRange a) {
          // Output features are the parallel dimension; rows inner, so a
          // weight row is read from memory once and reused from cache by
          // every row of the chunk.
          k.loop(a[4], a[5], 1, [&](Value j) {
            k.loop(k.idx(0), a[3], 1, [&](Value t) {
              Value s = k.dot(a[0], {t, k.idx(0)}, a[1], {j, k.idx(0)}, kIn);
              k.store(s, a[2], {t, j});
            });
          });
        });
    dispatch(fn, op == lmHead ? "lm_head" : "linear", constant(nOut), bufs,
             {rowsOf(op)});
    return success();
  }

  if (auto r = dyn_cast<RopeOp>(op)) {
    int64_t heads = r.getNumHeads(), hd = r.getHeadDim(), half = hd / 2;
    RopeFrequencies rope =
        computeRope(hd, r.getTheta().convertToDouble(), r.getScalingAttr());
    ArrayRef<float> inv = rope.invFreq;
    std::string tableKey;
    for (float f : inv)
      tableKey += std::to_string(f) + ",";
    memref::GlobalOp &table = tables[tableKey];
    auto tableTy = MemRefType::get({half}, f32);
    if (!table) {
      OpBuilder gb(ctx());
      gb.restoreInsertionPoint(kernelsAt);
      auto tensorTy = RankedTensorType::get({half}, f32);
      table = gb.create<memref::GlobalOp>(
          loc, ("rope_inv_freq_" + Twine(tables.size() - 1)).str(),
          gb.getStringAttr("private"), tableTy,
          DenseElementsAttr::get(tensorTy, ArrayRef<float>(inv)),
          /*constant=*/true, IntegerAttr());
    }
    std::string tableName = table.getSymName().str();
    FailureOr<Affine> start = operandIndex(r.getStartPos());
    if (failed(start))
      return failure();
    int64_t feats = r.getType().getDimSize(1);
    SmallVector<Buffer> bufs{
        activation(r.getInput()).reads(rowsBytes(nTokens, feats)),
        activation(r.getResult()).writes(rowsBytes(nTokens, feats))};
    auto fn = kernel(
        "rope",
        std::to_string(heads) + "x" + std::to_string(hd) + "/" + tableName +
            "*" + std::to_string(rope.attentionFactor),
        bufs, 1, [&](KB &k, ValueRange a) {
          Value freqs = k.b.create<memref::GetGlobalOp>(k.loc, tableTy, tableName);
          k.loop(a[3], a[4], 1, [&](Value t) {
            // Hugging Face multiplies in f32: angle = f32(pos) * inv_freq.
            Value pos = k.iadd(a[2], t);
            Value posI = k.b.create<arith::IndexCastOp>(k.loc, k.b.getI64Type(), pos);
            Value posF = k.b.create<arith::SIToFPOp>(k.loc, k.b.getF32Type(), posI);
            k.loop(k.idx(0), k.idx(half), 1, [&](Value i) {
              Value angle = k.mul(posF, k.load(freqs, {i}));
              Value c = k.b.create<math::CosOp>(k.loc, angle);
              Value s = k.b.create<math::SinOp>(k.loc, angle);
              if (rope.attentionFactor != 1.0f) { // YaRN
                Value m = k.f32(rope.attentionFactor);
                c = k.mul(c, m);
                s = k.mul(s, m);
              }
              k.loop(k.idx(0), k.idx(heads), 1, [&](Value h) {
                Value base = k.imul(h, k.idx(hd));
                Value i0 = k.iadd(base, i);
                Value i1 = k.iadd(i0, k.idx(half));
                Value x0 = k.load(a[0], {t, i0});
                Value x1 = k.load(a[0], {t, i1});
                k.store(k.sub(k.mul(x0, c), k.mul(x1, s)), a[1], {t, i0});
                k.store(k.add(k.mul(x1, c), k.mul(x0, s)), a[1], {t, i1});
              });
            });
          });
        });
    dispatch(fn, "rope", nTokens, bufs, {*start});
    return success();
  }

  if (auto w = dyn_cast<KVWriteOp>(op)) {
    int64_t row = cacheType.getRowSize();
    FailureOr<Affine> start = operandIndex(w.getStartPos());
    if (failed(start))
      return failure();
    SmallVector<Buffer> bufs{
        activation(w.getKeys()).reads(rowsBytes(nTokens, row)),
        activation(w.getValues()).reads(rowsBytes(nTokens, row)),
        kvLayer(w.getLayer()).writes(rowsBytes(nTokens, 2 * row))};
    auto fn = kernel("kv_write", std::to_string(row), bufs, 1,
                     [&](KB &k, ValueRange a) {
                       k.loop(a[4], a[5], 1, [&](Value t) {
                         Value p = k.iadd(a[3], t);
                         k.loop(k.idx(0), k.idx(row), 1, [&](Value i) {
                           k.store(k.load(a[0], {t, i}), a[2], {k.idx(0), p, i});
                           k.store(k.load(a[1], {t, i}), a[2], {k.idx(1), p, i});
                         });
                       });
                     });
    dispatch(fn, "kv_write", nTokens, bufs, {*start});
    return success();
  }

  if (auto r = dyn_cast<KVReadOp>(op)) {
    // Attention reads the cache in place; the read only fixes the length.
    FailureOr<Affine> len = operandIndex(r.getLength());
    if (failed(len))
      return failure();
    indices[r.getKeys()] = *len;
    return success();
  }

  if (auto at = dyn_cast<AttentionOp>(op)) {
    auto keysRead = at.getKeys().getDefiningOp<KVReadOp>();
    if (!keysRead || at.getValues().getDefiningOp() != keysRead)
      return op->emitOpError()
             << "keys and values must come from one llm.kv_read";
    int64_t heads = at.getNumHeads(), kvHeads = at.getNumKvHeads(),
            hd = at.getHeadDim(), group = heads / kvHeads;
    int64_t maxCtx = cacheType.getMaxContext();
    double scale = at.getScale().convertToDouble();
    bool causal = at.getCausal();
    FailureOr<Affine> start = operandIndex(at.getStartPos());
    if (failed(start))
      return failure();
    Affine length = indices.lookup(keysRead.getKeys());
    int64_t feats = heads * hd, row = cacheType.getRowSize();
    // The K and V rows of positions [0, length), and a score per head and
    // position, written then read back.
    Buffer scores = scratchView(scratch.lookup(op), {heads, maxCtx});
    SmallVector<Buffer> bufs{
        activation(at.getQuery()).reads(rowsBytes(nTokens, feats)),
        kvLayer(keysRead.getLayer()).reads(length * (2 * row * 4)),
        activation(at.getResult()).writes(rowsBytes(nTokens, feats)),
        scores.reads(length * (heads * 4)).writes(length * (heads * 4))};
    auto fn = kernel(
        "attention",
        std::to_string(heads) + "/" + std::to_string(kvHeads) + "/" +
            std::to_string(hd) + "/" + std::to_string(scale) +
            (causal ? "c" : ""),
        bufs, 3, [&](KB &k, ValueRange a) {
          Value q = a[0], kv = a[1], out = a[2], scores = a[3], n = a[4],
                startPos = a[5], kvLen = a[6];
          // Heads are the parallel dimension: each has its own scores row.
          k.loop(a[7], a[8], 1, [&](Value h) {
            Value g = k.b.create<arith::DivUIOp>(k.loc, h, k.idx(group));
            Value qOff = k.imul(h, k.idx(hd));
            Value kOff = k.imul(g, k.idx(hd));
            k.loop(k.idx(0), n, 1, [&](Value t) {
              Value limit =
                  causal ? k.iadd(k.iadd(startPos, t), k.idx(1)) : kvLen;
              Value mx = k.reduce(k.idx(0), limit, 1, k.f32(-INFINITY),
                                  [&](Value j, Value m) {
                                    Value s = k.mul(
                                        k.dot(q, {t, qOff}, kv,
                                              {k.idx(0), j, kOff}, hd),
                                        k.f32(scale));
                                    k.store(s, scores, {h, j});
                                    return k.max(m, s);
                                  });
              Value sum = k.reduce(k.idx(0), limit, 1, k.f32(0.0),
                                   [&](Value j, Value acc) {
                                     Value e = k.exp(k.sub(k.load(scores, {h, j}), mx));
                                     k.store(e, scores, {h, j});
                                     return k.add(acc, e);
                                   });
              Value invSum = k.div(k.f32(1.0), sum);
              k.loop(k.idx(0), k.idx(hd), 1, [&](Value d) {
                Value kd = k.iadd(kOff, d);
                Value acc = k.reduce(k.idx(0), limit, 1, k.f32(0.0),
                                     [&](Value j, Value acc) {
                                       Value v = k.load(kv, {k.idx(1), j, kd});
                                       return k.add(acc, k.mul(k.load(scores, {h, j}), v));
                                     });
                k.store(k.mul(acc, invSum), out, {t, k.iadd(qOff, d)});
              });
            });
          });
        });
    dispatch(fn, "attention", constant(heads), bufs, {nTokens, *start, length});
    return success();
  }

  // Elementwise ops: one kernel shape, a scalar function of the operands.
  auto elementwise = [&](StringRef kind, ValueRange ins, Value result,
                         function_ref<Value(KB &, ValueRange)> fnBody) {
    int64_t d = cast<RankedTensorType>(result.getType()).getDimSize(1);
    SmallVector<Buffer> bufs;
    for (Value in : ins)
      bufs.push_back(activation(in).reads(rowsBytes(nTokens, d)));
    bufs.push_back(activation(result).writes(rowsBytes(nTokens, d)));
    unsigned nIn = ins.size();
    auto fn = kernel(kind, std::to_string(d), bufs, 0, [&](KB &k, ValueRange a) {
      k.loop(a[nIn + 1], a[nIn + 2], 1, [&](Value t) {
        k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
          SmallVector<Value> xs;
          for (unsigned j = 0; j < nIn; ++j)
            xs.push_back(k.load(a[j], {t, i}));
          k.store(fnBody(k, xs), a[nIn], {t, i});
        });
      });
    });
    dispatch(fn, kind, nTokens, bufs, {});
  };
  auto silu = [](KB &k, Value x) {
    // x * sigmoid(x) = x / (1 + exp(-x)), as torch computes it.
    Value negX = k.b.create<arith::NegFOp>(k.loc, x);
    return k.div(x, k.add(k.f32(1.0), k.exp(negX)));
  };
  if (auto s = dyn_cast<SwiGLUOp>(op)) {
    elementwise("swiglu", {s.getGate(), s.getUp()}, s.getResult(),
                [&](KB &k, ValueRange x) { return k.mul(silu(k, x[0]), x[1]); });
    return success();
  }
  if (auto s = dyn_cast<SiluOp>(op)) {
    elementwise("silu", {s.getInput()}, s.getResult(),
                [&](KB &k, ValueRange x) { return silu(k, x[0]); });
    return success();
  }
  if (auto s = dyn_cast<AddOp>(op)) {
    elementwise("add", {s.getLhs(), s.getRhs()}, s.getResult(),
                [&](KB &k, ValueRange x) { return k.add(x[0], x[1]); });
    return success();
  }
  if (auto s = dyn_cast<MulOp>(op)) {
    elementwise("mul", {s.getLhs(), s.getRhs()}, s.getResult(),
                [&](KB &k, ValueRange x) { return k.mul(x[0], x[1]); });
    return success();
  }
  if (isa<func::ReturnOp>(op))
    return success();
  return op->emitOpError() << "has no kernel lowering";
}

LogicalResult Lowering::run() {
  config = getModelConfig(module);
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!config || !forward)
    return module.emitError()
           << "expected an llm model (run -llm-verify-model for details)";
  // Int4 blocks feed vectors of half a block at most.
  if (vec != 4 && vec != 8 && vec != 16)
    return module.emitError() << "vector width must be 4, 8 or 16, got " << vec;
  if (accs < 1 || accs > 8)
    return module.emitError() << "accumulators must be in [1, 8], got " << accs;
  cacheType = cast<KVCacheType>(forward.getArgument(2).getType());
  if (cacheType.getDtype() != DType::f32)
    return module.emitError() << "only an f32 KV cache is lowered for now";
  if (failed(readPlan(forward)))
    return failure();

  // The logits come from the linear feeding the return; when the caller
  // wants only the last position, that linear runs on one row.
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  lmHead = ret.getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<LinearOp, QuantizedLinearOp>(lmHead))
    return ret.emitOpError() << "@forward must return the result of an "
                                "llm.linear (the lm_head)";

  MLIRContext *c = ctx();
  OpBuilder b(c);
  builder = &b;
  loc = forward.getLoc();
  b.setInsertionPoint(forward);
  kernelsAt = b.saveInsertionPoint();
  b.setInsertionPointToEnd(module.getBody());
  auto schedule = b.create<ScheduleOp>(loc);
  b.setInsertionPointToStart(&schedule.getBody().emplaceBlock());
  indices[forward.getArgument(1)] = Affine{0, 0, 1, 0};

  for (Operation &op : forward.getBody().front()) {
    if (&op == lmHead) {
      // Move the row the logits come from to row 0: the last one (at
      // n - logit_rows = n - 1), or row 0 itself when all rows are wanted.
      Value in = op.getOperand(0);
      int64_t d = cast<RankedTensorType>(in.getType()).getDimSize(1);
      SmallVector<Buffer> bufs{
          activation(in).reads(Affine{d * 4, 0, 0, 0}).writes(Affine{d * 4, 0, 0, 0})};
      auto copyFn = kernel("select_last_row", std::to_string(d), bufs, 1,
                           [&](KB &k, ValueRange a) {
                             k.loop(a[2], a[3], 1, [&](Value) {
                               k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
                                 k.store(k.load(a[0], {a[1], i}), a[0],
                                         {k.idx(0), i});
                               });
                             });
                           });
      dispatch(copyFn, "select_last_row", Affine{1, 0, 0, 0}, bufs,
               {Affine{0, 1, 0, -1}});
    }
    if (failed(emitOp(&op)))
      return failure();
  }

  forward.erase();
  return success();
}

struct LowerToKernelsPass
    : public llmc::impl::LLMLowerToKernelsBase<LowerToKernelsPass> {
  using LLMLowerToKernelsBase::LLMLowerToKernelsBase;
  void runOnOperation() override {
    if (failed(Lowering(getOperation(), vectorWidth, accumulators).run()))
      signalPassFailure();
  }
};

} // namespace
