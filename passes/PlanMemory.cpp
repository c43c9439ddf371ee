//===- PlanMemory.cpp - one arena for every activation, sized now ---------===//
//
// A phone runtime should allocate once per context and never again. Every
// activation of @forward is a [prefill_chunk, features] buffer (f32, or f16
// where the build asks for half-precision activations), so a
// linear scan over the ops in schedule order can give each one an arena
// slot and hand the slot back after its last use (first fit over a merged
// free list); a fused op whose norm keeps its vector gets a normalised
// copy of its input as scratch for the length of its own op, and a
// residual epilogue writes over its residual. The slots go on the ops that
// produce the values (`llm.slot`, `llm.scratch`), the sizes into
// `llm.plan`; llm-lower-to-kernels turns them into bindings.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>

namespace llmc {
#define GEN_PASS_DEF_LLMPLANMEMORY
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;
using llmc::quant::alignUp;

namespace {

/// First-fit allocator over the arena; freed ranges are merged.
class ArenaPlanner {
public:
  int64_t allocate(int64_t size) {
    size = alignUp(size);
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (it->second < size)
        continue;
      int64_t off = it->first;
      int64_t rest = it->second - size;
      free.erase(it);
      if (rest)
        free.insert({off + size, rest});
      return off;
    }
    // Grow: extend a free block touching the end, if any.
    if (!free.empty()) {
      auto last = std::prev(free.end());
      if (last->first + last->second == top) {
        int64_t off = last->first;
        free.erase(last);
        top = off + size;
        return off;
      }
    }
    int64_t off = top;
    top += size;
    return off;
  }
  void release(int64_t off, int64_t size) {
    size = alignUp(size);
    auto it = free.insert({off, size}).first;
    // Merge with the next and previous free ranges.
    auto next = std::next(it);
    if (next != free.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free.erase(next);
    }
    if (it != free.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free.erase(it);
      }
    }
  }
  int64_t size() const { return top; }

private:
  std::map<int64_t, int64_t> free; // offset -> size
  int64_t top = 0;
};

/// Bytes of scratch `op` needs while it runs (0: none).
int64_t scratchBytes(Operation &op, int64_t chunk) {
  FlatSymbolRefAttr gamma, weight;
  if (auto f = dyn_cast<FusedLinearOp>(op)) {
    gamma = f.getGammaAttr();
    weight = f.getWeightAttr();
  } else if (auto q = dyn_cast<QKVRopeOp>(op)) {
    gamma = q.getGammaAttr();
    weight = q.getWeightAttr();
  } else if (auto ql = dyn_cast<QuantizedLinearOp>(op)) {
    weight = ql.getWeightAttr();
  }
  // Packed weights: the input's rows quantized to int8 (with the norm,
  // gamma included) by a dispatch of their own, read by the panels' kernel.
  if (weight)
    if (auto w = SymbolTable::lookupNearestSymbolFrom<WeightOp>(&op, weight))
      if (w.getPacked())
        return chunk * llmc::quant::int8RowBytes(w.getTensorType().getDimSize(1));
  if (gamma)
    return chunk * cast<RankedTensorType>(op.getOperand(0).getType()).getDimSize(1) * 4;
  if (auto attn = dyn_cast<AttentionOp>(op))
    if (int64_t splits = attn.getKvSplits().value_or(1); splits > 1)
      return splits * chunk * attn.getNumHeads() * (attn.getHeadDim() + 2) * 4;
  return 0;
}

struct PlanMemoryPass : public llmc::impl::LLMPlanMemoryBase<PlanMemoryPass> {
  using LLMPlanMemoryBase::LLMPlanMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!getModelConfig(module) || !forward || forward.getNumArguments() != 3 ||
        !isa<KVCacheType>(forward.getArgument(2).getType())) {
      module.emitError()
          << "expected an llm model (run -llm-verify-model for details)";
      return signalPassFailure();
    }
    const int64_t chunk = prefillChunk;
    if (chunk <= 0) {
      module.emitError() << "prefill chunk must be positive, got " << chunk;
      return signalPassFailure();
    }
    Type actType;
    if (activations == "f16")
      actType = Float16Type::get(module.getContext());
    else if (activations != "f32") {
      module.emitError() << "activations must be f32 or f16, got '"
                         << activations << "'";
      return signalPassFailure();
    }
    const int64_t actBytes = actType ? 2 : 4;
    auto cache = cast<KVCacheType>(forward.getArgument(2).getType());
    OpBuilder b(module.getContext());

    // The weights segment ends after the last placed weight.
    int64_t weightsSize = 0;
    for (auto w : module.getOps<WeightOp>()) {
      std::optional<int64_t> at = w.getSegmentOffset();
      if (!at) {
        w.emitOpError() << "is not placed (run --llm-plan-weights first)";
        return signalPassFailure();
      }
      weightsSize = std::max(weightsSize, *at + w.getLayout().totalBytes());
    }
    weightsSize = alignUp(weightsSize);

    // Activations: last use of every value in schedule order.
    DenseMap<Value, Operation *> lastUse;
    Block &body = forward.getBody().front();
    for (Operation &op : body)
      for (Value operand : op.getOperands())
        lastUse[operand] = &op;

    ArenaPlanner arena;
    DenseMap<Value, std::pair<int64_t, int64_t>> slots; // value -> (off, bytes)
    for (Operation &op : body) {
      // kv_read's results are views of the KV cache: attention reads it in
      // place, so they take no arena.
      for (Value result : isa<KVReadOp>(op) ? ValueRange() : op.getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type || type.getRank() != 2)
          continue;
        if (!type.getElementType().isF32()) {
          op.emitOpError() << "only f32 activations are lowered, got " << type;
          return signalPassFailure();
        }
        if (!ShapedType::isDynamic(type.getDimSize(0)) &&
            type.getDimSize(0) > chunk) {
          op.emitOpError() << "has " << type.getDimSize(0)
                           << " rows, more than the prefill chunk " << chunk;
          return signalPassFailure();
        }
        // The logits are written straight into the caller's buffer.
        if (isa<func::ReturnOp>(lastUse.lookup(result)))
          continue;
        if (op.getNumResults() != 1) {
          op.emitOpError() << "has several activation results; the memory "
                              "plan marks one slot per op";
          return signalPassFailure();
        }
        int64_t bytes = chunk * type.getDimSize(1) * actBytes;
        // A residual epilogue reads r[t, j] and writes out[t, j], nothing
        // else of r: when r dies here the result takes its slot, so the
        // hidden state stays in one buffer through the layers.
        if (auto f = dyn_cast<FusedLinearOp>(op); f && f.getResidual() &&
                                                  lastUse.lookup(f.getResidual()) == &op &&
                                                  f.getResidual() != f.getInput()) {
          auto it = slots.find(f.getResidual());
          if (it != slots.end() && it->second.second == bytes) {
            // Copy before inserting: an insertion may move the map's entries.
            std::pair<int64_t, int64_t> slot = it->second;
            slots.erase(it);
            slots[result] = slot;
            op.setAttr("llm.slot", b.getI64IntegerAttr(slot.first));
            continue;
          }
        }
        int64_t off = arena.allocate(bytes);
        slots[result] = {off, bytes};
        op.setAttr("llm.slot", b.getI64IntegerAttr(off));
      }
      // Scratch for the length of the op: a fused op whose norm keeps its
      // vector (gamma) normalises its input there first (KernelPatterns.cpp,
      // normedInput); attention split in position ranges writes its
      // partials there.
      if (int64_t bytes = scratchBytes(op, chunk)) {
        int64_t off = arena.allocate(bytes);
        op.setAttr("llm.scratch", b.getI64IntegerAttr(off));
        arena.release(off, bytes);
      }
      for (Value operand : op.getOperands())
        if (lastUse.lookup(operand) == &op) {
          auto it = slots.find(operand);
          if (it != slots.end())
            arena.release(it->second.first, it->second.second);
        }
    }
    int64_t arenaSize = std::max<int64_t>(alignUp(arena.size()), 64);
    module->setAttr("llm.plan",
                    PlanAttr::get(module.getContext(), chunk, arenaSize,
                                  weightsSize, cache.getBytes(), actType));
  }
};

} // namespace
