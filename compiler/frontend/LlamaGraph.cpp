//===- LlamaGraph.cpp - the @forward of a Llama 3 model -------------------===//

#include "compiler/frontend/LlamaGraph.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <string>

using namespace mlir;

namespace llmc {

std::vector<LlamaWeight> llamaWeights(const LlamaGraphShape &c) {
  using R = llm::WeightRole;
  int64_t d = c.hidden, f = c.ffn;
  int64_t q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  std::vector<LlamaWeight> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab, d}, R::embed});
  for (int64_t i = 0; i < c.layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", {d}, R::attn_norm, i});
    t.push_back({p + "self_attn.q_proj.weight", {q, d}, R::attn_q, i});
    t.push_back({p + "self_attn.k_proj.weight", {kv, d}, R::attn_k, i});
    t.push_back({p + "self_attn.v_proj.weight", {kv, d}, R::attn_v, i});
    t.push_back({p + "self_attn.o_proj.weight", {d, q}, R::attn_o, i});
    t.push_back({p + "post_attention_layernorm.weight", {d}, R::mlp_norm, i});
    t.push_back({p + "mlp.gate_proj.weight", {f, d}, R::mlp_gate, i});
    t.push_back({p + "mlp.up_proj.weight", {f, d}, R::mlp_up, i});
    t.push_back({p + "mlp.down_proj.weight", {d, f}, R::mlp_down, i});
  }
  t.push_back({"model.norm.weight", {d}, R::final_norm});
  if (!c.tiedEmbeddings)
    t.push_back({"lm_head.weight", {c.vocab, d}, R::lm_head});
  return t;
}

void emitLlamaForward(OpBuilder &b, ModuleOp module, Location loc,
                      const LlamaGraphShape &c,
                      llvm::function_ref<bool(StringRef)> isIntegerWeight) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto act = [&](int64_t n) { return RankedTensorType::get({dyn, n}, f32); };
  auto tokensType = RankedTensorType::get({dyn}, b.getI32Type());
  auto cacheType = llm::KVCacheType::get(ctx, c.layers, c.kvHeads, c.headDim,
                                         c.maxContext, llm::DType::f32);
  auto fnType = b.getFunctionType({tokensType, b.getIndexType(), cacheType},
                                  {act(c.vocab)});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(loc, "forward", fnType);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), pos = entry->getArgument(1),
        cache = entry->getArgument(2);

  auto sym = [&](const std::string &name) {
    return FlatSymbolRefAttr::get(ctx, name);
  };
  auto linear = [&](Location l, int64_t out, Value x,
                    const std::string &w) -> Value {
    if (isIntegerWeight(w))
      return b.create<llm::QuantizedLinearOp>(l, act(out), x, sym(w));
    return b.create<llm::LinearOp>(l, act(out), x, sym(w));
  };
  auto eps = b.getF64FloatAttr(c.rmsNormEps);
  auto theta = b.getF64FloatAttr(c.ropeTheta);
  int64_t qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;

  const std::string embed = "model.embed_tokens.weight";
  Value h = b.create<llm::EmbeddingOp>(loc, act(c.hidden), tokens, sym(embed));
  // Keys and values of positions [0, pos + tokens) after this step's write.
  Value numTokens = b.create<tensor::DimOp>(loc, tokens, 0);
  Value length = b.create<arith::AddIOp>(loc, pos, numTokens);
  for (int64_t i = 0; i < c.layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    Location l = NameLoc::get(b.getStringAttr("layer " + std::to_string(i)), loc);
    Value x = b.create<llm::RMSNormOp>(l, h.getType(), h,
                                       sym(p + "input_layernorm.weight"), eps);
    Value q = linear(l, qDim, x, p + "self_attn.q_proj.weight");
    Value k = linear(l, kvDim, x, p + "self_attn.k_proj.weight");
    Value v = linear(l, kvDim, x, p + "self_attn.v_proj.weight");
    q = b.create<llm::RopeOp>(l, q, pos, b.getI64IntegerAttr(c.heads),
                              b.getI64IntegerAttr(c.headDim), theta,
                              c.ropeScaling);
    k = b.create<llm::RopeOp>(l, k, pos, b.getI64IntegerAttr(c.kvHeads),
                              b.getI64IntegerAttr(c.headDim), theta,
                              c.ropeScaling);
    b.create<llm::KVWriteOp>(l, k, v, cache, i, pos);
    auto read = b.create<llm::KVReadOp>(l, act(kvDim), act(kvDim), cache, i,
                                        length);
    Value o = b.create<llm::AttentionOp>(
        l, act(qDim), q, read.getKeys(), read.getValues(), pos,
        b.getI64IntegerAttr(c.heads), b.getI64IntegerAttr(c.kvHeads),
        b.getI64IntegerAttr(c.headDim),
        b.getF64FloatAttr(1.0 / std::sqrt(double(c.headDim))),
        b.getUnitAttr(), IntegerAttr(), IntegerAttr());
    o = linear(l, c.hidden, o, p + "self_attn.o_proj.weight");
    h = b.create<llm::AddOp>(l, h, o);
    x = b.create<llm::RMSNormOp>(l, h.getType(), h,
                                 sym(p + "post_attention_layernorm.weight"), eps);
    Value g = linear(l, c.ffn, x, p + "mlp.gate_proj.weight");
    Value u = linear(l, c.ffn, x, p + "mlp.up_proj.weight");
    Value a = b.create<llm::SwiGLUOp>(l, g, u);
    Value d = linear(l, c.hidden, a, p + "mlp.down_proj.weight");
    h = b.create<llm::AddOp>(l, h, d);
  }
  h = b.create<llm::RMSNormOp>(loc, h.getType(), h, sym("model.norm.weight"),
                               eps);
  Value logits = linear(loc, c.vocab, h,
                        c.tiedEmbeddings ? embed : std::string("lm_head.weight"));
  b.create<func::ReturnOp>(loc, logits);
}

} // namespace llmc
