//===- DispatchBuilder.h - what a kernel pattern builds with ----*- C++ -*-===//
//
// llm-lower-to-kernels turns each llm op into a kernel and its dispatch
// through a *kernel pattern*: a function of the op and a DispatchBuilder,
// which knows where everything lives (the plan passes decided it) and makes
// bindings, kernels and dispatches. The target-neutral patterns are in
// KernelPatterns.cpp, one per op. This is also the one interface through
// which a target swaps in its own microkernel for an op: it registers a
// pattern under the op's name (targets/Target.h, Target::addKernelPatterns)
// and the lowering uses it instead of the default. Include only from the
// lowering and from kernel patterns: it pulls in the MLIR dialects kernels
// are written in.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_DISPATCHBUILDER_H
#define LLMC_PASSES_DISPATCHBUILDER_H

#include "dialects/llm/LLMDialect.h"
#include "dialects/llm/QuantLayout.h"
#include "passes/KernelPatterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <optional>

namespace llmc::lowering {

using namespace mlir;
using namespace llmc::llm;

/// Loop-building helpers for kernel bodies.
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
  /// An element; a narrower float (an f16 activation, weight or cache
  /// element) is widened to f32: kernels compute in f32 whatever they read.
  Value load(Value mem, ValueRange ivs) {
    Value v = b.create<memref::LoadOp>(loc, mem, ivs);
    return widen(v);
  }
  /// Stores `v`, rounded to the buffer's float type when that is narrower.
  void store(Value v, Value mem, ValueRange ivs) {
    b.create<memref::StoreOp>(loc, narrowTo(v, mem), mem, ivs);
  }
  /// A vector store of `v`, rounded like store().
  void storeLanes(Value v, Value mem, ValueRange ivs) {
    b.create<vector::StoreOp>(loc, narrowTo(v, mem), mem, ivs);
  }
  Value widen(Value v) {
    Type t = getElementTypeOrSelf(v.getType());
    if (!isa<FloatType>(t) || t.isF32())
      return v;
    Type f32 = b.getF32Type();
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      f32 = VectorType::get(vt.getShape(), f32);
    return b.create<arith::ExtFOp>(loc, f32, v);
  }
  Value narrowTo(Value v, Value mem) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    Type have = getElementTypeOrSelf(v.getType());
    if (elt == have || !isa<FloatType>(elt) || !isa<FloatType>(have))
      return v;
    Type to = elt;
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      to = VectorType::get(vt.getShape(), elt);
    return b.create<arith::TruncFOp>(loc, to, v);
  }
  Value add(Value a, Value c) { return b.create<arith::AddFOp>(loc, a, c); }
  Value sub(Value a, Value c) { return b.create<arith::SubFOp>(loc, a, c); }
  Value mul(Value a, Value c) { return b.create<arith::MulFOp>(loc, a, c); }
  Value div(Value a, Value c) { return b.create<arith::DivFOp>(loc, a, c); }
  Value iadd(Value a, Value c) { return b.create<arith::AddIOp>(loc, a, c); }
  Value imul(Value a, Value c) { return b.create<arith::MulIOp>(loc, a, c); }
  Value exp(Value a) { return b.create<math::ExpOp>(loc, a); }
  Value max(Value a, Value c) { return b.create<arith::MaximumFOp>(loc, a, c); }
  /// `vec` consecutive elements widened to f32 (integers as signed).
  Value loadVec(Value mem, ValueRange ivs) { return loadLanes(mem, ivs, vec); }
  Value loadLanes(Value mem, ValueRange ivs, int64_t lanes) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    Value v = b.create<vector::LoadOp>(loc, VectorType::get({lanes}, elt), mem, ivs);
    auto f32Ty = VectorType::get({lanes}, b.getF32Type());
    if (elt.isF32())
      return v;
    if (isa<IntegerType>(elt))
      return b.create<arith::SIToFPOp>(loc, f32Ty, v);
    return b.create<arith::ExtFOp>(loc, f32Ty, v);
  }
  /// sum_k a[ka + k] * c[kc + k] for k < len, vectorised when len allows.
  Value dot(Value a, ValueRange aIdx, Value c, ValueRange cIdx, int64_t len);
};



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
  /// Bytes of `rows` rows of `d` elements of this buffer's element type.
  Affine rowsBytes(Affine rows, int64_t d) const {
    return rows * (d * ((type.getElementTypeBitWidth() + 7) / 8));
  }
  Buffer readsRows(Affine rows, int64_t d) const { return reads(rowsBytes(rows, d)); }
  Buffer writesRows(Affine rows, int64_t d) const { return writes(rowsBytes(rows, d)); }
};


/// Where things live and how to bind them, for kernel patterns.
class DispatchBuilder {
public:
  /// Views of an integer-quantized weight's parts.
  struct QuantViews {
    Buffer qs, scales;
    std::optional<Buffer> mins;
  };

  // Bindings of the runtime's buffers.
  Buffer activation(Value v);
  Buffer weightView(FlatSymbolRefAttr sym);
  QuantViews quantViews(FlatSymbolRefAttr sym);
  Buffer scratchView(int64_t offset, ArrayRef<int64_t> shape);
  /// `bytes` of the arena at `offset` as raw bytes (memref<bytes x i8>).
  Buffer scratchI8(int64_t offset, int64_t bytes);
  /// One layer of the KV cache: its elements ([K, V][max_context][row], of
  /// the cache's dtype) and, for an i8 cache, its scales.
  struct KVViews {
    Buffer data;
    std::optional<Buffer> scales;
    /// Both, reading / writing `bytes` of elements (and the scales' share).
    SmallVector<Buffer, 2> reads(Affine positions) const;
    SmallVector<Buffer, 2> writes(Affine positions) const;
  };
  KVViews kvLayer(int64_t layer);
  Buffer logits();
  Buffer tokens();

  /// The (possibly shared) kernel for `kind` and `key` (the key names all
  /// that distinguishes its code). Its arguments are `buffers`' memref
  /// types, one index per scalar, then begin and end of the parallel
  /// dimension; `body` gets all of them.
  func::FuncOp kernel(StringRef kind, StringRef key, ArrayRef<Buffer> buffers,
                      unsigned numScalars,
                      function_ref<void(KB &, ValueRange)> body);
  /// The declaration of an external function (a target's microkernel,
  /// linked by its back end), made once.
  func::FuncOp declareExternal(StringRef name, FunctionType type);
  /// Appends a launch of `fn` over [0, grid) to the schedule.
  void dispatch(func::FuncOp fn, StringRef label, Affine grid,
                ArrayRef<Buffer> buffers, ArrayRef<Affine> scalars);
  /// A private constant f32 table (shared between equal contents).
  StringRef constantTable(StringRef prefix, ArrayRef<float> values);

  /// `v` (an index of @forward) as a scalar of the call; an error on `user`
  /// if the dispatch level cannot express it.
  FailureOr<Affine> index(Operation *user, Value v);
  Affine indexOf(Value v) { return indices.lookup(v); }
  void setIndex(Value v, Affine a) { indices[v] = a; }

  const quant::Layout &layout(StringRef weight) { return weights[weight].layout; }
  bool isLmHead(Operation *op) const { return op == lmHead; }
  /// Rows an op computes: the lm_head `logit_rows`, the others n_tokens.
  Affine rowsOf(Operation *op) const {
    return op == lmHead ? Affine{0, 0, 0, 1} : Affine{0, 1, 0, 0};
  }
  KVCacheType cache() const { return cacheType; }
  int64_t scratchOffset(Operation *op) { return scratch.lookup(op); }

protected:
  DispatchBuilder(ModuleOp module, int64_t vec, int64_t accs)
      : module(module), vec(vec), accs(accs) {}
  struct WeightInfo {
    WeightOp op;
    int64_t offset = 0; ///< in the weights segment (`at`)
    quant::Layout layout;
  };
  Buffer buffer(BufferSpace space, int64_t offset, MemRefType type);
  MemRefType actType(int64_t features) {
    return MemRefType::get({chunk, features}, actElt);
  }
  MLIRContext *ctx() { return module.getContext(); }

  ModuleOp module;
  int64_t chunk = 0; // from llm.plan
  Type actElt;       // the activations' element type, from llm.plan
  int64_t vec, accs; // the target's loop strategy
  ModelConfigAttr config;
  KVCacheType cacheType;

  llvm::MapVector<StringRef, WeightInfo> weights;
  DenseMap<Value, std::pair<int64_t, int64_t>> slots; // value -> (off, feats)
  DenseMap<Operation *, int64_t> scratch;             // op -> arena offset

  // Emission state.
  Location loc = UnknownLoc::get(module.getContext());
  OpBuilder *builder = nullptr; // inserts into the llm.schedule
  OpBuilder::InsertPoint kernelsAt;
  DenseMap<Value, Affine> indices;
  llvm::StringMap<func::FuncOp> kernels;
  llvm::StringMap<unsigned> kindCounts;
  llvm::StringMap<memref::GlobalOp> tables;
  Operation *lmHead = nullptr;
  /// The layer of the op being lowered (from its `layer N` location, which
  /// the importer puts on each layer's ops), stamped on its dispatches.
  std::optional<int64_t> currentLayer;
};

/// sum_k x[t, k] * dequant(W[j, k]) for an integer weight of layout `l`
/// (codes `qs`, `scales`, `mins` or null), accumulated group by group.
Value dequantDot(KB &k, const quant::Layout &l, Value x, Value t, Value qs,
                 Value scales, Value mins, Value j);

} // namespace llmc::lowering

#endif // LLMC_PASSES_DISPATCHBUILDER_H
