//===- KernelPatterns.cpp - the target-neutral kernel of each llm op ------===//
//
// One pattern per op: it binds the op's operands where the plan put them,
// writes (or reuses) a kernel over those bindings whose parallel dimension
// is the op's natural one (output features for linears, heads for
// attention, tokens for the rest) and appends its dispatch with the bytes
// each binding moves per call. Kernels are deliberately plain loops with
// vector FMAs in the reductions (width and accumulators from the target's
// KernelStrategy): correct first; fusion and the targets' microkernels
// replace them through the same interface.
//
//===----------------------------------------------------------------------===//

#include "passes/DispatchBuilder.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace llmc::lowering;
namespace quant = llmc::quant;

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
      return add(s, mul(load(a, at(aIdx, k)), load(c, at(cIdx, k))));
    });
  return sum;
}

/// sum_k x[t, k] * dequant(W[j, k]) for an integer weight, group by group:
/// the group's integer products accumulate in 8-lane vectors, then one FMA
/// with the group's scale (and, asymmetric, the group's min times sum(x)).
Value llmc::lowering::dequantDot(KB &k, const quant::Layout &l, Value x, Value t,
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
  auto loadX = [&](Value at) { return k.loadVec(x, {t, at}); };
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
                Value xv = loadX(kabs);
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
                  Value xlo = loadX(k.iadd(kabs, k.idx(h * vec)));
                  Value xhi = loadX(k.iadd(kabs, k.idx(quant::kInt4Half + h * vec)));
                  qx = b.create<vector::FMAOp>(loc, lof, xlo, qx);
                  qx = b.create<vector::FMAOp>(loc, hif, xhi, qx);
                  if (l.asymmetric)
                    sx = k.add(k.add(sx, xlo), xhi);
                }
              }
              b.create<scf::YieldOp>(loc, ValueRange{qx, sx});
            });
        Value d = b.create<vector::SplatOp>(loc, vf, k.load(scales, {j, g}));
        Value acc = b.create<vector::FMAOp>(loc, inner.getResult(0), d, accs[0]);
        Value accMin = accs[1];
        if (l.asymmetric) {
          Value m = b.create<vector::SplatOp>(loc, vf, k.load(mins, {j, g}));
          accMin = b.create<vector::FMAOp>(loc, inner.getResult(1), m, accMin);
        }
        b.create<scf::YieldOp>(loc, ValueRange{acc, accMin});
      });
  Value total = groupLoop.getResult(0);
  if (l.asymmetric)
    total = k.add(total, groupLoop.getResult(1));
  return b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, total);
}


namespace {

const Affine nTokens{0, 1, 0, 0};
Affine constant(int64_t c) { return Affine{c, 0, 0, 0}; }
/// Bytes of one row of a 2-D binding.
int64_t perRow(const Buffer &b) { return b.size / b.type.getDimSize(0); }

Value silu(KB &k, Value x) {
  // x * sigmoid(x) = x / (1 + exp(-x)), as torch computes it.
  Value negX = k.b.create<arith::NegFOp>(k.loc, x);
  return k.div(x, k.add(k.f32(1.0), k.exp(negX)));
}

/// A position as f32: Hugging Face multiplies in f32, angle = f32(pos) *
/// inv_freq.
Value positionF32(KB &k, Value pos) {
  Value posI = k.b.create<arith::IndexCastOp>(k.loc, k.b.getI64Type(), pos);
  return k.b.create<arith::SIToFPOp>(k.loc, k.b.getF32Type(), posI);
}

/// (cos, sin) of posF * invFreq, scaled by YaRN's attention factor.
std::pair<Value, Value> rotation(KB &k, Value posF, Value invFreq,
                                 float attentionFactor) {
  Value angle = k.mul(posF, invFreq);
  Value c = k.b.create<math::CosOp>(k.loc, angle);
  Value s = k.b.create<math::SinOp>(k.loc, angle);
  if (attentionFactor != 1.0f) {
    Value m = k.f32(attentionFactor);
    c = k.mul(c, m);
    s = k.mul(s, m);
  }
  return {c, s};
}

/// An index minus a constant.
Value subIndex(KB &k, Value a, int64_t c) {
  return k.b.create<arith::SubIOp>(k.loc, a, k.idx(c));
}

/// out[t, j] = dot(t, j) for output features j in [begin, end) (the
/// parallel dimension) and rows t < rows: features outer, so a weight row is
/// read from memory once and reused from cache by every row of the chunk.
void featuresOuter(KB &k, Value begin, Value end, Value rows, Value out,
                   function_ref<Value(Value, Value)> dot) {
  k.loop(begin, end, 1, [&](Value j) {
    k.loop(k.idx(0), rows, 1, [&](Value t) { k.store(dot(t, j), out, {t, j}); });
  });
}

/// A linear's launch: one iteration per output feature, over `rowsOf` rows.
LogicalResult dispatchLinear(Operation *op, DispatchBuilder &db,
                             func::FuncOp fn, StringRef label, int64_t nOut,
                             ArrayRef<Buffer> bufs) {
  db.dispatch(fn, db.isLmHead(op) ? "lm_head" : label, constant(nOut), bufs,
              {db.rowsOf(op)});
  return success();
}

/// Index arithmetic of @forward folds into #llm.scalar values.
LogicalResult lowerIndexConstant(Operation *op, DispatchBuilder &db) {
  auto c = dyn_cast<arith::ConstantIndexOp>(op);
  if (!c)
    return op->emitOpError() << "non-index scalar arithmetic in @forward";
  db.setIndex(c, constant(c.value()));
  return success();
}

LogicalResult lowerIndexArith(Operation *op, DispatchBuilder &db) {
  if (!op->getResult(0).getType().isIndex())
    return op->emitOpError() << "non-index scalar arithmetic in @forward";
  FailureOr<Affine> l = db.index(op, op->getOperand(0));
  FailureOr<Affine> r = db.index(op, op->getOperand(1));
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
  db.setIndex(op->getResult(0), a);
  return success();
}

LogicalResult lowerDim(Operation *op, DispatchBuilder &db) {
  auto dim = cast<tensor::DimOp>(op);
  auto arg = dyn_cast<BlockArgument>(dim.getSource());
  std::optional<int64_t> index = dim.getConstantIndex();
  if (!arg || arg.getArgNumber() != 0 || !index || *index != 0)
    return op->emitOpError() << "only the token count can be queried";
  db.setIndex(dim.getResult(), nTokens);
  return success();
}

// Kernels over packed weights (llm-pack-weights), defined with the fused
// ops' helpers they use, in the "Packed integer weights" section below.
bool isPacked(DispatchBuilder &db, FlatSymbolRefAttr weight);
LogicalResult lowerPackedLinear(Operation *op, DispatchBuilder &db,
                                FlatSymbolRefAttr weight, Value input,
                                std::optional<double> eps,
                                FlatSymbolRefAttr gamma, bool swiglu,
                                Value residual, Value result);
void callMicrokernel(DispatchBuilder &db, KB &k, StringRef name,
                     ValueRange args);
Value addressOf(KB &k, Value mem);
Value addressAt(KB &k, Value mem, Value elements);

LogicalResult lowerEmbedding(Operation *op, DispatchBuilder &db) {
  auto e = cast<EmbeddingOp>(op);
  const quant::Layout &l = db.layout(e.getWeight());
  int64_t d = l.cols, vocab = l.rows;
  // The lookup reads one table row per token.
  Buffer out = db.activation(e.getResult()).writesRows(nTokens, d);
  Buffer toks = db.tokens().reads(nTokens * 4);
  if (l.panel) {
    // A packed table (shared with a tied lm_head): rows gathered by the
    // microkernel that knows the panels.
    DispatchBuilder::QuantViews v = db.quantViews(e.getWeightAttr());
    int64_t rowBytes = v.qs.size / l.storedRows(),
            scaleBytes = v.scales.size / l.storedRows();
    SmallVector<Buffer> bufs{toks, v.qs.reads(nTokens * rowBytes),
                             v.scales.reads(nTokens * scaleBytes), out};
    if (v.mins)
      bufs.push_back(v.mins->reads(nTokens * scaleBytes));
    std::string key = std::to_string(vocab) + "x" + std::to_string(d) + "/q" +
                      std::to_string(l.bits) + "g" + std::to_string(l.group) +
                      (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes) +
                      "/p" + std::to_string(l.panel) + "/k" + std::to_string(l.scaleKind());
    auto fn = db.kernel("embedding", key, bufs, 0, [&](KB &k, ValueRange a) {
      OpBuilder &b = k.b;
      unsigned s = bufs.size();
      k.loop(a[s], a[s + 1], 1, [&](Value t) {
        Value row = b.create<arith::IndexCastOp>(k.loc, b.getIndexType(),
                                                 k.load(a[0], {t}));
        callMicrokernel(db, k, "llmc_uk_panel_row",
                        {addressOf(k, a[1]), addressOf(k, a[2]),
                         v.mins ? addressOf(k, a[4]) : k.idx(0),
                         k.idx(l.scaleKind()), k.idx(d), k.idx(l.bits),
                         k.idx(l.group), row,
                         addressAt(k, a[3], k.imul(t, k.idx(d)))});
      });
    });
    db.dispatch(fn, "embedding", nTokens, bufs, {});
    return success();
  }
  if (l.isInteger()) {
    DispatchBuilder::QuantViews v = db.quantViews(e.getWeightAttr());
    SmallVector<Buffer> bufs{toks, v.qs.reads(nTokens * perRow(v.qs)),
                             v.scales.reads(nTokens * perRow(v.scales)), out};
    if (v.mins)
      bufs.push_back(v.mins->reads(nTokens * perRow(*v.mins)));
    std::string key = std::to_string(vocab) + "x" + std::to_string(d) + "/q" +
                      std::to_string(l.bits) + "g" + std::to_string(l.group) +
                      (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes);
    auto fn = db.kernel("embedding", key, bufs, 0, [&](KB &k, ValueRange a) {
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
          Value x = k.mul(q, k.load(a[2], {row, g}));
          if (l.asymmetric)
            x = k.add(x, k.load(mins, {row, g}));
          k.store(x, a[3], {t, i});
        });
      });
    });
    db.dispatch(fn, "embedding", nTokens, bufs, {});
    return success();
  }
  Buffer table = db.weightView(e.getWeightAttr());
  SmallVector<Buffer> bufs{toks, table.reads(nTokens * perRow(table)), out};
  auto fn = db.kernel("embedding",
                   std::to_string(vocab) + "x" + std::to_string(d) + "/" +
                       std::to_string(l.bits),
                   bufs, 0, [&](KB &k, ValueRange a) {
                     k.loop(a[3], a[4], 1, [&](Value t) {
                       Value id = k.load(a[0], {t});
                       Value row = k.b.create<arith::IndexCastOp>(
                           k.loc, k.b.getIndexType(), id);
                       k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
                         k.store(k.load(a[1], {row, i}), a[2], {t, i});
                       });
                     });
                   });
  db.dispatch(fn, "embedding", nTokens, bufs, {});
  return success();
}

LogicalResult lowerQuantizedLinear(Operation *op, DispatchBuilder &db) {
  auto ql = cast<QuantizedLinearOp>(op);
  if (isPacked(db, ql.getWeightAttr()))
    return lowerPackedLinear(op, db, ql.getWeightAttr(), ql.getInput(),
                             std::nullopt, FlatSymbolRefAttr(), false, Value(),
                             ql.getResult());
  const quant::Layout &l = db.layout(ql.getWeight());
  int64_t nOut = l.rows, kIn = l.cols;
  DispatchBuilder::QuantViews v = db.quantViews(ql.getWeightAttr());
  Affine rows = db.rowsOf(op);
  Buffer out = (db.isLmHead(op) ? db.logits() : db.activation(ql.getResult()))
                   .writesRows(rows, nOut);
  SmallVector<Buffer> bufs{
      db.activation(ql.getInput()).readsRows(rows, kIn), v.qs.readsAll(),
      v.scales.readsAll(), out};
  if (v.mins)
    bufs.push_back(v.mins->readsAll());
  std::string key = std::to_string(kIn) + "x" + std::to_string(nOut) + "/q" +
                    std::to_string(l.bits) + "g" + std::to_string(l.group) +
                    (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes);
  auto fn = db.kernel("qlinear", key, bufs, 1, [&](KB &k, ValueRange a) {
    Value mins = l.asymmetric ? a[4] : Value();
    unsigned s = bufs.size();
    featuresOuter(k, a[s + 1], a[s + 2], a[s], a[3], [&](Value t, Value j) {
      return dequantDot(k, l, a[0], t, a[1], a[2], mins, j);
    });
  });
  return dispatchLinear(op, db, fn, "qlinear", nOut, bufs);
}

/// y = x / rms(x) * gamma over `rows` rows of [chunk, d] buffers, one
/// dispatch parallel over the rows.
void emitRMSNorm(DispatchBuilder &db, Buffer in, Buffer gamma, Buffer out,
                 double eps, Affine rows) {
  int64_t d = in.type.getDimSize(1);
  SmallVector<Buffer> bufs{in.readsRows(rows, d), gamma.readsAll(),
                           out.writesRows(rows, d)};
  auto fn = db.kernel(
      "rms_norm", std::to_string(d) + "/" + std::to_string(eps), bufs, 0,
      [&](KB &k, ValueRange a) {
        k.loop(a[3], a[4], 1, [&](Value t) {
          Value ss = k.dot(a[0], {t, k.idx(0)}, a[0], {t, k.idx(0)}, d);
          Value mean = k.div(ss, k.f32(double(d)));
          Value inv = k.b.create<math::RsqrtOp>(k.loc, k.add(mean, k.f32(eps)));
          k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
            Value x = k.mul(k.load(a[0], {t, i}), inv);
            k.store(k.mul(k.load(a[1], {i}), x), a[2], {t, i});
          });
        });
      });
  db.dispatch(fn, "rms_norm", rows, bufs, {});
}

LogicalResult lowerRMSNorm(Operation *op, DispatchBuilder &db) {
  auto n = cast<RMSNormOp>(op);
  emitRMSNorm(db, db.activation(n.getInput()), db.weightView(n.getWeightAttr()),
              db.activation(n.getResult()), n.getEpsilon().convertToDouble(),
              nTokens);
  return success();
}

LogicalResult lowerLinear(Operation *op, DispatchBuilder &db) {
  auto l = cast<LinearOp>(op);
  Buffer w = db.weightView(l.getWeightAttr()).readsAll();
  int64_t nOut = w.type.getDimSize(0), kIn = w.type.getDimSize(1);
  Affine rows = db.rowsOf(op);
  Buffer out = (db.isLmHead(op) ? db.logits() : db.activation(l.getResult()))
                   .writesRows(rows, nOut);
  SmallVector<Buffer> bufs{db.activation(l.getInput()).readsRows(rows, kIn),
                           w, out};
  auto fn = db.kernel(
      "linear",
      std::to_string(kIn) + "x" + std::to_string(nOut) +
          (w.type.getElementType().isF16() ? "/f16" : ""),
      bufs, 1, [&](KB &k, ValueRange a) {
        featuresOuter(k, a[4], a[5], a[3], a[2], [&](Value t, Value j) {
          return k.dot(a[0], {t, k.idx(0)}, a[1], {j, k.idx(0)}, kIn);
        });
      });
  return dispatchLinear(op, db, fn, "linear", nOut, bufs);
}

LogicalResult lowerRope(Operation *op, DispatchBuilder &db) {
  auto r = cast<RopeOp>(op);
  int64_t heads = r.getNumHeads(), hd = r.getHeadDim(), half = hd / 2;
  RopeFrequencies rope =
      computeRope(hd, r.getTheta().convertToDouble(), r.getScalingAttr());
  ArrayRef<float> inv = rope.invFreq;
  auto tableTy = MemRefType::get({half}, Float32Type::get(op->getContext()));
  std::string tableName = db.constantTable("rope_inv_freq", inv).str();
  FailureOr<Affine> start = db.index(op, r.getStartPos());
  if (failed(start))
    return failure();
  int64_t feats = r.getType().getDimSize(1);
  SmallVector<Buffer> bufs{
      db.activation(r.getInput()).readsRows(nTokens, feats),
      db.activation(r.getResult()).writesRows(nTokens, feats)};
  auto fn = db.kernel(
      "rope",
      std::to_string(heads) + "x" + std::to_string(hd) + "/" + tableName +
          "*" + std::to_string(rope.attentionFactor),
      bufs, 1, [&](KB &k, ValueRange a) {
        Value freqs = k.b.create<memref::GetGlobalOp>(k.loc, tableTy, tableName);
        k.loop(a[3], a[4], 1, [&](Value t) {
          Value posF = positionF32(k, k.iadd(a[2], t));
          k.loop(k.idx(0), k.idx(half), 1, [&](Value i) {
            std::pair<Value, Value> cs =
                rotation(k, posF, k.load(freqs, {i}), rope.attentionFactor);
            Value c = cs.first, s = cs.second;
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
  db.dispatch(fn, "rope", nTokens, bufs, {*start});
  return success();
}

/// A layer of the KV cache as a kernel sees it: element views of its dtype
/// and, for i8, the scales (one per position and head).
struct KVArgs {
  KVCacheType type;
  Value data, scales;
  int64_t hd() const { return type.getHeadDim(); }

  /// Stores head `g` of K (`which` 0) or V (1) at position `pos` from
  /// src[row, col0 + i], i < head_dim: as f32, narrowed to f16, or
  /// quantized to int8 with the head's absmax / 127 as its scale.
  void storeHead(KB &k, int which, Value pos, Value g, Value src, Value row,
                 Value col0) const {
    OpBuilder &b = k.b;
    Value w = k.idx(which);
    Value base = k.imul(g, k.idx(hd()));
    auto srcAt = [&](Value i) { return k.load(src, {row, k.iadd(col0, i)}); };
    if (type.getDtype() != DType::i8) {
      k.loop(k.idx(0), k.idx(hd()), 1, [&](Value i) {
        Value x = srcAt(i);
        if (type.getDtype() == DType::f16)
          x = b.create<arith::TruncFOp>(k.loc, b.getF16Type(), x);
        k.store(x, data, {w, pos, k.iadd(base, i)});
      });
      return;
    }
    Value amax = k.reduce(k.idx(0), k.idx(hd()), 1, k.f32(0.0), [&](Value i, Value m) {
      return k.max(m, b.create<math::AbsFOp>(k.loc, srcAt(i)));
    });
    Value positive = b.create<arith::CmpFOp>(k.loc, arith::CmpFPredicate::OGT,
                                             amax, k.f32(0.0));
    Value inv = b.create<arith::SelectOp>(k.loc, positive,
                                          k.div(k.f32(127.0), amax), k.f32(0.0));
    k.store(k.div(amax, k.f32(127.0)), scales, {w, pos, g});
    k.loop(k.idx(0), k.idx(hd()), 1, [&](Value i) {
      Value q = b.create<math::RoundEvenOp>(k.loc, k.mul(srcAt(i), inv));
      Value code = b.create<arith::FPToSIOp>(k.loc, b.getI8Type(), q);
      k.store(code, data, {w, pos, k.iadd(base, i)});
    });
  }
  /// The scale of head g of K / V at `pos` (1 for a float cache).
  Value scale(KB &k, int which, Value pos, Value g) const {
    if (type.getDtype() != DType::i8)
      return k.f32(1.0);
    return k.load(scales, {k.idx(which), pos, g});
  }
};

/// The cache bindings' kernel arguments, from `at`: the elements, then the
/// scales for i8.
KVArgs kvArgs(DispatchBuilder &db, ValueRange a, unsigned at) {
  KVCacheType t = db.cache();
  return {t, a[at], t.getDtype() == DType::i8 ? a[at + 1] : Value()};
}

std::string kvKey(KVCacheType t) {
  return "/kv" + stringifyDType(t.getDtype()).str();
}

LogicalResult lowerKVWrite(Operation *op, DispatchBuilder &db) {
  auto w = cast<KVWriteOp>(op);
  KVCacheType cache = db.cache();
  int64_t row = cache.getRowSize(), hd = cache.getHeadDim();
  FailureOr<Affine> start = db.index(op, w.getStartPos());
  if (failed(start))
    return failure();
  SmallVector<Buffer> bufs{
      db.activation(w.getKeys()).readsRows(nTokens, row),
      db.activation(w.getValues()).readsRows(nTokens, row)};
  bufs.append(db.kvLayer(w.getLayer()).writes(nTokens));
  auto fn = db.kernel(
      "kv_write", std::to_string(row) + kvKey(cache), bufs, 1,
      [&](KB &k, ValueRange a) {
        unsigned s = bufs.size();
        KVArgs kv = kvArgs(db, a, 2);
        k.loop(a[s + 1], a[s + 2], 1, [&](Value t) {
          Value p = k.iadd(a[s], t);
          k.loop(k.idx(0), k.idx(cache.getNumKvHeads()), 1, [&](Value g) {
            Value col = k.imul(g, k.idx(hd));
            kv.storeHead(k, 0, p, g, a[0], t, col);
            kv.storeHead(k, 1, p, g, a[1], t, col);
          });
        });
      });
  db.dispatch(fn, "kv_write", nTokens, bufs, {*start});
  return success();
}

LogicalResult lowerKVRead(Operation *op, DispatchBuilder &db) {
  auto r = cast<KVReadOp>(op);
  // Attention reads the cache in place; the read only fixes the length.
  FailureOr<Affine> len = db.index(op, r.getLength());
  if (failed(len))
    return failure();
  db.setIndex(r.getKeys(), *len);
  return success();
}

/// Attention in one pass over the cache per KV head and query token (flash
/// attention's online softmax): positions in tiles of `kv_tile`; per tile
/// and query head the scores go to a tile-sized buffer, the running max, sum
/// and output are rescaled once, then the tile's values are accumulated. The
/// parallel dimension is (KV head, token): a K / V tile read from memory
/// serves every query head of its group from cache (grouped-query
/// attention), consecutive units are the tokens of one KV head (a CPU
/// thread's range shares its K / V), a prefill chunk gives a GPU
/// `n_tokens` times more invocations than KV heads, and no one invocation
/// loops over a whole chunk (lavapipe ends a shader's loops after 65535
/// iterations in all). No max_context-sized scores exist.
///
/// With `kv_splits` S > 1 (flash decoding, for long contexts on devices
/// with more parallel units than KV heads) the positions are cut into S
/// ranges, each a unit of the grid writing its partial (max, sum, output)
/// to scratch, and a second dispatch combines the S partials of each query
/// head.
LogicalResult lowerAttention(Operation *op, DispatchBuilder &db) {
  auto at = cast<AttentionOp>(op);
  auto keysRead = at.getKeys().getDefiningOp<KVReadOp>();
  if (!keysRead || at.getValues().getDefiningOp() != keysRead)
    return op->emitOpError()
           << "keys and values must come from one llm.kv_read";
  int64_t heads = at.getNumHeads(), kvHeads = at.getNumKvHeads(),
          hd = at.getHeadDim(), group = heads / kvHeads;
  int64_t tile = at.getKvTile().value_or(kDefaultKVTile);
  int64_t splits = at.getKvSplits().value_or(1);
  double scale = at.getScale().convertToDouble();
  bool causal = at.getCausal();
  FailureOr<Affine> start = db.index(op, at.getStartPos());
  if (failed(start))
    return failure();
  Affine length = db.indexOf(keysRead.getKeys());
  int64_t feats = heads * hd;
  KVCacheType cache = db.cache();
  Buffer query = db.activation(at.getQuery()).readsRows(nTokens, feats);
  Buffer result = db.activation(at.getResult());
  int64_t chunk = query.type.getDimSize(0);
  // Partials: [split][row][query head][max, sum, output...].
  std::optional<Buffer> partial;
  if (splits > 1)
    partial = db.scratchView(db.scratchOffset(op), {splits, chunk, heads, hd + 2});
  SmallVector<Buffer> bufs{query};
  bufs.append(db.kvLayer(keysRead.getLayer()).reads(length));
  unsigned outAt = bufs.size();
  Affine partialBytes = nTokens * (splits * heads * (hd + 2) * 4);
  bufs.push_back(partial ? partial->writes(partialBytes)
                         : result.writesRows(nTokens, feats));
  auto fn = db.kernel(
      "attention",
      std::to_string(heads) + "/" + std::to_string(kvHeads) + "/" +
          std::to_string(hd) + "/" + std::to_string(scale) +
          (causal ? "c" : "") + "/t" + std::to_string(tile) + "/s" +
          std::to_string(splits) + kvKey(cache),
      bufs, 3, [&](KB &k, ValueRange a) {
        OpBuilder &b = k.b;
        unsigned s = bufs.size();
        Value q = a[0], out = a[outAt], n = a[s], startPos = a[s + 1],
              kvLen = a[s + 2];
        KVArgs kv = kvArgs(db, a, 1);
        // Head vectors in `lanes`-wide pieces.
        int64_t lanes = hd % k.vec == 0 ? k.vec : 1;
        Type f32 = b.getF32Type();
        auto vt = VectorType::get({lanes}, f32);
        auto buf = [&](ArrayRef<int64_t> shape) {
          return b.create<memref::AllocaOp>(k.loc, MemRefType::get(shape, f32))
              .getResult();
        };
        auto splat = [&](Value x) {
          return b.create<vector::SplatOp>(k.loc, vt, x).getResult();
        };
        auto loadV = [&](Value mem, ValueRange ivs) {
          return k.loadLanes(mem, ivs, lanes);
        };
        auto storeV = [&](Value v, Value mem, ValueRange ivs) {
          k.storeLanes(v, mem, ivs);
        };
        auto minus = [&](Value x, Value y) {
          return b.create<arith::SubIOp>(k.loc, x, y).getResult();
        };
        auto minU = [&](Value x, Value y) {
          return b.create<arith::MinUIOp>(k.loc, x, y).getResult();
        };
        // Per query head of the group: running max, sum and output; and
        // one tile of scores.
        Value m = buf({group}), l = buf({group}), acc = buf({group, hd}),
              sc = buf({tile});
        // Positions per split: ceil(length / splits).
        Value perSplit = b.create<arith::DivUIOp>(
            k.loc, k.iadd(kvLen, k.idx(splits - 1)), k.idx(splits));
        k.loop(a[s + 3], a[s + 4], 1, [&](Value unit) {
          // unit = (g * splits + split) * n_tokens + t.
          Value t = b.create<arith::RemUIOp>(k.loc, unit, n).getResult();
          Value gs = b.create<arith::DivUIOp>(k.loc, unit, n).getResult();
          Value g = splits > 1 ? b.create<arith::DivUIOp>(k.loc, gs, k.idx(splits)).getResult()
                               : gs;
          Value split = splits > 1 ? b.create<arith::RemUIOp>(k.loc, gs, k.idx(splits)).getResult()
                                   : k.idx(0);
          Value kOff = k.imul(g, k.idx(hd));
          auto headOf = [&](Value h) { return k.iadd(k.imul(g, k.idx(group)), h); };
          {
            Value limit = causal ? k.iadd(k.iadd(startPos, t), k.idx(1)) : kvLen;
            Value first = minU(k.imul(split, perSplit), limit);
            Value last = splits > 1 ? minU(k.iadd(first, perSplit), limit) : limit;
            k.loop(k.idx(0), k.idx(group), 1, [&](Value h) {
              k.store(k.f32(-INFINITY), m, {h});
              k.store(k.f32(0.0), l, {h});
              k.loop(k.idx(0), k.idx(hd), lanes,
                     [&](Value d) { storeV(splat(k.f32(0.0)), acc, {h, d}); });
            });
            k.loop(first, last, tile, [&](Value j0) {
              Value jEnd = minU(k.iadd(j0, k.idx(tile)), last);
              k.loop(k.idx(0), k.idx(group), 1, [&](Value h) {
                Value qOff = k.imul(headOf(h), k.idx(hd));
                Value tmax = k.reduce(j0, jEnd, 1, k.f32(-INFINITY), [&](Value j, Value mx) {
                  Value dot = k.dot(q, {t, qOff}, kv.data, {k.idx(0), j, kOff}, hd);
                  Value sj = k.mul(k.mul(dot, kv.scale(k, 0, j, g)), k.f32(scale));
                  k.store(sj, sc, {minus(j, j0)});
                  return k.max(mx, sj);
                });
                Value mOld = k.load(m, {h});
                Value mNew = k.max(mOld, tmax);
                Value c = k.exp(k.sub(mOld, mNew));
                Value lNew = k.reduce(j0, jEnd, 1, k.mul(k.load(l, {h}), c),
                                      [&](Value j, Value sum) {
                                        Value p = k.exp(k.sub(k.load(sc, {minus(j, j0)}), mNew));
                                        k.store(p, sc, {minus(j, j0)});
                                        return k.add(sum, p);
                                      });
                k.store(mNew, m, {h});
                k.store(lNew, l, {h});
                // acc = acc * c + sum_j p_j v_j, a vector of the head at a time.
                k.loop(k.idx(0), k.idx(hd), lanes, [&](Value d) {
                  Value init = k.mul(loadV(acc, {h, d}), splat(c));
                  Value sum = k.reduce(j0, jEnd, 1, init, [&](Value j, Value av) {
                    Value p = k.mul(k.load(sc, {minus(j, j0)}), kv.scale(k, 1, j, g));
                    Value v = k.loadLanes(kv.data, {k.idx(1), j, k.iadd(kOff, d)}, lanes);
                    return b.create<vector::FMAOp>(k.loc, splat(p), v, av).getResult();
                  });
                  storeV(sum, acc, {h, d});
                });
              });
            });
            k.loop(k.idx(0), k.idx(group), 1, [&](Value h) {
              Value qh = headOf(h);
              if (splits > 1) {
                // This split's partial, unnormalised.
                k.store(k.load(m, {h}), out, {split, t, qh, k.idx(0)});
                k.store(k.load(l, {h}), out, {split, t, qh, k.idx(1)});
                k.loop(k.idx(0), k.idx(hd), 1, [&](Value d) {
                  k.store(k.load(acc, {h, d}), out, {split, t, qh, k.iadd(d, k.idx(2))});
                });
                return;
              }
              Value qOff = k.imul(qh, k.idx(hd));
              Value inv = splat(k.div(k.f32(1.0), k.load(l, {h})));
              k.loop(k.idx(0), k.idx(hd), lanes, [&](Value d) {
                storeV(k.mul(loadV(acc, {h, d}), inv), out, {t, k.iadd(qOff, d)});
              });
            });
          }
        });
      });
  db.dispatch(fn, "attention", nTokens * (kvHeads * splits), bufs,
              {nTokens, *start, length});
  if (splits == 1)
    return success();

  // Combine: out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s with
  // M = max_s m_s. An empty split has m = -inf and adds nothing; split 0
  // always holds position 0.
  SmallVector<Buffer> cbufs{partial->reads(partialBytes),
                            result.writesRows(nTokens, feats)};
  auto combine = db.kernel(
      "attention_combine",
      std::to_string(heads) + "x" + std::to_string(hd) + "/s" + std::to_string(splits),
      cbufs, 1, [&](KB &k, ValueRange a) {
        Value p = a[0], out = a[1], n = a[2];
        k.loop(a[3], a[4], 1, [&](Value h) {
          k.loop(k.idx(0), n, 1, [&](Value t) {
            Value mx = k.reduce(k.idx(0), k.idx(splits), 1, k.f32(-INFINITY),
                                [&](Value sp, Value x) {
                                  return k.max(x, k.load(p, {sp, t, h, k.idx(0)}));
                                });
            Value total = k.reduce(k.idx(0), k.idx(splits), 1, k.f32(0.0),
                                   [&](Value sp, Value x) {
                                     Value w = k.exp(k.sub(k.load(p, {sp, t, h, k.idx(0)}), mx));
                                     return k.add(x, k.mul(w, k.load(p, {sp, t, h, k.idx(1)})));
                                   });
            Value inv = k.div(k.f32(1.0), total);
            Value base = k.imul(h, k.idx(hd));
            k.loop(k.idx(0), k.idx(hd), 1, [&](Value d) {
              Value sum = k.reduce(k.idx(0), k.idx(splits), 1, k.f32(0.0),
                                   [&](Value sp, Value x) {
                                     Value w = k.exp(k.sub(k.load(p, {sp, t, h, k.idx(0)}), mx));
                                     Value v = k.load(p, {sp, t, h, k.iadd(d, k.idx(2))});
                                     return k.add(x, k.mul(w, v));
                                   });
              k.store(k.mul(sum, inv), out, {t, k.iadd(base, d)});
            });
          });
        });
      });
  db.dispatch(combine, "attention_combine", constant(heads), cbufs, {nTokens});
  return success();
}

//===----------------------------------------------------------------------===//
// Fused ops (llm-fuse)
//===----------------------------------------------------------------------===//

/// A fused kernel's weight, float or integer groups, and the dot product of
/// an input row with one of its rows.
struct WeightOperand {
  quant::Layout l;
  SmallVector<Buffer> bufs;

  WeightOperand(DispatchBuilder &db, FlatSymbolRefAttr sym)
      : l(db.layout(sym.getValue())) {
    if (l.isInteger()) {
      DispatchBuilder::QuantViews v = db.quantViews(sym);
      bufs = {v.qs.readsAll(), v.scales.readsAll()};
      if (v.mins)
        bufs.push_back(v.mins->readsAll());
    } else {
      bufs = {db.weightView(sym).readsAll()};
    }
  }
  std::string key() const {
    std::string k = std::to_string(l.cols) + "x" + std::to_string(l.rows);
    if (l.isInteger())
      return k + "/q" + std::to_string(l.bits) + "g" + std::to_string(l.group) +
             (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes);
    return k + "/f" + std::to_string(l.bits);
  }
  /// x[t] . W[j]; `w` are the kernel arguments of `bufs`.
  Value dot(KB &k, ValueRange w, Value x, Value t, Value j) const {
    if (l.isInteger())
      return dequantDot(k, l, x, t, w[0], w[1], l.asymmetric ? w[2] : Value(), j);
    return k.dot(x, {t, k.idx(0)}, w[0], {j, k.idx(0)}, l.cols);
  }
};

/// The norm prologue: 1 / rms of each of the first `rows` rows of x, in a
/// buffer of the kernel's own (each call computes the rows it needs: a
/// sum of squares per row is nothing beside the weight rows it then reads).
Value rmsPrologue(KB &k, Value x, Value rows, int64_t chunk, int64_t d,
                  double eps) {
  auto type = MemRefType::get({chunk}, k.b.getF32Type());
  Value inv = k.b.create<memref::AllocaOp>(k.loc, type);
  k.loop(k.idx(0), rows, 1, [&](Value t) {
    Value ss = k.dot(x, {t, k.idx(0)}, x, {t, k.idx(0)}, d);
    Value mean = k.div(ss, k.f32(double(d)));
    k.store(k.b.create<math::RsqrtOp>(k.loc, k.add(mean, k.f32(eps))), inv, {t});
  });
  return inv;
}

/// The input of a fused op with a norm prologue. A norm whose vector is
/// folded into the weight needs only 1 / rms per row, applied to the
/// finished dot products (the kernel's prologue). One that keeps its vector
/// (`gamma`) runs as its own dispatch into the op's scratch, which the
/// kernel then reads: multiplying by gamma inside the dot products costs
/// 40% on a q8 lm_head, and a normalised copy per kernel call would need
/// chunk x hidden floats of stack on every thread.
struct NormedInput {
  Buffer x;
  std::optional<double> eps; // the prologue's, if any
};

NormedInput normedInput(DispatchBuilder &db, Operation *op, Value input,
                        std::optional<APFloat> eps, FlatSymbolRefAttr gamma,
                        Affine rows) {
  Buffer x = db.activation(input);
  if (!eps)
    return {x, std::nullopt};
  if (!gamma)
    return {x, eps->convertToDouble()};
  Buffer normed = db.scratchView(db.scratchOffset(op),
                                 {x.type.getDimSize(0), x.type.getDimSize(1)});
  emitRMSNorm(db, x, db.weightView(gamma), normed, eps->convertToDouble(), rows);
  return {normed, std::nullopt};
}

std::string normKey(std::optional<double> eps) {
  return eps ? "/norm" + std::to_string(*eps) : "";
}

//===----------------------------------------------------------------------===//
// Packed integer weights (llm-pack-weights): int8 activations x panels
//===----------------------------------------------------------------------===//
//
// The inner loops are the target's microkernels (the CPU's are
// targets/cpu/ukernels/ukernels.c), declared here and linked by the back
// end; buffer addresses go to them as index values. The loops around them
// and the epilogues stay generated.

constexpr int64_t kPanel = quant::kPanel;

Value addressOf(KB &k, Value mem) {
  return k.b.create<memref::ExtractAlignedPointerAsIndexOp>(k.loc, mem);
}

/// `mem`'s address plus `elements` f32 elements.
Value addressAt(KB &k, Value mem, Value elements) {
  return k.iadd(addressOf(k, mem), k.imul(elements, k.idx(4)));
}

void callMicrokernel(DispatchBuilder &db, KB &k, StringRef name,
                     ValueRange args) {
  SmallVector<Type> types;
  for (Value a : args)
    types.push_back(a.getType());
  func::FuncOp fn =
      db.declareExternal(name, k.b.getFunctionType(types, TypeRange{}));
  k.b.create<func::CallOp>(k.loc, fn, args);
}

/// The dispatch that quantizes the first `rows` rows of x to int8 blocks
/// (optionally RMS-normalized first, times gamma if given) into `op`'s
/// scratch, once for every thread of the panels' dispatch that follows.
Buffer quantizeRows(DispatchBuilder &db, Operation *op, Buffer x,
                    std::optional<double> eps, FlatSymbolRefAttr gamma,
                    Affine rows) {
  int64_t chunk = x.type.getDimSize(0), kIn = x.type.getDimSize(1);
  int64_t stride = quant::int8RowBytes(kIn);
  Buffer xq = db.scratchI8(db.scratchOffset(op), chunk * stride);
  SmallVector<Buffer> bufs{x.readsRows(rows, kIn)};
  if (gamma)
    bufs.push_back(db.weightView(gamma).readsAll());
  bufs.push_back(xq.writes(rows * stride));
  std::string key = std::to_string(kIn) + normKey(eps) + (gamma ? "/gamma" : "");
  auto fn = db.kernel("quantize_rows", key, bufs, 0, [&](KB &k, ValueRange a) {
    unsigned s = bufs.size();
    callMicrokernel(
        db, k, "llmc_uk_quantize_rows",
        {addressOf(k, a[0]), k.idx(kIn), k.idx(kIn), a[s], a[s + 1],
         k.f32(eps ? *eps : -1.0), gamma ? addressOf(k, a[1]) : k.idx(0),
         addressOf(k, a[s - 1]), k.idx(stride)});
  });
  db.dispatch(fn, eps ? "norm+quantize" : "quantize", rows, bufs, {});
  return xq;
}

/// A packed weight's bindings and the call that multiplies one of its
/// panels by the quantized rows.
struct Panels {
  quant::Layout l;
  /// qs, scales and (asymmetric) mins.
  SmallVector<Buffer> bufs;

  Panels(DispatchBuilder &db, FlatSymbolRefAttr sym) : l(db.layout(sym.getValue())) {
    DispatchBuilder::QuantViews v = db.quantViews(sym);
    bufs = {v.qs.readsAll(), v.scales.readsAll()};
    if (v.mins)
      bufs.push_back(v.mins->readsAll());
  }
  std::string key() const {
    return std::to_string(l.cols) + "x" + std::to_string(l.rows) + "/q" +
           std::to_string(l.bits) + "g" + std::to_string(l.group) +
           (l.asymmetric ? "a" : "s") + std::to_string(l.scaleBytes) + "/p" +
           std::to_string(l.panel) + "/k" + std::to_string(l.scaleKind());
  }
  /// tile[t][col .. col+16) for t < n = panel `p` . xq[t] (tile rows `ldo`
  /// floats apart); `w` are the kernel arguments of `bufs`.
  void dot(DispatchBuilder &db, KB &k, Value xq, Value n, ValueRange w,
           Value p, Value tile, int64_t col, int64_t ldo) const {
    callMicrokernel(
        db, k, "llmc_uk_panel_dot",
        {addressOf(k, xq), k.idx(quant::int8RowBytes(l.cols)), n, k.idx(l.cols),
         k.idx(l.bits), addressOf(k, w[0]), addressOf(k, w[1]),
         l.asymmetric ? addressOf(k, w[2]) : k.idx(0),
         k.idx(l.scaleKind()), k.idx(l.group), p,
         addressAt(k, tile, k.idx(col)), k.idx(ldo)});
  }
};

/// A linear over a packed weight, with the fused ops' epilogues: one
/// dispatch quantizes the input (and applies the norm), a second walks the
/// output panels (the grid), each panel's products landing in a tile on
/// the stack that the epilogue (SwiGLU, residual) then stores.
LogicalResult lowerPackedLinear(Operation *op, DispatchBuilder &db,
                                FlatSymbolRefAttr weight, Value input,
                                std::optional<double> eps,
                                FlatSymbolRefAttr gamma, bool swiglu,
                                Value residual, Value result) {
  Panels w(db, weight);
  int64_t kIn = w.l.cols, nOut = cast<RankedTensorType>(result.getType()).getDimSize(1);
  Affine rows = db.rowsOf(op);
  Buffer xq = quantizeRows(db, op, db.activation(input), eps, gamma, rows);
  SmallVector<Buffer> bufs{xq.reads(rows * quant::int8RowBytes(kIn))};
  bufs.append(w.bufs);
  const unsigned nW = w.bufs.size();
  int resAt = -1;
  if (residual) {
    resAt = bufs.size();
    bufs.push_back(db.activation(residual).readsRows(rows, nOut));
  }
  int outAt = bufs.size();
  bufs.push_back((db.isLmHead(op) ? db.logits() : db.activation(result))
                     .writesRows(rows, nOut));
  int64_t chunk = bufs[outAt].type.getDimSize(0);
  int64_t width = swiglu ? 2 * kPanel : kPanel;
  std::string key = w.key() + (swiglu ? "/swiglu" : "") +
                    (resAt >= 0 ? "/residual" : "") + "/" + std::to_string(nOut);
  auto fn = db.kernel("panel_linear", key, bufs, 1, [&](KB &k, ValueRange a) {
    unsigned s = bufs.size();
    Value n = a[s], out = a[outAt];
    Value tile = k.b.create<memref::AllocaOp>(
        k.loc, MemRefType::get({chunk, width}, k.b.getF32Type()));
    k.loop(a[s + 1], a[s + 2], 1, [&](Value p) {
      w.dot(db, k, a[0], n, a.slice(1, nW), p, tile, 0, width);
      if (swiglu)
        w.dot(db, k, a[0], n, a.slice(1, nW), k.iadd(p, k.idx(nOut / kPanel)),
              tile, kPanel, width);
      Value j0 = k.imul(p, k.idx(kPanel));
      Value count = k.b.create<arith::MinUIOp>(
          k.loc, k.idx(kPanel), k.b.create<arith::SubIOp>(k.loc, k.idx(nOut), j0));
      k.loop(k.idx(0), n, 1, [&](Value t) {
        k.loop(k.idx(0), count, 1, [&](Value i) {
          Value y = k.load(tile, {t, i});
          if (swiglu)
            y = k.mul(silu(k, y), k.load(tile, {t, k.iadd(i, k.idx(kPanel))}));
          Value j = k.iadd(j0, i);
          if (resAt >= 0)
            y = k.add(y, k.load(a[resAt], {t, j}));
          k.store(y, out, {t, j});
        });
      });
    });
  });
  std::string label = std::string("i8.linear") +
                      (swiglu ? "+swiglu" : "") + (resAt >= 0 ? "+add" : "");
  db.dispatch(fn, db.isLmHead(op) ? "i8.lm_head" : StringRef(label),
              constant((nOut + kPanel - 1) / kPanel), bufs, {rows});
  return success();
}

bool isPacked(DispatchBuilder &db, FlatSymbolRefAttr weight) {
  return db.layout(weight.getValue()).panel != 0;
}

LogicalResult lowerFusedLinear(Operation *op, DispatchBuilder &db) {
  auto f = cast<FusedLinearOp>(op);
  if (isPacked(db, f.getWeightAttr()))
    return lowerPackedLinear(
        op, db, f.getWeightAttr(), f.getInput(),
        f.getNormEpsilon() ? std::optional(f.getNormEpsilon()->convertToDouble())
                           : std::nullopt,
        f.getGammaAttr(), f.getSwiglu(), f.getResidual(), f.getResult());
  WeightOperand w(db, f.getWeightAttr());
  int64_t kIn = w.l.cols, nOut = f.getType().getDimSize(1);
  bool swiglu = f.getSwiglu();
  Affine rows = db.rowsOf(op);
  NormedInput in = normedInput(db, op, f.getInput(), f.getNormEpsilon(),
                               f.getGammaAttr(), rows);
  std::optional<double> eps = in.eps;
  SmallVector<Buffer> bufs{in.x.readsRows(rows, kIn)};
  bufs.append(w.bufs);
  int resAt = -1;
  if (f.getResidual()) {
    resAt = bufs.size();
    bufs.push_back(db.activation(f.getResidual()).readsRows(rows, nOut));
  }
  int outAt = bufs.size();
  bufs.push_back((db.isLmHead(op) ? db.logits() : db.activation(f.getResult()))
                     .writesRows(rows, nOut));
  std::string key = w.key() + normKey(eps) + (swiglu ? "/swiglu" : "") +
                    (resAt >= 0 ? "/residual" : "");
  int64_t chunk = bufs[0].type.getDimSize(0);
  auto fn = db.kernel("fused_linear", key, bufs, 1, [&](KB &k, ValueRange a) {
    unsigned s = bufs.size();
    Value x = a[0], n = a[s];
    ValueRange wArgs = a.slice(1, w.bufs.size());
    Value inv = eps ? rmsPrologue(k, x, n, chunk, kIn, *eps) : Value();
    auto row = [&](Value t, Value j) {
      Value y = w.dot(k, wArgs, x, t, j);
      return inv ? k.mul(y, k.load(inv, {t})) : y;
    };
    featuresOuter(k, a[s + 1], a[s + 2], n, a[outAt], [&](Value t, Value j) {
      Value y = row(t, j);
      if (swiglu)
        y = k.mul(silu(k, y), row(t, k.iadd(j, k.idx(nOut))));
      if (resAt >= 0)
        y = k.add(y, k.load(a[resAt], {t, j}));
      return y;
    });
  });
  std::string label = std::string(eps ? "norm+" : "") +
                      (w.l.isInteger() ? "qlinear" : "linear") +
                      (swiglu ? "+swiglu" : "") + (resAt >= 0 ? "+add" : "");
  db.dispatch(fn, db.isLmHead(op) ? "lm_head" : StringRef(label),
              constant(nOut), bufs, {rows});
  return success();
}

LogicalResult lowerQKVRope(Operation *op, DispatchBuilder &db) {
  auto f = cast<QKVRopeOp>(op);
  WeightOperand w(db, f.getWeightAttr());
  int64_t heads = f.getNumHeads(), kvHeads = f.getNumKvHeads(),
          hd = f.getHeadDim(), half = hd / 2, kIn = w.l.cols;
  int64_t qDim = heads * hd, kvDim = kvHeads * hd;
  FailureOr<Affine> start = db.index(op, f.getStartPos());
  if (failed(start))
    return failure();
  RopeFrequencies rope =
      computeRope(hd, f.getTheta().convertToDouble(), f.getScalingAttr());
  auto tableTy = MemRefType::get({half}, Float32Type::get(op->getContext()));
  std::string tableName = db.constantTable("rope_inv_freq", rope.invFreq).str();

  // Packed weights: the input quantized (and normalized) by a dispatch of
  // its own; each head's rows then come from its panels into a tile.
  bool packed = isPacked(db, f.getWeightAttr());
  std::optional<double> eps;
  SmallVector<Buffer> bufs;
  if (packed) {
    std::optional<APFloat> e = f.getNormEpsilon();
    Buffer xq = quantizeRows(db, op, db.activation(f.getInput()),
                             e ? std::optional(e->convertToDouble()) : std::nullopt,
                             f.getGammaAttr(), nTokens);
    bufs.push_back(xq.reads(nTokens * quant::int8RowBytes(kIn)));
  } else {
    NormedInput in = normedInput(db, op, f.getInput(), f.getNormEpsilon(),
                                 f.getGammaAttr(), nTokens);
    eps = in.eps;
    bufs.push_back(in.x.readsRows(nTokens, kIn));
  }
  bufs.append(w.bufs);
  int outAt = bufs.size(), kvAt = outAt + 1;
  bufs.push_back(db.activation(f.getResult()).writesRows(nTokens, qDim));
  bufs.append(db.kvLayer(f.getLayer()).writes(nTokens));
  std::string key = w.key() + normKey(eps) + (packed ? "/p16" : "") + "/" +
                    std::to_string(heads) + "+" + std::to_string(kvHeads) + "x" +
                    std::to_string(hd) + "/" + tableName + "*" +
                    std::to_string(rope.attentionFactor) + kvKey(db.cache());
  int64_t chunk = bufs[outAt].type.getDimSize(0);
  std::optional<Panels> panels;
  if (packed)
    panels.emplace(db, f.getWeightAttr());
  auto fn = db.kernel("qkv_rope", key, bufs, 2, [&](KB &k, ValueRange a) {
    unsigned s = bufs.size();
    Value x = a[0], n = a[s], startPos = a[s + 1], begin = a[s + 2],
          end = a[s + 3], out = a[outAt];
    KVArgs kv = kvArgs(db, a, kvAt);
    // A K or V head's rows, computed for every token before the cache
    // takes them (an i8 cache quantizes a head at a time).
    Value head = k.b.create<memref::AllocaOp>(
        k.loc, MemRefType::get({chunk, hd}, k.b.getF32Type()));
    auto storeHeads = [&](int which, Value h) {
      k.loop(k.idx(0), n, 1, [&](Value t) {
        kv.storeHead(k, which, k.iadd(startPos, t), h, head, t, k.idx(0));
      });
    };
    ValueRange wArgs = a.slice(1, w.bufs.size());
    Value inv = eps ? rmsPrologue(k, x, n, chunk, kIn, *eps) : Value();
    // cos / sin of every (row, frequency) of the call, once.
    auto csTy = MemRefType::get({chunk, half}, k.b.getF32Type());
    Value cosT = k.b.create<memref::AllocaOp>(k.loc, csTy);
    Value sinT = k.b.create<memref::AllocaOp>(k.loc, csTy);
    Value freqs = k.b.create<memref::GetGlobalOp>(k.loc, tableTy, tableName);
    k.loop(k.idx(0), n, 1, [&](Value t) {
      Value posF = positionF32(k, k.iadd(startPos, t));
      k.loop(k.idx(0), k.idx(half), 1, [&](Value i) {
        std::pair<Value, Value> cs =
            rotation(k, posF, k.load(freqs, {i}), rope.attentionFactor);
        Value c = cs.first, sn = cs.second;
        k.store(c, cosT, {t, i});
        k.store(sn, sinT, {t, i});
      });
    });
    // Packed: the rows [base, base + head_dim) of the head being computed,
    // from its panels (fill(base) before the head's loops).
    Value headRows, headBase;
    if (packed)
      headRows = k.b.create<memref::AllocaOp>(
          k.loc, MemRefType::get({chunk, hd}, k.b.getF32Type()));
    auto fill = [&](Value base) {
      if (!packed)
        return;
      headBase = base;
      Value p0 = k.b.create<arith::DivUIOp>(k.loc, base, k.idx(kPanel));
      for (int64_t i = 0; i < hd / kPanel; ++i)
        panels->dot(db, k, x, n, wArgs, k.iadd(p0, k.idx(i)), headRows,
                    i * kPanel, hd);
    };
    auto row = [&](Value t, Value j) {
      if (packed)
        return k.load(headRows, {t, k.b.create<arith::SubIOp>(k.loc, j, headBase)});
      Value y = w.dot(k, wArgs, x, t, j);
      return inv ? k.mul(y, k.load(inv, {t})) : y;
    };
    auto minI = [&](Value p, int64_t c) {
      return k.b.create<arith::MinUIOp>(k.loc, p, k.idx(c)).getResult();
    };
    auto maxI = [&](Value p, int64_t c) {
      return k.b.create<arith::MaxUIOp>(k.loc, p, k.idx(c)).getResult();
    };
    // The grid is q heads, then k heads, then v heads; each iteration
    // computes one head's rows. Q and K pair row i with i + head_dim/2 for
    // the rotation.
    auto rotated = [&](Value head, int64_t firstRow, int64_t firstHead,
                       function_ref<void(Value, Value, Value)> store) {
      Value h = subIndex(k, head, firstHead);
      Value base = k.iadd(k.imul(h, k.idx(hd)), k.idx(firstRow));
      Value col = k.imul(h, k.idx(hd));
      fill(base);
      k.loop(k.idx(0), k.idx(half), 1, [&](Value i) {
        k.loop(k.idx(0), n, 1, [&](Value t) {
          Value x0 = row(t, k.iadd(base, i));
          Value x1 = row(t, k.iadd(k.iadd(base, i), k.idx(half)));
          Value c = k.load(cosT, {t, i}), sn = k.load(sinT, {t, i});
          Value c0 = k.iadd(col, i);
          store(t, c0, k.sub(k.mul(x0, c), k.mul(x1, sn)));
          store(t, k.iadd(c0, k.idx(half)), k.add(k.mul(x1, c), k.mul(x0, sn)));
        });
      });
    };
    k.loop(begin, minI(end, heads), 1, [&](Value head) {
      rotated(head, 0, 0, [&](Value t, Value c, Value y) { k.store(y, out, {t, c}); });
    });
    k.loop(maxI(begin, heads), minI(end, heads + kvHeads), 1, [&](Value g) {
      Value kh = subIndex(k, g, heads);
      // rotated() addresses head kh's columns of the row; the head buffer
      // holds that head alone.
      Value shift = k.imul(kh, k.idx(hd));
      rotated(g, qDim, heads, [&](Value t, Value c, Value y) {
        k.store(y, head, {t, k.b.create<arith::SubIOp>(k.loc, c, shift)});
      });
      storeHeads(0, kh);
    });
    k.loop(maxI(begin, heads + kvHeads), end, 1, [&](Value g) {
      Value vh = subIndex(k, g, heads + kvHeads);
      Value base = k.iadd(k.imul(vh, k.idx(hd)), k.idx(qDim + kvDim));
      fill(base);
      k.loop(k.idx(0), k.idx(hd), 1, [&](Value i) {
        k.loop(k.idx(0), n, 1, [&](Value t) {
          k.store(row(t, k.iadd(base, i)), head, {t, i});
        });
      });
      storeHeads(1, vh);
    });
  });
  db.dispatch(fn, packed ? "i8.qkv_rope" : eps ? "norm+qkv_rope" : "qkv_rope",
              constant(heads + 2 * kvHeads), bufs,
              {nTokens, *start});
  return success();
}

/// Elementwise ops: one kernel shape, a scalar function of the operands.
LogicalResult lowerElementwise(Operation *op, DispatchBuilder &db,
                               StringRef kind,
                               function_ref<Value(KB &, ValueRange)> fnBody) {
  Value result = op->getResult(0);
  int64_t d = cast<RankedTensorType>(result.getType()).getDimSize(1);
  SmallVector<Buffer> bufs;
  for (Value in : op->getOperands())
    bufs.push_back(db.activation(in).readsRows(nTokens, d));
  bufs.push_back(db.activation(result).writesRows(nTokens, d));
  unsigned nIn = op->getNumOperands();
  auto fn = db.kernel(kind, std::to_string(d), bufs, 0, [&](KB &k, ValueRange a) {
    k.loop(a[nIn + 1], a[nIn + 2], 1, [&](Value t) {
      k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
        SmallVector<Value> xs;
        for (unsigned j = 0; j < nIn; ++j)
          xs.push_back(k.load(a[j], {t, i}));
        k.store(fnBody(k, xs), a[nIn], {t, i});
      });
    });
  });
  db.dispatch(fn, kind, nTokens, bufs, {});
  return success();
}

} // namespace

void llmc::lowering::populateKernelPatterns(KernelPatterns &p) {
  p["arith.constant"] = lowerIndexConstant;
  for (StringRef name : {"arith.addi", "arith.subi", "arith.muli"})
    p[name] = lowerIndexArith;
  p["tensor.dim"] = lowerDim;
  p[EmbeddingOp::getOperationName()] = lowerEmbedding;
  p[QuantizedLinearOp::getOperationName()] = lowerQuantizedLinear;
  p[RMSNormOp::getOperationName()] = lowerRMSNorm;
  p[LinearOp::getOperationName()] = lowerLinear;
  p[RopeOp::getOperationName()] = lowerRope;
  p[KVWriteOp::getOperationName()] = lowerKVWrite;
  p[KVReadOp::getOperationName()] = lowerKVRead;
  p[AttentionOp::getOperationName()] = lowerAttention;
  p[FusedLinearOp::getOperationName()] = lowerFusedLinear;
  p[QKVRopeOp::getOperationName()] = lowerQKVRope;
  p[SwiGLUOp::getOperationName()] = [](Operation *op, DispatchBuilder &db) {
    return lowerElementwise(op, db, "swiglu", [](KB &k, ValueRange x) {
      return k.mul(silu(k, x[0]), x[1]);
    });
  };
  p[SiluOp::getOperationName()] = [](Operation *op, DispatchBuilder &db) {
    return lowerElementwise(op, db, "silu",
                            [](KB &k, ValueRange x) { return silu(k, x[0]); });
  };
  p[AddOp::getOperationName()] = [](Operation *op, DispatchBuilder &db) {
    return lowerElementwise(op, db, "add", [](KB &k, ValueRange x) {
      return k.add(x[0], x[1]);
    });
  };
  p[MulOp::getOperationName()] = [](Operation *op, DispatchBuilder &db) {
    return lowerElementwise(op, db, "mul", [](KB &k, ValueRange x) {
      return k.mul(x[0], x[1]);
    });
  };
}
