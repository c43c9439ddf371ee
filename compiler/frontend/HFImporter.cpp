//===- HFImporter.cpp - Hugging Face Llama 3 checkpoint -> llm ------------===//
//
// Reads config.json, opens the safetensors files (headers only; data stays
// mapped and untouched), checks that the tensors are exactly those of a
// Llama 3 model of that config, and emits one `llm.weight` per tensor plus
// the `@forward` function of the model.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/HFImporter.h"

#include "compiler/frontend/HFConfig.h"
#include "compiler/frontend/LlamaGraph.h"
#include "compiler/frontend/Safetensors.h"
#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace llmc {
namespace {

/// The #llm.rope_scaling of a config.json (null: the default rope), checked.
FailureOr<llm::RopeScalingAttr>
ropeScalingAttr(MLIRContext &ctx, const LlamaConfig &c,
                function_ref<InFlightDiagnostic()> emitError) {
  if (!c.ropeScaling)
    return llm::RopeScalingAttr();
  const LlamaRopeScaling &s = *c.ropeScaling;
  using Type = LlamaRopeScaling::Type;
  llm::RopeType type = s.type == Type::Llama3   ? llm::RopeType::llama3
                       : s.type == Type::Linear ? llm::RopeType::linear
                       : s.type == Type::Dynamic ? llm::RopeType::dynamic
                                                 : llm::RopeType::yarn;
  auto attr = llm::RopeScalingAttr::getChecked(
      emitError, &ctx, type, llvm::APFloat(s.factor),
      llvm::APFloat(s.lowFreqFactor), llvm::APFloat(s.highFreqFactor),
      s.originalMaxPositionEmbeddings, llvm::APFloat(s.attentionFactor),
      llvm::APFloat(s.betaFast), llvm::APFloat(s.betaSlow), s.truncate);
  if (!attr)
    return failure();
  return attr;
}

/// The graph's shape from a config.json.
LlamaGraphShape graphShape(const LlamaConfig &c, int64_t maxContext,
                           llm::RopeScalingAttr ropeScaling) {
  LlamaGraphShape shape;
  shape.hidden = c.hiddenSize;
  shape.ffn = c.intermediateSize;
  shape.layers = c.numLayers;
  shape.heads = c.numHeads;
  shape.kvHeads = c.numKvHeads;
  shape.headDim = c.headDim;
  shape.vocab = c.vocabSize;
  shape.maxContext = maxContext;
  shape.rmsNormEps = c.rmsNormEps;
  shape.ropeTheta = c.ropeTheta;
  shape.tiedEmbeddings = c.tieWordEmbeddings;
  shape.ropeScaling = ropeScaling;
  return shape;
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class Importer {
public:
  Importer(MLIRContext &ctx, StringRef dir, const ImportOptions &options)
      : ctx(ctx), dir(dir), options(options), b(&ctx) {}

  OwningOpRef<ModuleOp> run();

private:
  Location fileLoc(StringRef path) {
    return FileLineColLoc::get(&ctx, path, 0, 0);
  }
  Location tensorLoc(const TensorInfo &t) {
    return NameLoc::get(b.getStringAttr(t.name), fileLoc(t.file));
  }
  LogicalResult fail(Location loc, const Twine &msg) {
    emitError(loc) << msg;
    return failure();
  }
  LogicalResult checkTensors(const LlamaConfig &c, const Checkpoint &ckpt);
  void emitWeights(const LlamaConfig &c, const Checkpoint &ckpt);
  void emitForward(const LlamaConfig &c, int64_t maxContext,
                   llm::RopeScalingAttr ropeScaling);

  MLIRContext &ctx;
  std::string dir;
  ImportOptions options;
  OpBuilder b;
  ModuleOp module;
};

LogicalResult Importer::checkTensors(const LlamaConfig &c,
                                     const Checkpoint &ckpt) {
  std::vector<LlamaWeight> expected =
      llamaWeights(graphShape(c, c.maxPositionEmbeddings, {}));
  llvm::StringMap<const LlamaWeight *> byName;
  for (const LlamaWeight &e : expected)
    byName[e.name] = &e;

  // Unknown tensors first: a bias or an expert tensor explains the missing
  // ones better than "missing tensor" would.
  for (const TensorInfo *t : ckpt.tensors()) {
    StringRef name = t->name;
    if (byName.count(name))
      continue;
    if (name.ends_with(".bias"))
      return fail(tensorLoc(*t), "tensor '" + name +
                                     "' is a bias: Llama 3 has no biases and "
                                     "llmc does not compile them");
    // Tied checkpoints sometimes also store the (identical) lm_head, and old
    // conversions store rotary inverse frequencies: both are derived data.
    if ((c.tieWordEmbeddings && name == "lm_head.weight") ||
        name.ends_with("rotary_emb.inv_freq"))
      continue;
    return fail(tensorLoc(*t), "unexpected tensor '" + name +
                                   "': not part of a Llama 3 model with this "
                                   "config.json");
  }
  for (const LlamaWeight &e : expected) {
    const TensorInfo *t = ckpt.lookup(e.name);
    if (!t)
      return fail(fileLoc(dir), "missing tensor '" + e.name + "' (config.json "
                                "describes " + Twine(c.numLayers) +
                                    " layers)");
    if (ArrayRef<int64_t>(t->shape) != ArrayRef<int64_t>(e.shape))
      return fail(tensorLoc(*t), "tensor '" + e.name + "' has shape " +
                                     shapeStr(t->shape) +
                                     " but config.json implies " +
                                     shapeStr(e.shape));
    if (t->dtype != DType::F32 && t->dtype != DType::F16 &&
        t->dtype != DType::BF16)
      return fail(tensorLoc(*t), "tensor '" + e.name + "' has dtype " +
                                     dtypeName(t->dtype) +
                                     "; expected F32, F16 or BF16");
  }
  return success();
}

void Importer::emitWeights(const LlamaConfig &c, const Checkpoint &ckpt) {
  b.setInsertionPointToEnd(module.getBody());
  for (const LlamaWeight &e :
       llamaWeights(graphShape(c, c.maxPositionEmbeddings, {}))) {
    const TensorInfo *t = ckpt.lookup(e.name);
    llm::DType dtype = t->dtype == DType::F32   ? llm::DType::f32
                       : t->dtype == DType::F16 ? llm::DType::f16
                                                : llm::DType::bf16;
    auto storage = llm::WeightStorageAttr::get(
        &ctx, b.getStringAttr(llvm::sys::path::filename(t->file)),
        b.getStringAttr(t->name), t->offset, dtype, ArrayRef<int64_t>(t->shape));
    auto type = RankedTensorType::get(t->shape, b.getF32Type());
    b.create<llm::WeightOp>(tensorLoc(*t), t->name, type, storage, ArrayAttr(),
                            llm::WeightStorageAttr(), llm::QuantAttr(), IntegerAttr(),
                            llm::WeightRoleAttr::get(&ctx, e.role),
                            /*packed=*/IntegerAttr());
  }
}

void Importer::emitForward(const LlamaConfig &c, int64_t maxContext,
                           llm::RopeScalingAttr ropeScaling) {
  // Checkpoint weights arrive unquantized; llm-quantize decides later.
  emitLlamaForward(b, module, fileLoc(dir), graphShape(c, maxContext, ropeScaling),
                   [](StringRef) { return false; });
}

OwningOpRef<ModuleOp> Importer::run() {
  ctx.loadDialect<llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  llvm::Expected<LlamaConfig> config = loadLlamaConfig(dir);
  if (!config) {
    emitError(fileLoc(dir)) << llvm::toString(config.takeError());
    return {};
  }
  llvm::Expected<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::open(dir);
  if (!ckpt) {
    emitError(fileLoc(dir)) << llvm::toString(ckpt.takeError());
    return {};
  }
  if (failed(checkTensors(*config, **ckpt)))
    return {};

  int64_t maxContext = config->maxPositionEmbeddings;
  if (options.maxContext > 0) {
    if (options.maxContext > config->maxPositionEmbeddings) {
      emitError(fileLoc(dir))
          << "requested max context " << options.maxContext
          << " exceeds the model's max_position_embeddings "
          << config->maxPositionEmbeddings;
      return {};
    }
    maxContext = options.maxContext;
  } else if (options.maxContextCap > 0) {
    maxContext = std::min(maxContext, options.maxContextCap);
  }

  OwningOpRef<ModuleOp> owned = ModuleOp::create(fileLoc(dir));
  module = *owned;
  const LlamaConfig &c = *config;
  auto emitConfigError = [&] { return emitError(fileLoc(dir)); };
  FailureOr<llm::RopeScalingAttr> scaling = ropeScalingAttr(
      ctx, c, llvm::function_ref<InFlightDiagnostic()>(emitConfigError));
  if (failed(scaling))
    return {};
  auto cfg = llm::ModelConfigAttr::getChecked(
      llvm::function_ref<InFlightDiagnostic()>(emitConfigError), &ctx, c.hiddenSize,
      c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim,
      c.vocabSize, maxContext, llvm::APFloat(c.rmsNormEps),
      llvm::APFloat(c.ropeTheta), *scaling, c.tieWordEmbeddings, c.bosTokenId,
      ArrayRef<int64_t>(c.eosTokenIds));
  if (!cfg)
    return {};
  module->setAttr(llm::LLMDialect::kConfigAttrName, cfg);
  emitWeights(c, **ckpt);
  emitForward(c, maxContext, *scaling);

  PassManager pm(&ctx);
  pm.addPass(createLLMVerifyModel());
  if (failed(pm.run(module)))
    return {};
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> importHFCheckpoint(MLIRContext &context, StringRef dir,
                                         const ImportOptions &options) {
  return Importer(context, dir, options).run();
}

void registerImporterDialects(DialectRegistry &registry) {
  registry.insert<llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
}

} // namespace llmc
