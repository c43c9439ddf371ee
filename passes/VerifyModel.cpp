//===- VerifyModel.cpp - check a module is a complete llm model -----------===//
//
// Op verifiers see one op; a model can still be incomplete (no entry point,
// a cache type that disagrees with the config, orphan weights left by a
// half-finished rewrite). Catching that here gives the user an error naming
// the problem instead of a failure deep in code generation.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"

namespace llmc {
#define GEN_PASS_DEF_LLMVERIFYMODEL
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {
struct VerifyModelPass
    : public llmc::impl::LLMVerifyModelBase<VerifyModelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto config = getModelConfig(module);
    if (!config) {
      module.emitError() << "module has no '" << LLMDialect::kConfigAttrName
                         << "' attribute";
      return signalPassFailure();
    }
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError() << "module has no 'func.func @forward'";
      return signalPassFailure();
    }
    if (failed(verifyForward(forward, config)))
      return signalPassFailure();

    llvm::StringSet<> used;
    module.walk([&](Operation *op) {
      for (NamedAttribute attr : op->getAttrs())
        if (auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue()))
          used.insert(ref.getValue());
    });
    for (auto weight : module.getOps<WeightOp>())
      if (!used.contains(weight.getSymName())) {
        weight.emitError() << "weight @" << weight.getSymName()
                           << " is never used";
        signalPassFailure();
      }
  }

  LogicalResult verifyForward(func::FuncOp forward, ModelConfigAttr config) {
    FunctionType type = forward.getFunctionType();
    auto fail = [&]() {
      return forward.emitError()
             << "@forward must have type (tensor<?xi32>, index, "
                "!llm.kv_cache<...>) -> tensor<?x"
             << config.getVocabSize() << "xf32>, got " << type;
    };
    if (type.getNumInputs() != 3 || type.getNumResults() != 1)
      return fail();
    auto tokens = dyn_cast<RankedTensorType>(type.getInput(0));
    auto cache = dyn_cast<KVCacheType>(type.getInput(2));
    auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
    if (!tokens || tokens.getRank() != 1 ||
        !tokens.getElementType().isInteger(32) ||
        !type.getInput(1).isIndex() || !cache || !logits ||
        logits.getRank() != 2 ||
        logits.getDimSize(1) != config.getVocabSize())
      return fail();
    if (cache.getNumLayers() != config.getNumLayers() ||
        cache.getNumKvHeads() != config.getNumKvHeads() ||
        cache.getHeadDim() != config.getHeadDim() ||
        cache.getMaxContext() != config.getMaxContext())
      return forward.emitError()
             << "KV cache type " << cache
             << " disagrees with the model configuration";
    return success();
  }
};
} // namespace
