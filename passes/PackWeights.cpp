//===- PackWeights.cpp - integer weights in panels of 16 rows -------------===//
//
// The CPU's integer dot products (x86 vpdpbusd, ARM sdot) sum 4 byte
// products into each 32-bit lane: a vector of 16 lanes wants 4 codes from
// each of 16 output rows, side by side. Row-major codes would need a
// shuffle or a horizontal sum per row; packing at build time (llama.cpp
// repacks at load) makes every weight load feed the instruction directly.
// This pass only decides which weights pack: the packager writes the
// layout and the lowering picks the kernels by it.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace llmc {
#define GEN_PASS_DEF_LLMPACKWEIGHTS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

constexpr int64_t kPanel = llmc::quant::kPanel;

/// Whether `user` has a kernel over packed panels of its weight.
bool readsPanels(Operation *user) {
  if (isa<EmbeddingOp, QuantizedLinearOp>(user))
    return true;
  if (auto f = dyn_cast<FusedLinearOp>(user))
    // SwiGLU pairs output j with j + half: both must start a panel.
    return !f.getSwiglu() || f.getType().getDimSize(1) % kPanel == 0;
  if (auto q = dyn_cast<QKVRopeOp>(user))
    // Each head's rows are whole panels.
    return q.getHeadDim() % kPanel == 0;
  return false;
}

struct PackWeightsPass
    : public llmc::impl::LLMPackWeightsBase<PackWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto w : module.getOps<WeightOp>()) {
      if (w.getPacked())
        continue;
      // The packed layout (kept ggml codes take their packed forms there).
      llmc::quant::Layout l = w.getLayoutInPanels(kPanel);
      if (!l.isInteger() || w.getTensorType().getRank() != 2 || l.invalidReason())
        continue;
      std::optional<SymbolTable::UseRange> uses = w.getSymbolUses(module);
      if (!uses)
        continue;
      bool all = true, any = false;
      for (const SymbolTable::SymbolUse &use : *uses) {
        any = true;
        all &= readsPanels(use.getUser());
      }
      if (any && all)
        w.setPacked(kPanel);
    }
  }
};

} // namespace
