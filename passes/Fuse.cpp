//===- Fuse.cpp - one kernel per step of a Llama layer --------------------===//
//
// Unfused, a layer is sixteen kernels and every one writes its activation to
// memory for the next to read back; on a phone GPU the launches and that
// traffic cost more than the arithmetic. This pass rewrites @forward so a
// decode step runs five kernels a layer (qkv_rope, attention, o_proj +
// residual, gate_up + SwiGLU, down_proj + residual), in four rewrites, in
// this order:
//
//   1. q/k/v linears + two ropes + kv_write  -> llm.qkv_rope
//   2. gate/up linears + swiglu              -> llm.fused_linear swiglu
//   3. linear + add                          -> llm.fused_linear residual
//   4. rms_norm into every linear it feeds   -> `norm` prologue
//
// Merged projections get one weight whose rows are the parts' (`then` on
// llm.weight); a norm's vector is folded into the weight's columns
// (`scaled_by`), which is free at run time, unless the weight is shared or
// copied from ggml blocks (a fold would re-quantize it): then it stays on
// the op as `gamma`. A rewrite that does not match exactly (a value with
// another user, weights with different formats) leaves the ops as they are.
// Runs after llm-quantize (which picks formats per original weight) and
// before the plan passes.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace llmc {
#define GEN_PASS_DEF_LLMFUSE
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

/// llm.linear and llm.quantized_linear, which differ only in their weight.
struct Linear {
  Operation *op = nullptr;
  Value input;
  FlatSymbolRefAttr weight;
  explicit operator bool() const { return op; }
};

Linear asLinear(Operation *op) {
  if (auto l = dyn_cast_or_null<LinearOp>(op))
    return {op, l.getInput(), l.getWeightAttr()};
  if (auto l = dyn_cast_or_null<QuantizedLinearOp>(op))
    return {op, l.getInput(), l.getWeightAttr()};
  return {};
}

/// A linear whose result has exactly one user.
Linear singleUseLinear(Value v) {
  Linear l = asLinear(v.getDefiningOp());
  return l && v.hasOneUse() ? l : Linear{};
}

class Fuser {
public:
  Fuser(ModuleOp module, func::FuncOp forward)
      : module(module), forward(forward), symbols(module) {}

  void run() {
    Block &body = forward.getBody().front();
    for (auto w : llvm::make_early_inc_range(body.getOps<KVWriteOp>()))
      fuseQKV(w);
    for (auto s : llvm::make_early_inc_range(body.getOps<SwiGLUOp>()))
      fuseGateUp(s);
    for (auto a : llvm::make_early_inc_range(body.getOps<AddOp>()))
      fuseResidual(a);
    for (auto n : llvm::make_early_inc_range(body.getOps<RMSNormOp>()))
      fuseNorm(n);
    // Weights the rewrites merged or folded away.
    for (WeightOp w : unused)
      if (SymbolTable::symbolKnownUseEmpty(w, module))
        w.erase();
  }

private:
  WeightOp weightOf(FlatSymbolRefAttr sym) {
    return symbols.lookup<WeightOp>(sym.getValue());
  }
  bool usedOnce(WeightOp w) {
    std::optional<SymbolTable::UseRange> uses = w.getSymbolUses(module);
    return uses && llvm::hasSingleElement(*uses);
  }

  /// One weight holding the rows of `parts` in order, or null when they
  /// cannot be merged: different formats, different row lengths, already
  /// transformed, or used elsewhere too (the original would stay and the
  /// artifact hold both).
  WeightOp mergeWeights(ArrayRef<FlatSymbolRefAttr> syms, StringRef suffix,
                        WeightRole role) {
    SmallVector<WeightOp> ws;
    for (FlatSymbolRefAttr s : syms) {
      WeightOp w = weightOf(s);
      if (!w || w.getTensorType().getRank() != 2 || w.getScaledByAttr() ||
          w.getThenAttr() || !usedOnce(w))
        return {};
      if (!ws.empty() &&
          (w.getQuantAttr() != ws[0].getQuantAttr() ||
           w.getTensorType().getDimSize(1) != ws[0].getTensorType().getDimSize(1) ||
           w.getTensorType().getElementType() !=
               ws[0].getTensorType().getElementType()))
        return {};
      ws.push_back(w);
    }
    int64_t rows = 0;
    SmallVector<Attribute> more;
    for (WeightOp w : ws) {
      rows += w.getTensorType().getDimSize(0);
      if (w != ws[0])
        more.push_back(w.getStorage());
    }
    // "model.layers.0.self_attn.q_proj.weight" -> "model.layers.0.self_attn."
    StringRef first = ws[0].getSymName();
    StringRef stem = first.rsplit('.').first.rsplit('.').first;
    std::string prefix = (stem == first ? first : stem).str() + ".";
    OpBuilder b(ws[0]);
    RankedTensorType t = ws[0].getTensorType();
    auto type = RankedTensorType::get({rows, t.getDimSize(1)}, t.getElementType());
    auto merged = b.create<WeightOp>(
        FusedLoc::get(b.getContext(),
                      llvm::map_to_vector(ws, [](WeightOp w) { return w.getLoc(); })),
        prefix + suffix.str(), type, ws[0].getStorage(), b.getArrayAttr(more),
        WeightStorageAttr(), ws[0].getQuantAttr(), IntegerAttr(),
        WeightRoleAttr::get(b.getContext(), role), /*packed=*/IntegerAttr());
    symbols.insert(merged); // renames on a clash
    unused.insert(ws.begin(), ws.end());
    return merged;
  }

  static FusedLoc fusedLoc(ArrayRef<Operation *> ops) {
    return cast<FusedLoc>(FusedLoc::get(
        ops.front()->getContext(),
        llvm::map_to_vector(ops, [](Operation *op) { return op->getLoc(); })));
  }

  /// kv_write(rope(k = linear(x)), v = linear(x)) with q = rope(linear(x)),
  /// at one position, becomes one llm.qkv_rope over [Wq; Wk; Wv].
  void fuseQKV(KVWriteOp write) {
    auto ropeK = write.getKeys().getDefiningOp<RopeOp>();
    if (!ropeK || !write.getKeys().hasOneUse())
      return;
    Linear k = singleUseLinear(ropeK.getInput());
    Linear v = singleUseLinear(write.getValues());
    if (!k || !v || k.input != v.input)
      return;
    // q: the other linear of x whose only user is a rope like k's.
    Value x = k.input;
    RopeOp ropeQ;
    Linear q;
    for (Operation *user : x.getUsers()) {
      Linear l = asLinear(user);
      if (!l || l.op == k.op || l.op == v.op || !user->getResult(0).hasOneUse())
        continue;
      auto r = dyn_cast<RopeOp>(*user->getResult(0).getUsers().begin());
      if (r && r.getStartPos() == write.getStartPos() &&
          r.getStartPos() == ropeK.getStartPos() &&
          r.getTheta() == ropeK.getTheta() &&
          r.getScalingAttr() == ropeK.getScalingAttr() &&
          r.getHeadDim() == ropeK.getHeadDim()) {
        ropeQ = r;
        q = l;
        break;
      }
    }
    if (!ropeQ)
      return;
    // The write moves up to the first projection: nothing in between may
    // touch the cache.
    SmallVector<Operation *> fused{q.op, k.op, v.op, ropeQ, ropeK, write};
    Operation *first = fused.front();
    for (Operation *op : fused)
      if (op->isBeforeInBlock(first))
        first = op;
    for (Operation *op = first; op != write; op = op->getNextNode())
      if (!llvm::is_contained(fused, op) && !isPure(op))
        return;
    if (auto def = write.getStartPos().getDefiningOp();
        def && !def->isBeforeInBlock(first))
      return;
    WeightOp merged = mergeWeights({q.weight, k.weight, v.weight}, "qkv_proj.weight",
                                   WeightRole::attn_qkv);
    if (!merged)
      return;
    OpBuilder b(first);
    auto op = b.create<QKVRopeOp>(
        fusedLoc(fused), ropeQ.getType(), x, write.getCache(),
        write.getStartPos(), FlatSymbolRefAttr::get(merged.getSymNameAttr()),
        FloatAttr(), FlatSymbolRefAttr(), write.getLayerAttr(),
        ropeQ.getNumHeadsAttr(), ropeK.getNumHeadsAttr(),
        ropeQ.getHeadDimAttr(), ropeQ.getThetaAttr(),
        ropeQ.getScalingAttr());
    ropeQ.replaceAllUsesWith(op.getResult());
    write.erase();
    ropeQ.erase();
    ropeK.erase();
    q.op->erase();
    k.op->erase();
    v.op->erase();
  }

  /// swiglu(linear(x, Wg), linear(x, Wu)) -> fused_linear(x, [Wg; Wu]) swiglu.
  void fuseGateUp(SwiGLUOp s) {
    Linear g = singleUseLinear(s.getGate());
    Linear u = singleUseLinear(s.getUp());
    if (!g || !u || g.input != u.input)
      return;
    WeightOp merged = mergeWeights({g.weight, u.weight}, "gate_up_proj.weight",
                                   WeightRole::mlp_gate_up);
    if (!merged)
      return;
    OpBuilder b(s);
    auto op = b.create<FusedLinearOp>(
        fusedLoc({g.op, u.op, s}), s.getType(), g.input, Value(),
        FlatSymbolRefAttr::get(merged.getSymNameAttr()), FloatAttr(),
        FlatSymbolRefAttr(), b.getUnitAttr());
    s.replaceAllUsesWith(op.getResult());
    s.erase();
    g.op->erase();
    u.op->erase();
  }

  /// add(r, linear(x)) -> fused_linear(x) residual(r), for a linear (plain
  /// or fused, without a residual yet) that only feeds the add.
  void fuseResidual(AddOp add) {
    for (unsigned i : {1u, 0u}) {
      Value y = add->getOperand(i), r = add->getOperand(1 - i);
      if (!y.hasOneUse() || y == r)
        continue;
      OpBuilder b(add);
      Location loc = fusedLoc({y.getDefiningOp(), add});
      FusedLinearOp op;
      if (Linear l = asLinear(y.getDefiningOp())) {
        op = b.create<FusedLinearOp>(loc, add.getType(), l.input, r, l.weight,
                                     FloatAttr(), FlatSymbolRefAttr(), UnitAttr());
      } else if (auto f = y.getDefiningOp<FusedLinearOp>(); f && !f.getResidual()) {
        op = b.create<FusedLinearOp>(loc, add.getType(), f.getInput(), r,
                                     f.getWeightAttr(), f.getNormEpsilonAttr(),
                                     f.getGammaAttr(), f.getSwigluAttr());
      } else {
        continue;
      }
      Operation *producer = y.getDefiningOp();
      add.replaceAllUsesWith(op.getResult());
      add.erase();
      producer->erase();
      return;
    }
  }

  /// rms_norm(h, g) feeding only linears -> each normalises h itself.
  void fuseNorm(RMSNormOp norm) {
    Value n = norm.getResult();
    if (n.use_empty())
      return;
    for (OpOperand &use : n.getUses()) {
      Operation *user = use.getOwner();
      bool asInput = use.getOperandNumber() == 0;
      bool ok = asLinear(user) ||
                (isa<FusedLinearOp>(user) &&
                 !cast<FusedLinearOp>(user).getNormEpsilon()) ||
                (isa<QKVRopeOp>(user) && !cast<QKVRopeOp>(user).getNormEpsilon());
      if (!asInput || !ok)
        return;
    }
    WeightOp gammaWeight = weightOf(norm.getWeightAttr());
    if (!gammaWeight || gammaWeight.getThenAttr() || gammaWeight.getScaledByAttr())
      return;
    FloatAttr eps = norm.getEpsilonAttr();
    for (Operation *user : llvm::make_early_inc_range(n.getUsers())) {
      FlatSymbolRefAttr wsym = isa<QKVRopeOp>(user)
                                   ? cast<QKVRopeOp>(user).getWeightAttr()
                               : isa<FusedLinearOp>(user)
                                   ? cast<FusedLinearOp>(user).getWeightAttr()
                                   : asLinear(user).weight;
      WeightOp w = weightOf(wsym);
      // Fold the vector into the weight's columns when the weight is this
      // op's alone and its values are re-encoded anyway.
      FlatSymbolRefAttr gamma = norm.getWeightAttr();
      if (w && !w.getScaledByAttr() && usedOnce(w) && !w.copiesSourceBlocks()) {
        w.setScaledByAttr(gammaWeight.getStorage());
        gamma = FlatSymbolRefAttr();
      }
      OpBuilder b(user);
      Location loc = fusedLoc({norm, user});
      if (auto q = dyn_cast<QKVRopeOp>(user)) {
        q.getInputMutable().assign(norm.getInput());
        q.setNormEpsilonAttr(eps);
        q.setGammaAttr(gamma);
        q->setLoc(loc);
      } else if (auto f = dyn_cast<FusedLinearOp>(user)) {
        f.getInputMutable().assign(norm.getInput());
        f.setNormEpsilonAttr(eps);
        f.setGammaAttr(gamma);
        f->setLoc(loc);
      } else {
        Linear l = asLinear(user);
        auto op = b.create<FusedLinearOp>(loc, user->getResult(0).getType(),
                                          norm.getInput(), Value(), l.weight,
                                          eps, gamma, UnitAttr());
        user->replaceAllUsesWith(op);
        user->erase();
      }
    }
    unused.insert(gammaWeight);
    norm.erase();
  }

  ModuleOp module;
  func::FuncOp forward;
  SymbolTable symbols;
  llvm::SetVector<WeightOp> unused;
};

struct FusePass : public llmc::impl::LLMFuseBase<FusePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getBody().getBlocks().size() != 1) {
      module.emitError()
          << "expected an llm model (run -llm-verify-model for details)";
      return signalPassFailure();
    }
    Fuser(module, forward).run();
  }
};

} // namespace
