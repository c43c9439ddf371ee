//===- TileKV.cpp - the KV cache's element type, attention's tile ---------===//
//
// At long contexts decode reads more KV cache than weights (a 1B model at
// 4096 positions: 256 MB of f32 cache per token against 1.3 GB of q8
// weights), so its element type is a first-order choice: f16 halves it, q8
// quarters it. The attention kernel walks the cache in tiles with an online
// softmax; the tile is sized so one KV head's keys and values of a tile stay
// in L1 while every query head of its group reads them. Both are decisions
// about the cache, made here once for every target; the kernels follow the
// type (KernelPatterns.cpp) and the runtime sizes the buffer from it.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_LLMTILEKV
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

struct TileKVPass : public llmc::impl::LLMTileKVBase<TileKVPass> {
  using LLMTileKVBase::LLMTileKVBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getNumArguments() != 3 ||
        !isa<KVCacheType>(forward.getArgument(2).getType())) {
      module.emitError()
          << "expected an llm model (run -llm-verify-model for details)";
      return signalPassFailure();
    }
    std::optional<DType> dt = dtype == "f32"  ? std::optional(DType::f32)
                              : dtype == "f16" ? std::optional(DType::f16)
                              : dtype == "q8"  ? std::optional(DType::i8)
                                               : std::nullopt;
    if (!dt) {
      module.emitError() << "unknown KV cache type '" << dtype
                         << "'; expected f32, f16 or q8";
      return signalPassFailure();
    }
    if (tile < 0 || splits < 0) {
      module.emitError() << "KV tile and splits must be positive, got "
                         << tile << " and " << splits;
      return signalPassFailure();
    }
    // The cache is @forward's argument: its uses see the new type.
    BlockArgument arg = forward.getArgument(2);
    auto old = cast<KVCacheType>(arg.getType());
    auto type = KVCacheType::get(module.getContext(), old.getNumLayers(),
                                 old.getNumKvHeads(), old.getHeadDim(),
                                 old.getMaxContext(), *dt);
    arg.setType(type);
    SmallVector<Type> inputs(forward.getArgumentTypes());
    inputs[2] = type;
    forward.setType(FunctionType::get(module.getContext(), inputs,
                                      forward.getResultTypes()));
    OpBuilder b(module.getContext());
    forward.walk([&](AttentionOp a) {
      if (tile > 0)
        a.setKvTileAttr(b.getI64IntegerAttr(tile));
      if (splits > 0)
        a.setKvSplitsAttr(b.getI64IntegerAttr(splits));
    });
  }
};

} // namespace
