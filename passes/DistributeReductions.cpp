//===- DistributeReductions.cpp - a matrix row per group of GPU lanes -----===//
//
// The target-neutral kernels give each iteration (an output row, or a head
// of rows for qkv_rope) one whole
// dot product: right for a CPU thread, wrong for a GPU, where one
// work-item per row leaves most lanes idle at decode and makes neighbouring
// lanes read addresses a row apart (no coalescing). This pass gives each
// row L lanes: the outermost sum loops (accumulators that start at zero and
// end in an `add` reduction) stride by L, so lane l reads the l-th chunk of
// every L consecutive ones (neighbouring lanes, neighbouring bytes), and the
// partial sums meet in `llm.lane_sum`. The grid grows by L; stores to
// bindings are left to lane 0, since every lane holds the same result.
// Only the matrix-vector kernels (linears, lm_head, qkv_rope) change; the
// others keep one work-item per iteration.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace llmc {
#define GEN_PASS_DEF_LLMDISTRIBUTEREDUCTIONS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

/// The dispatch labels of matrix-vector kernels ("linear", "norm+linear+
/// swiglu", "lm_head", "norm+qkv_rope", ...).
bool isMatVecLabel(StringRef label) {
  return label.contains("linear") || label.contains("lm_head") ||
         label.contains("qkv_rope");
}

bool isZero(Value v) {
  Attribute a;
  if (!matchPattern(v, m_Constant(&a)))
    return false;
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValue().isZero();
  if (auto d = dyn_cast<DenseFPElementsAttr>(a))
    return d.isSplat() && d.getSplatValue<APFloat>().isZero();
  return false;
}

/// The scalar sums a sum loop's results end in: the results and the
/// `arith.addf`s that combine only them form a closed set whose other uses
/// are `vector.reduction <add>`s; their results are the sums. Empty if a
/// value of the set goes anywhere else, or an addf mixes in a value from
/// outside (which the lanes would each add once).
SmallVector<Value> finalSums(scf::ForOp loop) {
  llvm::SetVector<Value> set;
  for (Value r : loop.getResults()) {
    if (!isa<VectorType>(r.getType()))
      return {};
    set.insert(r);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < set.size(); ++i)
      for (Operation *user : set[i].getUsers())
        if (auto add = dyn_cast<arith::AddFOp>(user))
          if (set.contains(add.getLhs()) && set.contains(add.getRhs()))
            changed |= set.insert(add.getResult());
  }
  SmallVector<Value> sums;
  for (Value v : set)
    for (Operation *user : v.getUsers()) {
      if (auto add = dyn_cast<arith::AddFOp>(user)) {
        if (!set.contains(add.getResult()))
          return {};
      } else if (auto r = dyn_cast<vector::ReductionOp>(user)) {
        if (r.getKind() != vector::CombiningKind::ADD || r.getAcc())
          return {};
        if (!llvm::is_contained(sums, r.getResult()))
          sums.push_back(r.getResult());
      } else {
        return {};
      }
    }
  return sums;
}

/// A loop whose iteration arguments are sums: they start at zero, the body
/// only accumulates into them (no stores), and they end in add reductions.
bool isSumLoop(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() == 0)
    return false;
  for (Value init : loop.getInitArgs())
    if (!isZero(init))
      return false;
  bool stores = false;
  loop.getBody()->walk([&](Operation *op) {
    stores |= isa<memref::StoreOp, vector::StoreOp, LaneSumOp>(op);
  });
  return !stores && !finalSums(loop).empty();
}

/// Moves into lane 0's `guard` what only its store needs: the loads and
/// arithmetic of an epilogue. Loads matter: a residual epilogue reads r[t, j]
/// and writes out[t, j] over the same bytes (llm-plan-memory gives the
/// result its residual's slot), so a lane other than 0 reading r while
/// lane 0 writes it is a data race, benign on hardware but undefined in the
/// memory model (Oclgrind reports it). Walks back from the guard; a load
/// moves only while no op with side effects lies between it and the guard.
void sinkIntoGuard(scf::IfOp guard) {
  Block *then = guard.thenBlock();
  bool crossedEffects = false;
  for (Operation *op = guard->getPrevNode(); op;) {
    Operation *prev = op->getPrevNode();
    bool isLoad = isa<memref::LoadOp, vector::LoadOp>(op);
    bool movable = op->getNumRegions() == 0 && op->getNumResults() > 0 &&
                   !isa<LaneSumOp>(op) &&
                   (isLoad ? !crossedEffects : isMemoryEffectFree(op));
    if (movable)
      for (Operation *user : op->getUsers())
        movable &= guard->isAncestor(user);
    if (movable)
      op->moveBefore(&then->front());
    else if (!isMemoryEffectFree(op))
      crossedEffects = true;
    op = prev;
  }
}

struct DistributeReductionsPass
    : public llmc::impl::LLMDistributeReductionsBase<DistributeReductionsPass> {
  using LLMDistributeReductionsBase::LLMDistributeReductionsBase;

  /// Rewrites `fn` for `lanes` lanes a row; false (fn untouched) when its
  /// shape is not the one this pass knows.
  bool distribute(func::FuncOp fn) {
    Block &entry = fn.getBody().front();
    unsigned n = fn.getNumArguments();
    if (n < 2)
      return false;
    Value begin = entry.getArgument(n - 2), end = entry.getArgument(n - 1);
    // The outermost sum loops: not nested in another one.
    SmallVector<scf::ForOp> sumLoops;
    fn.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (isSumLoop(loop)) {
        sumLoops.push_back(loop);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    if (sumLoops.empty())
      return false;

    // Iteration i = row * L + lane: the body, whatever loops it runs over
    // its range, now sees rows [begin / L, ceil(end / L)) in place of
    // [begin, end), and the lane is that of `begin` (GPUs run one iteration
    // per work-item, so all of an invocation's iterations share it).
    OpBuilder b(&entry, entry.begin());
    Location loc = fn.getLoc();
    Value L = b.create<arith::ConstantIndexOp>(loc, lanes);
    Value Lm1 = b.create<arith::ConstantIndexOp>(loc, lanes - 1);
    Value lane = b.create<arith::RemUIOp>(loc, begin, L);
    Value rowBegin = b.create<arith::DivUIOp>(loc, begin, L);
    Value rowEnd = b.create<arith::DivUIOp>(
        loc, b.create<arith::AddIOp>(loc, end, Lm1), L);
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value isLane0 =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero);
    llvm::SmallPtrSet<Operation *, 4> laneMath = {
        lane.getDefiningOp(), rowBegin.getDefiningOp(),
        rowEnd.getDefiningOp()->getOperand(0).getDefiningOp()};
    begin.replaceAllUsesExcept(rowBegin, laneMath);
    end.replaceAllUsesExcept(rowEnd, laneMath);

    for (scf::ForOp loop : sumLoops) {
      SmallVector<Value> sums = finalSums(loop);
      OpBuilder lb(loop);
      Value offset = lb.create<arith::MulIOp>(loc, lane, loop.getStep());
      loop.getLowerBoundMutable().assign(
          lb.create<arith::AddIOp>(loc, loop.getLowerBound(), offset));
      loop.getStepMutable().assign(
          lb.create<arith::MulIOp>(loc, loop.getStep(), L));
      for (Value s : sums) {
        OpBuilder sb(s.getContext());
        sb.setInsertionPointAfterValue(s);
        auto total = sb.create<LaneSumOp>(loc, s);
        s.replaceAllUsesExcept(total, total);
      }
    }

    // Every lane computes the same results; lane 0 writes them.
    SmallVector<Operation *> stores;
    fn.walk([&](Operation *op) {
      Value m;
      if (auto s = dyn_cast<memref::StoreOp>(op))
        m = s.getMemref();
      else if (auto s = dyn_cast<vector::StoreOp>(op))
        m = s.getBase();
      if (m && isa<BlockArgument>(m) &&
          cast<BlockArgument>(m).getOwner() == &entry)
        stores.push_back(op);
    });
    for (Operation *op : stores) {
      OpBuilder sb(op);
      auto guard = sb.create<scf::IfOp>(op->getLoc(), isLane0, false);
      op->moveBefore(guard.thenBlock()->getTerminator());
      sinkIntoGuard(guard);
    }
    fn->setAttr("llm.lanes", b.getI64IntegerAttr(lanes));
    return true;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (lanes < 1) {
      module.emitError("llm-distribute-reductions: lanes must be >= 1");
      return signalPassFailure();
    }
    if (lanes == 1)
      return;
    // A kernel is distributed when every dispatch of it is a mat-vec.
    llvm::StringMap<bool> eligible;
    llvm::SetVector<StringRef> order;
    module.walk([&](DispatchOp d) {
      auto [it, inserted] = eligible.try_emplace(d.getKernel(), true);
      it->second &= isMatVecLabel(d.getLabel());
      order.insert(d.getKernel());
    });
    llvm::StringMap<bool> done;
    for (StringRef name : order) {
      auto fn = module.lookupSymbol<func::FuncOp>(name);
      if (!eligible[name] || !fn || fn.isExternal() || fn->hasAttr("llm.lanes"))
        continue;
      done[name] = distribute(fn);
    }
    module.walk([&](DispatchOp d) {
      auto it = done.find(d.getKernel());
      if (it == done.end() || !it->second)
        return;
      ScalarAttr g = d.getGrid();
      d.setGridAttr(ScalarAttr::get(d.getContext(), g.getC() * lanes,
                                    g.getNTokens() * lanes, g.getStartPos() * lanes,
                                    g.getLogitRows() * lanes));
    });
  }
};

} // namespace
