//===- HFConfigTest.cpp - config.json parser on valid and hostile configs -===//
//
// Configs are built as llvm::json::Objects from a real Llama 3 8B config and
// mutated one key at a time; directory tests (generation_config.json, missing
// or oversized files) write to a fresh temp dir.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/HFConfig.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "test/unit/TempDirTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <unistd.h>
#include <string>

using namespace llmc;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

constexpr const char *kPath = "/models/llama/config.json";

/// meta-llama/Meta-Llama-3-8B/config.json (the keys llmc reads and a few it
/// ignores).
json::Object llama3_8b() {
  return json::Object{
      {"architectures", json::Array{"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", 128000},
      {"eos_token_id", 128001},
      {"hidden_act", "silu"},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"intermediate_size", 14336},
      {"max_position_embeddings", 8192},
      {"mlp_bias", false},
      {"num_attention_heads", 32},
      {"num_hidden_layers", 32},
      {"num_key_value_heads", 8},
      {"pretraining_tp", 1},
      {"rms_norm_eps", 1e-05},
      {"rope_scaling", nullptr},
      {"rope_theta", 500000.0},
      {"tie_word_embeddings", false},
      {"torch_dtype", "bfloat16"},
      {"transformers_version", "4.40.0.dev0"},
      {"use_cache", true},
      {"vocab_size", 128256},
  };
}

json::Object llama31RopeScaling(StringRef typeKey = "rope_type") {
  return json::Object{{"factor", 8.0},
                      {"low_freq_factor", 1.0},
                      {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 8192},
                      {typeKey, "llama3"}};
}

/// meta-llama/Llama-3.1-8B-Instruct/config.json.
json::Object llama31_8b() {
  json::Object o = llama3_8b();
  o["eos_token_id"] = json::Array{128001, 128008, 128009};
  o["max_position_embeddings"] = 131072;
  o["rope_scaling"] = llama31RopeScaling();
  return o;
}

/// meta-llama/Llama-3.2-1B-Instruct/config.json.
json::Object llama32_1b() {
  json::Object o = llama31_8b();
  o["hidden_size"] = 2048;
  o["intermediate_size"] = 8192;
  o["num_hidden_layers"] = 16;
  o["num_attention_heads"] = 32;
  o["num_key_value_heads"] = 8;
  o["head_dim"] = 64;
  o["tie_word_embeddings"] = true;
  json::Object rs = llama31RopeScaling();
  rs["factor"] = 32.0;
  o["rope_scaling"] = std::move(rs);
  return o;
}

std::string text(const json::Object &o) {
  return llvm::formatv("{0:2}", json::Value(json::Object(o))).str();
}

llvm::Expected<LlamaConfig> parse(const json::Object &o) {
  return parseLlamaConfig(text(o), kPath);
}

/// Expects `s` to be rejected; returns the message ("" and a failure if not).
std::string parseError(StringRef s, StringRef path = kPath) {
  llvm::Expected<LlamaConfig> c = parseLlamaConfig(s, path);
  if (c) {
    ADD_FAILURE() << "accepted a bad config:\n" << s.str();
    return "";
  }
  return llvm::toString(c.takeError());
}

/// Expects `o` to be rejected with a message that starts with the file name
/// and contains every one of `parts`.
void expectBad(const json::Object &o,
               std::initializer_list<const char *> parts) {
  std::string msg = parseError(text(o));
  EXPECT_EQ(msg.rfind(std::string(kPath) + ": ", 0), 0u)
      << "message does not start with the file name: " << msg;
  for (const char *part : parts)
    EXPECT_NE(msg.find(part), std::string::npos)
        << "missing '" << part << "' in: " << msg;
}

/// `o` with `key` set to `v`.
json::Object with(json::Object o, StringRef key, json::Value v) {
  o[key] = std::move(v);
  return o;
}

/// `o` without `key`.
json::Object without(json::Object o, StringRef key) {
  o.erase(key);
  return o;
}

//===----------------------------------------------------------------------===//
// Valid configs
//===----------------------------------------------------------------------===//

TEST(HFConfigParse, Llama3_8B) {
  auto c = parse(llama3_8b());
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->hiddenSize, 4096);
  EXPECT_EQ(c->intermediateSize, 14336);
  EXPECT_EQ(c->numLayers, 32);
  EXPECT_EQ(c->numHeads, 32);
  EXPECT_EQ(c->numKvHeads, 8);
  EXPECT_EQ(c->headDim, 128);
  EXPECT_EQ(c->vocabSize, 128256);
  EXPECT_EQ(c->maxPositionEmbeddings, 8192);
  EXPECT_DOUBLE_EQ(c->rmsNormEps, 1e-5);
  EXPECT_DOUBLE_EQ(c->ropeTheta, 500000.0);
  EXPECT_FALSE(c->ropeScaling.has_value());
  EXPECT_FALSE(c->tieWordEmbeddings);
  EXPECT_EQ(c->bosTokenId, 128000);
  EXPECT_EQ(c->eosTokenIds, std::vector<int64_t>{128001});
  EXPECT_EQ(c->torchDtype, "bfloat16");
}

TEST(HFConfigParse, Llama31_8B_RopeType) {
  auto c = parse(llama31_8b());
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->maxPositionEmbeddings, 131072);
  ASSERT_TRUE(c->ropeScaling.has_value());
  EXPECT_DOUBLE_EQ(c->ropeScaling->factor, 8.0);
  EXPECT_DOUBLE_EQ(c->ropeScaling->lowFreqFactor, 1.0);
  EXPECT_DOUBLE_EQ(c->ropeScaling->highFreqFactor, 4.0);
  EXPECT_EQ(c->ropeScaling->originalMaxPositionEmbeddings, 8192);
  EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{128001, 128008, 128009}));
}

TEST(HFConfigParse, Llama31_LegacyTypeKey) {
  // transformers < 4.43 wrote "type" instead of "rope_type".
  auto c = parse(with(llama31_8b(), "rope_scaling", llama31RopeScaling("type")));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  ASSERT_TRUE(c->ropeScaling.has_value());
  EXPECT_DOUBLE_EQ(c->ropeScaling->factor, 8.0);
}

TEST(HFConfigParse, Llama32_1B_TiedWithHeadDim) {
  auto c = parse(llama32_1b());
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(c->tieWordEmbeddings);
  EXPECT_EQ(c->hiddenSize, 2048);
  EXPECT_EQ(c->headDim, 64);
  EXPECT_EQ(c->numLayers, 16);
  ASSERT_TRUE(c->ropeScaling.has_value());
  EXPECT_DOUBLE_EQ(c->ropeScaling->factor, 32.0);
}

TEST(HFConfigParse, Llama32_3B) {
  json::Object o = llama32_1b();
  o["hidden_size"] = 3072;
  o["intermediate_size"] = 8192;
  o["num_hidden_layers"] = 28;
  o["num_attention_heads"] = 24;
  o["head_dim"] = 128;
  auto c = parse(o);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->headDim, 128);
  EXPECT_EQ(c->numHeads, 24);
  EXPECT_EQ(c->numKvHeads, 8);
}

TEST(HFConfigParse, HeadDimOverridesHiddenOverHeads) {
  // head_dim need not be hidden / heads, and then hidden need not divide.
  auto c = parse(with(with(llama3_8b(), "hidden_size", 4000), "head_dim", 128));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->headDim, 128);
}

TEST(HFConfigParse, OptionalKeysDefault) {
  json::Object o = llama3_8b();
  for (StringRef k : {"num_key_value_heads", "rms_norm_eps", "rope_theta",
                      "rope_scaling", "tie_word_embeddings", "attention_bias",
                      "mlp_bias", "hidden_act", "torch_dtype", "model_type"})
    o.erase(k);
  auto c = parse(o);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->numKvHeads, 32); // multi-head attention
  // transformers' LlamaConfig defaults (what the reference computes with),
  // not Llama 3's usual values.
  EXPECT_DOUBLE_EQ(c->rmsNormEps, 1e-6);
  EXPECT_DOUBLE_EQ(c->ropeTheta, 10000.0);
  EXPECT_FALSE(c->ropeScaling.has_value());
  EXPECT_FALSE(c->tieWordEmbeddings);
  EXPECT_TRUE(c->torchDtype.empty());
}

TEST(HFConfigParse, NullOptionalKeys) {
  json::Object o = llama3_8b();
  for (StringRef k : {"num_key_value_heads", "head_dim", "rms_norm_eps",
                      "rope_theta", "tie_word_embeddings", "attention_bias",
                      "mlp_bias", "num_local_experts"})
    o[k] = nullptr;
  auto c = parse(o);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->numKvHeads, 32);
  EXPECT_EQ(c->headDim, 128);
}

TEST(HFConfigParse, ModelTypeWithoutArchitectures) {
  auto c = parse(without(llama3_8b(), "architectures"));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
}

TEST(HFConfigParse, LlamaAmongSeveralArchitectures) {
  auto c = parse(with(llama3_8b(), "architectures",
                      json::Array{"SomethingElse", "LlamaForCausalLM"}));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
}

TEST(HFConfigParse, ZeroExpertsIsNotMoE) {
  auto c = parse(with(llama3_8b(), "num_local_experts", 0));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
}

TEST(HFConfigParse, IntegralFloatDimIsAnInteger) {
  auto c = parse(with(llama3_8b(), "hidden_size", 4096.0));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->hiddenSize, 4096);
}

TEST(HFConfigParse, BosEosAbsentIsLeftToTheLoader) {
  auto c = parse(without(without(llama3_8b(), "bos_token_id"), "eos_token_id"));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_LT(c->bosTokenId, 0);
  EXPECT_TRUE(c->eosTokenIds.empty());
}

//===----------------------------------------------------------------------===//
// Unsupported models
//===----------------------------------------------------------------------===//

TEST(HFConfigReject, OtherArchitecture) {
  expectBad(with(llama3_8b(), "architectures", json::Array{"GPT2LMHeadModel"}),
            {"unsupported architecture 'GPT2LMHeadModel'",
             "llmc compiles LlamaForCausalLM (Llama 3, 3.1, 3.2)"});
  // model_type llama does not rescue another architecture.
  expectBad(with(llama3_8b(), "architectures",
                 json::Array{"MistralForCausalLM"}),
            {"unsupported architecture 'MistralForCausalLM'"});
  expectBad(with(llama3_8b(), "architectures",
                 json::Array{"MixtralForCausalLM"}),
            {"unsupported architecture 'MixtralForCausalLM'"});
}

TEST(HFConfigReject, OtherModelTypeWithoutArchitectures) {
  expectBad(with(without(llama3_8b(), "architectures"), "model_type", "mistral"),
            {"unsupported architecture 'mistral'"});
  expectBad(without(without(llama3_8b(), "architectures"), "model_type"),
            {"unsupported architecture 'unknown'"});
  expectBad(with(without(llama3_8b(), "model_type"), "architectures",
                 json::Array{}),
            {"unsupported architecture 'unknown'"});
}

TEST(HFConfigReject, ModelType) {
  expectBad(with(llama3_8b(), "model_type", "mistral"),
            {"unsupported model_type 'mistral': expected 'llama'"});
}

TEST(HFConfigReject, WrongTypeArchitecturesAndModelType) {
  expectBad(with(llama3_8b(), "architectures", "MistralForCausalLM"),
            {"'architectures' must be a list of strings"});
  expectBad(with(llama3_8b(), "architectures", json::Array{42}),
            {"'architectures' must be a list of strings"});
  expectBad(with(llama3_8b(), "model_type", 7),
            {"'model_type' must be a string"});
  expectBad(with(llama3_8b(), "hidden_act", json::Array{"silu"}),
            {"'hidden_act' must be a string"});
}

TEST(HFConfigReject, MixtureOfExperts) {
  for (const char *key : {"num_local_experts", "num_experts", "n_routed_experts"})
    expectBad(with(llama3_8b(), key, 8),
              {"mixture-of-experts models are not supported",
               ("'" + std::string(key) + "' = 8").c_str()});
}

TEST(HFConfigReject, Biases) {
  expectBad(with(llama3_8b(), "attention_bias", true),
            {"'attention_bias' is true: Llama 3 has no biases and llmc does "
             "not compile them"});
  expectBad(with(llama3_8b(), "mlp_bias", true), {"'mlp_bias' is true"});
  expectBad(with(llama3_8b(), "attention_bias", "false"),
            {"'attention_bias' must be true or false"});
  expectBad(with(llama3_8b(), "mlp_bias", 0), {"'mlp_bias' must be true or false"});
}

TEST(HFConfigReject, HiddenAct) {
  expectBad(with(llama3_8b(), "hidden_act", "gelu"),
            {"unsupported hidden_act 'gelu': expected 'silu'"});
  expectBad(with(llama3_8b(), "hidden_act", "relu"),
            {"unsupported hidden_act 'relu'"});
}

TEST(HFConfigReject, RopeScalingTypes) {
  for (const char *type : {"longrope", "su", "proportional"}) {
    json::Object rs = llama31RopeScaling();
    rs["rope_type"] = type;
    expectBad(with(llama31_8b(), "rope_scaling", std::move(rs)),
              {("unsupported rope_type '" + std::string(type) +
                "' in 'rope_scaling': llmc supports default, llama3, "
                "linear, dynamic and yarn")
                   .c_str()});
  }
  // Keys of another type are not silently dropped.
  for (const char *type : {"linear", "dynamic", "yarn"}) {
    json::Object rs = llama31RopeScaling();
    rs["rope_type"] = type;
    expectBad(with(llama31_8b(), "rope_scaling", std::move(rs)),
              {"'rope_scaling' has key 'low_freq_factor', which",
               "rope does not take"});
  }
  json::Object legacy = llama31RopeScaling("type");
  legacy["type"] = "linear";
  expectBad(with(llama31_8b(), "rope_scaling", std::move(legacy)),
            {"'rope_scaling' has key 'low_freq_factor', which linear rope "
             "does not take"});
  // No type means default, which takes no factor.
  expectBad(with(llama31_8b(), "rope_scaling",
                 without(llama31RopeScaling(), "rope_type")),
            {"'rope_scaling' has key 'factor', which default rope does not "
             "take"});
  json::Object both = llama31RopeScaling();
  both["type"] = "linear";
  expectBad(with(llama31_8b(), "rope_scaling", std::move(both)),
            {"gives rope_type 'llama3' and type 'linear'"});
  expectBad(with(llama31_8b(), "rope_scaling", "llama3"),
            {"'rope_scaling' must be an object or null"});
  expectBad(with(llama31_8b(), "rope_scaling", json::Array{}),
            {"'rope_scaling' must be an object or null"});
  expectBad(with(llama31_8b(), "rope_parameters", 5),
            {"'rope_parameters' must be an object or null"});
}

TEST(HFConfigReject, RopeScalingParameters) {
  for (const char *key : {"factor", "low_freq_factor", "high_freq_factor"})
    expectBad(with(llama31_8b(), "rope_scaling",
                   without(llama31RopeScaling(), key)),
              {("missing '" + std::string(key) + "'").c_str()});
  expectBad(with(llama31_8b(), "rope_scaling",
                 with(llama31RopeScaling(), "factor", "8")),
            {"'factor' must be a positive number"});
  expectBad(with(llama31_8b(), "rope_scaling",
                 with(llama31RopeScaling(), "low_freq_factor", -1.0)),
            {"'low_freq_factor' must be a positive number"});
  expectBad(with(llama31_8b(), "rope_scaling",
                 with(llama31RopeScaling(), "original_max_position_embeddings",
                      8192.5)),
            {"'original_max_position_embeddings' must be an integer"});
  expectBad(with(llama31_8b(), "rope_scaling",
                 with(llama31RopeScaling(), "high_freq_factor", 1.0)),
            {"rope_scaling needs high_freq_factor > low_freq_factor"});
  expectBad(with(llama31_8b(), "rope_scaling",
                 with(llama31RopeScaling(), "factor", 0.5)),
            {"rope_scaling factor must be >= 1"});
}

//===----------------------------------------------------------------------===//
// The transformers 5 spelling: rope_parameters (holding rope_theta), dtype
//===----------------------------------------------------------------------===//

/// `o` as transformers 5 saves it: rope_theta moved into rope_parameters
/// (which replaces rope_scaling), dtype instead of torch_dtype.
json::Object asTransformers5(json::Object o) {
  json::Object rope{{"rope_type", "default"}};
  if (json::Object *rs = o.getObject("rope_scaling"))
    rope = *rs;
  rope["rope_theta"] = *o.get("rope_theta");
  o.erase("rope_scaling");
  o.erase("rope_theta");
  o["rope_parameters"] = std::move(rope);
  o["dtype"] = *o.get("torch_dtype");
  o.erase("torch_dtype");
  o["transformers_version"] = "5.23.0";
  return o;
}

void expectSameRope(const LlamaConfig &a, const LlamaConfig &b) {
  EXPECT_EQ(a.ropeTheta, b.ropeTheta);
  ASSERT_EQ(a.ropeScaling.has_value(), b.ropeScaling.has_value());
  EXPECT_EQ(a.torchDtype, b.torchDtype);
  if (!a.ropeScaling)
    return;
  const LlamaRopeScaling &x = *a.ropeScaling, &y = *b.ropeScaling;
  EXPECT_EQ(x.type, y.type);
  EXPECT_EQ(x.factor, y.factor);
  EXPECT_EQ(x.lowFreqFactor, y.lowFreqFactor);
  EXPECT_EQ(x.highFreqFactor, y.highFreqFactor);
  EXPECT_EQ(x.originalMaxPositionEmbeddings, y.originalMaxPositionEmbeddings);
  EXPECT_EQ(x.attentionFactor, y.attentionFactor);
}

TEST(HFConfigParse, Transformers5FormEqualsTheOldForm) {
  for (const json::Object &old : {llama3_8b(), llama31_8b(), llama32_1b()}) {
    auto a = parse(old);
    auto b = parse(asTransformers5(old));
    ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
    ASSERT_TRUE(bool(b)) << llvm::toString(b.takeError());
    expectSameRope(*a, *b);
  }
  // The bug this guards against: rope_parameters ignored, theta defaulted.
  auto c = parse(asTransformers5(llama32_1b()));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->ropeTheta, 500000.0);
  ASSERT_TRUE(c->ropeScaling.has_value());
  EXPECT_EQ(c->ropeScaling->type, LlamaRopeScaling::Type::Llama3);
  EXPECT_EQ(c->ropeScaling->factor, 32.0);
  EXPECT_EQ(c->torchDtype, "bfloat16");
}

TEST(HFConfigParse, BothSpellingsAgreeingAreAccepted) {
  json::Object o = asTransformers5(llama31_8b());
  o["rope_theta"] = 500000.0;
  o["torch_dtype"] = "bfloat16";
  json::Object rs = llama31RopeScaling();
  rs["rope_theta"] = 500000.0;
  o["rope_scaling"] = std::move(rs);
  auto c = parse(o);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->ropeScaling->factor, 8.0);
}

TEST(HFConfigReject, SpellingsThatDisagree) {
  json::Object o = asTransformers5(llama31_8b());
  o["rope_scaling"] = llama31RopeScaling();
  expectBad(o, {"'rope_scaling' and 'rope_parameters' are both given and "
                "differ"});
  expectBad(with(asTransformers5(llama31_8b()), "rope_theta", 10000.0),
            {"'rope_theta' differs between the top level and "
             "'rope_parameters'"});
  expectBad(with(asTransformers5(llama3_8b()), "torch_dtype", "float32"),
            {"'dtype' and 'torch_dtype' disagree"});
  expectBad(with(llama3_8b(), "dtype", 16), {"'dtype' must be a string"});
}

TEST(HFConfigReject, KeysThatChangeTheMath) {
  json::Object rp = *asTransformers5(llama31_8b()).getObject("rope_parameters");
  rp["short_factor"] = json::Array{1.0, 2.0};
  expectBad(with(asTransformers5(llama31_8b()), "rope_parameters", json::Object(rp)),
            {"'rope_parameters' has key 'short_factor', which llama3 rope "
             "does not take"});
  expectBad(with(llama3_8b(), "partial_rotary_factor", 0.5),
            {"'partial_rotary_factor' other than 1 is not supported"});
  json::Object withPartial =
      *asTransformers5(llama3_8b()).getObject("rope_parameters");
  withPartial["partial_rotary_factor"] = 0.25;
  expectBad(with(asTransformers5(llama3_8b()), "rope_parameters",
                 json::Object(withPartial)),
            {"'partial_rotary_factor' other than 1 is not supported"});
  // 1.0 is the whole head: fine.
  EXPECT_TRUE(bool(parse(with(llama3_8b(), "partial_rotary_factor", 1.0))));
}

TEST(HFConfigParse, RopeTypes) {
  auto ropeOf = [](json::Object rp) {
    json::Object o = asTransformers5(llama3_8b());
    rp["rope_theta"] = 500000.0;
    o["rope_parameters"] = std::move(rp);
    return parse(o);
  };
  using Type = LlamaRopeScaling::Type;
  auto def = ropeOf(json::Object{{"rope_type", "default"}});
  ASSERT_TRUE(bool(def)) << llvm::toString(def.takeError());
  EXPECT_FALSE(def->ropeScaling.has_value());

  auto lin = ropeOf(json::Object{{"rope_type", "linear"}, {"factor", 2.0}});
  ASSERT_TRUE(bool(lin)) << llvm::toString(lin.takeError());
  EXPECT_EQ(lin->ropeScaling->type, Type::Linear);
  EXPECT_EQ(lin->ropeScaling->factor, 2.0);

  auto dyn = ropeOf(json::Object{{"rope_type", "dynamic"}, {"factor", 4.0}});
  ASSERT_TRUE(bool(dyn)) << llvm::toString(dyn.takeError());
  EXPECT_EQ(dyn->ropeScaling->type, Type::Dynamic);

  // YaRN: attention factor 0.1 ln(factor) + 1; original context defaults to
  // max_position_embeddings (transformers' standardize_rope_params).
  auto yarn = ropeOf(json::Object{{"rope_type", "yarn"}, {"factor", 4.0}});
  ASSERT_TRUE(bool(yarn)) << llvm::toString(yarn.takeError());
  EXPECT_EQ(yarn->ropeScaling->type, Type::Yarn);
  EXPECT_EQ(yarn->ropeScaling->originalMaxPositionEmbeddings, 8192);
  EXPECT_DOUBLE_EQ(yarn->ropeScaling->attentionFactor,
                   0.1 * std::log(4.0) + 1.0);
  EXPECT_EQ(yarn->ropeScaling->betaFast, 32.0);
  EXPECT_EQ(yarn->ropeScaling->betaSlow, 1.0);
  EXPECT_TRUE(yarn->ropeScaling->truncate);

  auto mscale = ropeOf(json::Object{{"rope_type", "yarn"}, {"factor", 4.0},
                        {"original_max_position_embeddings", 2048},
                        {"mscale", 0.707}, {"mscale_all_dim", 1.0},
                        {"beta_fast", 16}, {"truncate", false}});
  ASSERT_TRUE(bool(mscale)) << llvm::toString(mscale.takeError());
  EXPECT_DOUBLE_EQ(mscale->ropeScaling->attentionFactor,
                   (0.1 * 0.707 * std::log(4.0) + 1) /
                       (0.1 * std::log(4.0) + 1));
  EXPECT_EQ(mscale->ropeScaling->originalMaxPositionEmbeddings, 2048);
  EXPECT_EQ(mscale->ropeScaling->betaFast, 16.0);
  EXPECT_FALSE(mscale->ropeScaling->truncate);

  auto explicitFactor = ropeOf(json::Object{{"rope_type", "yarn"}, {"factor", 4.0},
                                {"attention_factor", 1.5}});
  ASSERT_TRUE(bool(explicitFactor));
  EXPECT_EQ(explicitFactor->ropeScaling->attentionFactor, 1.5);

  // No factor: the ratio of the context lengths (8192 / 2048).
  auto implicitFactor = ropeOf(json::Object{{"rope_type", "yarn"},
                                {"original_max_position_embeddings", 2048}});
  ASSERT_TRUE(bool(implicitFactor))
      << llvm::toString(implicitFactor.takeError());
  EXPECT_EQ(implicitFactor->ropeScaling->factor, 4.0);

  // llama3 without original_max_position_embeddings: max_position_embeddings.
  json::Object l3 = llama31RopeScaling();
  l3.erase("original_max_position_embeddings");
  auto llama3 = ropeOf(std::move(l3));
  ASSERT_TRUE(bool(llama3)) << llvm::toString(llama3.takeError());
  EXPECT_EQ(llama3->ropeScaling->originalMaxPositionEmbeddings, 8192);
  // ... and a top-level one wins (transformers' Phi-3 rule).
  json::Object top = with(llama31_8b(), "original_max_position_embeddings", 4096);
  auto topOrig = parse(top);
  ASSERT_TRUE(bool(topOrig)) << llvm::toString(topOrig.takeError());
  EXPECT_EQ(topOrig->ropeScaling->originalMaxPositionEmbeddings, 4096);

  EXPECT_FALSE(bool(ropeOf(json::Object{{"rope_type", "linear"}})));
}

//===----------------------------------------------------------------------===//
// Missing keys, wrong types, absurd values
//===----------------------------------------------------------------------===//

constexpr const char *kRequiredDims[] = {
    "hidden_size",         "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "vocab_size",        "max_position_embeddings"};

TEST(HFConfigReject, MissingKeys) {
  for (const char *key : kRequiredDims)
    expectBad(without(llama3_8b(), key),
              {("missing '" + std::string(key) + "'").c_str()});
}

TEST(HFConfigReject, WrongTypeDims) {
  for (const char *key : kRequiredDims) {
    std::string msg = "'" + std::string(key) + "' must be an integer";
    expectBad(with(llama3_8b(), key, "4096"), {msg.c_str()});
    expectBad(with(llama3_8b(), key, true), {msg.c_str()});
    expectBad(with(llama3_8b(), key, nullptr), {msg.c_str()});
    expectBad(with(llama3_8b(), key, json::Array{4096}), {msg.c_str()});
  }
  expectBad(with(llama3_8b(), "num_key_value_heads", "8"),
            {"'num_key_value_heads' must be an integer"});
  expectBad(with(llama3_8b(), "head_dim", json::Object{}),
            {"'head_dim' must be an integer"});
}

TEST(HFConfigReject, NonIntegerDims) {
  expectBad(with(llama3_8b(), "hidden_size", 4096.5),
            {"'hidden_size' must be an integer"});
  expectBad(with(llama3_8b(), "num_hidden_layers", 1e30),
            {"'num_hidden_layers' must be an integer"});
  expectBad(with(llama3_8b(), "head_dim", 127.9),
            {"'head_dim' must be an integer"});
}

TEST(HFConfigReject, OutOfRangeDims) {
  for (const char *key : kRequiredDims) {
    expectBad(with(llama3_8b(), key, -1),
              {("'" + std::string(key) + "' = -1 is out of range [1, 16777216]")
                   .c_str()});
    expectBad(with(llama3_8b(), key, 0),
              {("'" + std::string(key) + "' = 0 is out of range").c_str()});
    expectBad(with(llama3_8b(), key, int64_t(1) << 24 | 1),
              {("'" + std::string(key) + "' = 16777217 is out of range")
                   .c_str()});
    expectBad(with(llama3_8b(), key, INT64_MAX),
              {"is out of range"});
    expectBad(with(llama3_8b(), key, INT64_MIN), {"is out of range"});
  }
  expectBad(with(llama3_8b(), "num_key_value_heads", 0),
            {"'num_key_value_heads' = 0 is out of range"});
  expectBad(with(llama3_8b(), "head_dim", -128),
            {"'head_dim' = -128 is out of range"});
}

TEST(HFConfigReject, HugeLiteralDims) {
  // Beyond int64 (parsed as uint64 or double): not an int64, so not a dim.
  std::string t = text(llama3_8b());
  size_t at = t.find("\"vocab_size\": 128256");
  ASSERT_NE(at, std::string::npos);
  for (const char *lit : {"18446744073709551615", "9223372036854775808",
                          "1e400", "-99999999999999999999"}) {
    std::string s = t;
    s.replace(at, strlen("\"vocab_size\": 128256"),
              "\"vocab_size\": " + std::string(lit));
    std::string msg = parseError(s);
    EXPECT_EQ(msg.rfind(std::string(kPath) + ": ", 0), 0u) << msg;
    // 1e400 is not even valid JSON for LLVM's parser (inf); either way it is
    // rejected with the file named.
    EXPECT_TRUE(msg.find("'vocab_size'") != std::string::npos ||
                msg.find("invalid JSON") != std::string::npos)
        << lit << ": " << msg;
  }
}

TEST(HFConfigReject, HeadsNotDivisibleByKvHeads) {
  expectBad(with(llama3_8b(), "num_key_value_heads", 6),
            {"num_attention_heads 32 is not a multiple of num_key_value_heads 6"});
  expectBad(with(llama3_8b(), "num_key_value_heads", 64),
            {"num_attention_heads 32 is not a multiple of num_key_value_heads 64"});
}

TEST(HFConfigReject, OddHeadDim) {
  expectBad(with(llama3_8b(), "head_dim", 127),
            {"head_dim 127 is odd: rotary embeddings need an even head_dim"});
  // Derived: 96 / 32 = 3.
  expectBad(with(llama3_8b(), "hidden_size", 96), {"head_dim 3 is odd"});
}

TEST(HFConfigReject, HiddenNotDivisibleByHeadsWithoutHeadDim) {
  expectBad(with(llama3_8b(), "hidden_size", 4100),
            {"hidden_size 4100 is not a multiple of num_attention_heads 32 and "
             "no head_dim is given"});
  // A null head_dim is no head_dim (4100 / 32 would truncate to 128).
  expectBad(with(with(llama3_8b(), "hidden_size", 4100), "head_dim", nullptr),
            {"hidden_size 4100 is not a multiple of num_attention_heads 32"});
}

TEST(HFConfigReject, HeadsTimesHeadDimTooLarge) {
  json::Object o = llama3_8b();
  o["num_attention_heads"] = 4096;
  o["num_key_value_heads"] = 4096;
  o["head_dim"] = 8192;
  expectBad(o, {"num_attention_heads x head_dim is too large"});
}

TEST(HFConfigReject, WrongTypeNumbersAndFlags) {
  expectBad(with(llama3_8b(), "rms_norm_eps", "1e-5"),
            {"'rms_norm_eps' must be a positive number"});
  expectBad(with(llama3_8b(), "rms_norm_eps", 0.0),
            {"'rms_norm_eps' must be a positive number"});
  expectBad(with(llama3_8b(), "rope_theta", -500000.0),
            {"'rope_theta' must be a positive number"});
  expectBad(with(llama3_8b(), "rope_theta", true),
            {"'rope_theta' must be a positive number"});
  expectBad(with(llama3_8b(), "tie_word_embeddings", "true"),
            {"'tie_word_embeddings' must be true or false"});
  expectBad(with(llama3_8b(), "tie_word_embeddings", 1),
            {"'tie_word_embeddings' must be true or false"});
}

TEST(HFConfigReject, WrongTypeTokenIds) {
  expectBad(with(llama3_8b(), "bos_token_id", "128000"),
            {"'bos_token_id' must be an integer"});
  expectBad(with(llama3_8b(), "bos_token_id", 1.5),
            {"'bos_token_id' must be an integer"});
  expectBad(with(llama3_8b(), "eos_token_id", "128001"),
            {"'eos_token_id' must be an integer or a list of integers"});
  expectBad(with(llama3_8b(), "eos_token_id", json::Array{128001, "x"}),
            {"'eos_token_id' must be an integer or a list of integers"});
  json::Array nested; // (json::Array{json::Array{1}} would copy, not nest)
  nested.push_back(json::Array{1});
  expectBad(with(llama3_8b(), "eos_token_id", std::move(nested)),
            {"'eos_token_id' must be an integer or a list of integers"});
  json::Array many;
  for (int i = 0; i < 1025; ++i)
    many.push_back(i);
  expectBad(with(llama3_8b(), "eos_token_id", std::move(many)),
            {"'eos_token_id' lists more than 1024 ids"});
}

TEST(HFConfigReject, NegativeBosInConfig) {
  // Not "missing": a negative id in config.json is an error in itself.
  expectBad(with(llama3_8b(), "bos_token_id", -1),
            {"bos_token_id -1 is outside the vocabulary of 128256"});
}

TEST(HFConfigReject, InvalidJSON) {
  for (const char *bad : {"", "{", "{\"hidden_size\": }", "{'a': 1}",
                          "{\"a\": 1,}", "{\"a\": 1} trailing", "\xff\xfe{}",
                          "{\"a\": NaN}"}) {
    std::string msg = parseError(bad);
    EXPECT_EQ(msg.rfind(std::string(kPath) + ": invalid JSON: ", 0), 0u)
        << "for " << bad << ": " << msg;
  }
}

TEST(HFConfigReject, NotAnObject) {
  for (const char *bad : {"[]", "42", "\"config\"", "null", "true",
                          "[{\"model_type\": \"llama\"}]"}) {
    std::string msg = parseError(bad);
    EXPECT_EQ(msg, std::string(kPath) + ": expected a JSON object") << bad;
  }
}

TEST(HFConfigReject, DeeplyNestedJSON) {
  // llvm::json::parse recurses per level: this must be refused before it
  // overflows the stack.
  for (size_t depth : {size_t(1000), size_t(100000), size_t(500000)}) {
    std::string s(depth, '[');
    s += std::string(depth, ']');
    std::string msg = parseError(s);
    EXPECT_EQ(msg.rfind(std::string(kPath) + ": ", 0), 0u) << msg.substr(0, 200);
    EXPECT_NE(msg.find("JSON nests deeper than"), std::string::npos)
        << msg.substr(0, 200);
  }
  // Brackets inside strings do not count.
  json::Object o = llama3_8b();
  o["note"] = std::string(100000, '[');
  auto c = parse(o);
  EXPECT_TRUE(bool(c)) << llvm::toString(c.takeError());
  // A deep value under an ignored key is still refused.
  std::string s = text(llama3_8b());
  s.insert(1, "\"x\": " + std::string(50000, '[') + std::string(50000, ']') +
                  ",");
  EXPECT_NE(parseError(s).find("JSON nests deeper than"), std::string::npos);
}

TEST(HFConfigReject, MessagesNameTheFile) {
  std::string msg =
      parseError(text(with(llama3_8b(), "hidden_act", "gelu")), "/x/y.json");
  EXPECT_EQ(msg.rfind("/x/y.json: ", 0), 0u) << msg;
}

//===----------------------------------------------------------------------===//
// loadLlamaConfig: files in a directory
//===----------------------------------------------------------------------===//

class HFConfigLoad : public llmc::testing::TempDirTest {
protected:

  void writeConfig(const json::Object &o) { write("config.json", text(o)); }
  void writeGen(const json::Object &o) {
    write("generation_config.json", text(o));
  }

  std::string loadError() {
    auto c = loadLlamaConfig(dir);
    if (c) {
      ADD_FAILURE() << "loaded a bad config";
      return "";
    }
    return llvm::toString(c.takeError());
  }

  /// Expects a rejection whose message starts with `file` (a name in the
  /// dir) and contains every one of `parts`.
  void expectBad(StringRef file, std::initializer_list<const char *> parts) {
    std::string msg = loadError();
    EXPECT_EQ(msg.rfind(path(file) + ": ", 0), 0u)
        << "message does not start with " << path(file) << ": " << msg;
    for (const char *part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "missing '" << part << "' in: " << msg;
  }

};

TEST_F(HFConfigLoad, Valid) {
  writeConfig(llama31_8b());
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->bosTokenId, 128000);
  EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{128001, 128008, 128009}));
}

TEST_F(HFConfigLoad, TrailingSlashDir) {
  writeConfig(llama32_1b());
  auto c = loadLlamaConfig(dir + "/");
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(c->tieWordEmbeddings);
}

TEST_F(HFConfigLoad, MissingConfig) {
  std::string msg = loadError();
  EXPECT_EQ(msg, dir + ": no config.json: not a Hugging Face model directory");
  auto c = loadLlamaConfig(path("does-not-exist"));
  ASSERT_FALSE(bool(c));
  EXPECT_NE(llvm::toString(c.takeError()).find("does-not-exist: no config.json"),
            std::string::npos);
}

TEST_F(HFConfigLoad, ConfigIsADirectory) {
  ASSERT_FALSE(llvm::sys::fs::create_directory(path("config.json")));
  expectBad("config.json", {"not a regular file"});
}

TEST_F(HFConfigLoad, ParseErrorsNameTheFile) {
  writeConfig(with(llama3_8b(), "hidden_act", "gelu"));
  expectBad("config.json", {"unsupported hidden_act 'gelu'"});
}

TEST_F(HFConfigLoad, TooLarge) {
  // Valid JSON padded past 1 MiB.
  std::string t = text(llama3_8b());
  t.insert(1, std::string((1 << 20) + 1, ' '));
  write("config.json", t);
  expectBad("config.json", {"larger than 1 MiB, not a model config"});
}

TEST_F(HFConfigLoad, JustUnderTheLimit) {
  std::string t = text(llama3_8b());
  t.insert(1, std::string((1 << 20) - t.size(), ' '));
  ASSERT_EQ(t.size(), size_t(1) << 20);
  write("config.json", t);
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
}

TEST_F(HFConfigLoad, SparseHugeConfig) {
  // A 16 GiB (sparse) config.json must be refused without being read.
  std::string p = write("config.json", "{");
  ASSERT_EQ(::truncate(p.c_str(), off_t(16) << 30), 0);
  expectBad("config.json", {"larger than 1 MiB"});
}

TEST_F(HFConfigLoad, BosOutOfVocab) {
  writeConfig(with(llama3_8b(), "bos_token_id", 128256));
  expectBad("config.json",
            {"bos_token_id 128256 is outside the vocabulary of 128256"});
}

TEST_F(HFConfigLoad, EosOutOfVocab) {
  writeConfig(with(llama3_8b(), "eos_token_id",
                   json::Array{128001, 200000}));
  expectBad("config.json",
            {"eos token id 200000 is outside the vocabulary of 128256"});
  writeConfig(with(llama3_8b(), "eos_token_id", -3));
  expectBad("config.json", {"eos token id -3 is outside the vocabulary"});
}

TEST_F(HFConfigLoad, BosEosFromGenerationConfig) {
  writeConfig(without(without(llama3_8b(), "bos_token_id"), "eos_token_id"));
  writeGen(json::Object{{"bos_token_id", 128000},
                        {"eos_token_id", json::Array{128001, 128009}},
                        {"do_sample", true}});
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->bosTokenId, 128000);
  EXPECT_EQ(c->eosTokenIds, (std::vector<int64_t>{128001, 128009}));
}

TEST_F(HFConfigLoad, NullBosEosFromGenerationConfig) {
  writeConfig(with(with(llama3_8b(), "bos_token_id", nullptr), "eos_token_id",
                   nullptr));
  writeGen(json::Object{{"bos_token_id", 1}, {"eos_token_id", 2}});
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->bosTokenId, 1);
  EXPECT_EQ(c->eosTokenIds, std::vector<int64_t>{2});
}

TEST_F(HFConfigLoad, ConfigWinsOverGenerationConfig) {
  writeConfig(without(llama3_8b(), "eos_token_id"));
  writeGen(json::Object{{"bos_token_id", 5}, {"eos_token_id", 128009}});
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->bosTokenId, 128000); // from config.json
  EXPECT_EQ(c->eosTokenIds, std::vector<int64_t>{128009});
}

TEST_F(HFConfigLoad, GenerationConfigNotReadWhenNotNeeded) {
  writeConfig(llama3_8b());
  write("generation_config.json", "not json");
  auto c = loadLlamaConfig(dir);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
}

TEST_F(HFConfigLoad, BosEosMissingEverywhere) {
  writeConfig(without(llama3_8b(), "bos_token_id"));
  expectBad("config.json",
            {"no 'bos_token_id' (nor in generation_config.json)"});
  writeConfig(without(llama3_8b(), "eos_token_id"));
  expectBad("config.json",
            {"no 'eos_token_id' (nor in generation_config.json)"});
  writeConfig(with(llama3_8b(), "eos_token_id", json::Array{}));
  expectBad("config.json", {"no 'eos_token_id'"});
  // A generation_config.json without them does not help.
  writeConfig(without(llama3_8b(), "eos_token_id"));
  writeGen(json::Object{{"temperature", 0.6}});
  expectBad("config.json", {"no 'eos_token_id'"});
}

TEST_F(HFConfigLoad, GenerationConfigIdsOutOfVocab) {
  writeConfig(without(without(llama3_8b(), "bos_token_id"), "eos_token_id"));
  writeGen(json::Object{{"bos_token_id", 300000}, {"eos_token_id", 128001}});
  expectBad("generation_config.json",
            {"bos_token_id 300000 is outside the vocabulary of 128256"});
  writeGen(json::Object{{"bos_token_id", 128000},
                        {"eos_token_id", json::Array{128001, -1}}});
  expectBad("generation_config.json",
            {"eos token id -1 is outside the vocabulary of 128256"});
}

TEST_F(HFConfigLoad, BadGenerationConfig) {
  writeConfig(without(llama3_8b(), "eos_token_id"));
  write("generation_config.json", "{\"eos_token_id\": ");
  expectBad("generation_config.json", {"invalid JSON"});
  writeGen(json::Object{{"eos_token_id", "128001"}});
  expectBad("generation_config.json",
            {"'eos_token_id' must be an integer or a list of integers"});
  write("generation_config.json", "[1, 2]");
  expectBad("generation_config.json", {"expected a JSON object"});
  write("generation_config.json", std::string(100000, '[') + std::string(100000, ']'));
  expectBad("generation_config.json", {"JSON nests deeper than"});
  std::string big = text(json::Object{{"eos_token_id", 128001}});
  big.insert(1, std::string(1 << 20, ' '));
  write("generation_config.json", big);
  expectBad("generation_config.json", {"larger than 1 MiB"});

  writeConfig(without(llama3_8b(), "bos_token_id"));
  writeGen(json::Object{{"bos_token_id", "128000"}});
  expectBad("generation_config.json", {"'bos_token_id' must be an integer"});
}

} // namespace
