//===- PlanWeights.cpp - place every weight in the weights segment --------===//
//
// The artifact's weights segment is mmap'd as is, so where each weight lives
// is decided once, here: 64-byte aligned (a vector load never straddles a
// cache line at a row start), in declaration order, each taking the bytes of
// its layout (WeightOp::getLayout, dialects/llm/QuantLayout.h). The offset
// goes on the op (`at N`); the kernels bind it and the packager writes there.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

namespace llmc {
#define GEN_PASS_DEF_LLMPLANWEIGHTS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

struct PlanWeightsPass
    : public llmc::impl::LLMPlanWeightsBase<PlanWeightsPass> {
  void runOnOperation() override {
    int64_t top = 0;
    for (auto w : getOperation().getOps<WeightOp>()) {
      RankedTensorType t = w.getTensorType();
      llmc::quant::Layout l = w.getLayout();
      if (l.isInteger() && (t.getRank() != 2 || l.invalidReason())) {
        w.emitOpError() << "cannot lay out " << w.getQuantAttr() << " for "
                        << t << ": "
                        << (t.getRank() != 2 ? "not a matrix"
                                             : l.invalidReason());
        return signalPassFailure();
      }
      top = llmc::quant::alignUp(top);
      w.setSegmentOffset(top);
      top += l.totalBytes();
    }
  }
};

} // namespace
