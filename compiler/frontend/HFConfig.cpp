//===- HFConfig.cpp - Llama 3 config.json ---------------------------------===//

#include "compiler/frontend/HFConfig.h"

#include "compiler/frontend/Safetensors.h" // checkJSONDepth

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace llvm;

namespace llmc {
namespace {

// Dimensions beyond this are not a model we could ever run; refusing them
// early keeps every later product (e.g. vocab * hidden * 4 bytes) far from
// overflowing int64.
constexpr int64_t kMaxDim = int64_t(1) << 24;
constexpr uint64_t kMaxConfigBytes = 1 << 20;
// llvm::json::parse recurses once per nesting level; a 1 MiB file of '['
// would overflow the stack. Real configs nest 2 or 3 levels.
constexpr unsigned kMaxJSONDepth = 64;

Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// Depth check, then json::parse; errors name `path`.
Expected<json::Value> parseJSONText(StringRef text, StringRef path) {
  if (Error e = checkJSONDepth(text, kMaxJSONDepth, path))
    return std::move(e);
  Expected<json::Value> v = json::parse(text);
  if (!v)
    return fail(path + ": invalid JSON: " + toString(v.takeError()));
  return v;
}

/// Reads a small JSON file: a regular file of at most kMaxConfigBytes,
/// checked before anything is read (config.json could be a 16 GB file or a
/// device).
Expected<std::unique_ptr<MemoryBuffer>> readSmallFile(StringRef path) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return createStringError(ec, path + ": cannot read: " + ec.message());
  if (st.type() != sys::fs::file_type::regular_file)
    return fail(path + ": cannot read: not a regular file");
  if (st.getSize() > kMaxConfigBytes)
    return fail(path + ": larger than 1 MiB, not a model config");
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return createStringError(buf.getError(),
                             path + ": cannot read: " + buf.getError().message());
  // The file may have grown since the stat.
  if ((*buf)->getBufferSize() > kMaxConfigBytes)
    return fail(path + ": larger than 1 MiB, not a model config");
  return std::move(*buf);
}

class ConfigReader {
public:
  ConfigReader(const json::Object &obj, StringRef path) : obj(obj), path(path) {}

  Error error(const Twine &msg) const {
    return createStringError(inconvertibleErrorCode(), path + ": " + msg);
  }

  /// A required positive integer key.
  Error getDim(StringRef key, int64_t &out) const {
    const json::Value *v = obj.get(key);
    if (!v)
      return error("missing '" + key + "'");
    std::optional<int64_t> i = v->getAsInteger();
    if (!i)
      return error("'" + key + "' must be an integer");
    if (*i <= 0 || *i > kMaxDim)
      return error("'" + key + "' = " + Twine(*i) + " is out of range [1, " +
                   Twine(kMaxDim) + "]");
    out = *i;
    return Error::success();
  }

  Error getOptionalDim(StringRef key, int64_t &out) const {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null)
      return Error::success();
    return getDim(key, out);
  }

  Error getPositiveNumber(StringRef key, double &out, bool required) const {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null)
      return required ? error("missing '" + key + "'") : Error::success();
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d) || *d <= 0)
      return error("'" + key + "' must be a positive number");
    out = *d;
    return Error::success();
  }

  /// True if `key` is present and true.
  Expected<bool> getFlag(StringRef key) const {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null)
      return false;
    std::optional<bool> b = v->getAsBoolean();
    if (!b)
      return error("'" + key + "' must be true or false");
    return *b;
  }

  /// An int or a list of ints (eos_token_id); absent leaves `out` empty.
  Error getIdList(StringRef key, std::vector<int64_t> &out) const {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null)
      return Error::success();
    if (std::optional<int64_t> i = v->getAsInteger()) {
      out.push_back(*i);
      return Error::success();
    }
    const json::Array *arr = v->getAsArray();
    if (!arr)
      return error("'" + key + "' must be an integer or a list of integers");
    if (arr->size() > 1024)
      return error("'" + key + "' lists more than 1024 ids");
    for (const json::Value &e : *arr) {
      std::optional<int64_t> i = e.getAsInteger();
      if (!i)
        return error("'" + key + "' must be an integer or a list of integers");
      out.push_back(*i);
    }
    return Error::success();
  }

  const json::Object &obj;
  StringRef path;
};

/// A non-null object value of `key` in `obj`, or null; an empty object
/// counts as absent (transformers: `rope_scaling or rope_parameters`).
Expected<const json::Object *> optionalObject(const json::Object &obj,
                                              StringRef key,
                                              const ConfigReader &r) {
  const json::Value *v = obj.get(key);
  if (!v || v->kind() == json::Value::Null)
    return nullptr;
  const json::Object *o = v->getAsObject();
  if (!o)
    return r.error("'" + key + "' must be an object or null");
  return o->empty() ? nullptr : o;
}

/// Rotary embedding parameters, in either spelling: transformers 4.x's
/// top-level `rope_theta` + `rope_scaling`, or 5.x's `rope_parameters`
/// (which also holds `rope_theta`). Defaults and derived values follow
/// transformers' modeling_rope_utils.py; every key that would change the
/// math is either understood or an error naming it, never ignored.
Error readRope(const json::Object &obj, const ConfigReader &r, LlamaConfig &c) {
  Expected<const json::Object *> scaling = optionalObject(obj, "rope_scaling", r);
  if (!scaling)
    return scaling.takeError();
  Expected<const json::Object *> params =
      optionalObject(obj, "rope_parameters", r);
  if (!params)
    return params.takeError();
  if (*scaling && *params && **scaling != **params)
    return r.error("'rope_scaling' and 'rope_parameters' are both given and "
                   "differ: keep one");
  const json::Object *rope = *scaling ? *scaling : *params;
  StringRef where = *scaling ? "rope_scaling" : "rope_parameters";

  // Keys that may stand at the top level and inside the rope entry; inside
  // wins in transformers, so a disagreement is ambiguous.
  auto shared = [&](StringRef key) -> Expected<const json::Value *> {
    const json::Value *top = obj.get(key);
    if (top && top->kind() == json::Value::Null)
      top = nullptr;
    const json::Value *in = rope ? rope->get(key) : nullptr;
    if (in && in->kind() == json::Value::Null)
      in = nullptr;
    if (top && in && *top != *in)
      return r.error("'" + key + "' differs between the top level and '" +
                     where + "'");
    return in ? in : top;
  };
  auto number = [&](const json::Value *v, StringRef key,
                    double &out) -> Error {
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d) || *d <= 0)
      return r.error("'" + key + "' must be a positive number");
    out = *d;
    return Error::success();
  };

  Expected<const json::Value *> theta = shared("rope_theta");
  if (!theta)
    return theta.takeError();
  if (*theta)
    if (Error e = number(*theta, "rope_theta", c.ropeTheta))
      return e;
  // Llama rotates the whole head; a partial rotary factor is another model.
  Expected<const json::Value *> partial = shared("partial_rotary_factor");
  if (!partial)
    return partial.takeError();
  if (*partial && (*partial)->getAsNumber() != 1.0)
    return r.error("'partial_rotary_factor' other than 1 is not supported: "
                   "Llama rotates the whole head");
  if (!rope)
    return Error::success();

  std::optional<StringRef> type = rope->getString("rope_type");
  std::optional<StringRef> legacyType = rope->getString("type");
  for (StringRef key : {"rope_type", "type"})
    if (const json::Value *v = rope->get(key); v && !v->getAsString())
      return r.error("'" + where + "." + key + "' must be a string");
  if (type && legacyType && *type != *legacyType)
    return r.error("'" + where + "' gives rope_type '" + *type +
                   "' and type '" + *legacyType + "'");
  StringRef name = type ? *type : legacyType.value_or("default");

  using Type = LlamaRopeScaling::Type;
  LlamaRopeScaling s;
  // The keys each type reads (transformers' _validate_*_rope_parameters).
  SmallVector<StringRef> keys = {"rope_type", "type", "rope_theta",
                                 "partial_rotary_factor"};
  if (name == "default") {
  } else if (name == "llama3") {
    s.type = Type::Llama3;
    keys.append({"factor", "low_freq_factor", "high_freq_factor",
                 "original_max_position_embeddings"});
  } else if (name == "linear" || name == "dynamic") {
    s.type = name == "linear" ? Type::Linear : Type::Dynamic;
    keys.push_back("factor");
  } else if (name == "yarn") {
    s.type = Type::Yarn;
    keys.append({"factor", "original_max_position_embeddings",
                 "attention_factor", "beta_fast", "beta_slow", "mscale",
                 "mscale_all_dim", "truncate"});
  } else {
    return r.error("unsupported rope_type '" + name + "' in '" + where +
                   "': llmc supports default, llama3, linear, dynamic and "
                   "yarn");
  }
  for (const auto &kv : *rope)
    if (!llvm::is_contained(keys, StringRef(kv.first)))
      return r.error("'" + where + "' has key '" + StringRef(kv.first) +
                     "', which " + name + " rope does not take: refusing "
                     "to guess how it changes the model");
  if (name == "default")
    return Error::success();

  ConfigReader sr(*rope, r.path);
  auto optionalNumber = [&](StringRef key, double &out) -> Error {
    return sr.getPositiveNumber(key, out, /*required=*/false);
  };
  const json::Value *factorValue = rope->get("factor");
  bool hasFactor = factorValue && factorValue->kind() != json::Value::Null;
  if (s.type != Type::Yarn || hasFactor)
    if (Error e = sr.getPositiveNumber("factor", s.factor, true))
      return e;
  if (s.type == Type::Llama3 || s.type == Type::Yarn) {
    // A top-level original_max_position_embeddings takes priority
    // (transformers' standardize_rope_params); absent, it is
    // max_position_embeddings.
    s.originalMaxPositionEmbeddings = c.maxPositionEmbeddings;
    ConfigReader top(obj, r.path);
    if (Error e = top.getOptionalDim("original_max_position_embeddings",
                                     s.originalMaxPositionEmbeddings))
      return e;
    if (!obj.get("original_max_position_embeddings"))
      if (Error e = sr.getOptionalDim("original_max_position_embeddings",
                                      s.originalMaxPositionEmbeddings))
        return e;
  }
  if (s.type == Type::Llama3) {
    if (Error e = sr.getPositiveNumber("low_freq_factor", s.lowFreqFactor, true))
      return e;
    if (Error e =
            sr.getPositiveNumber("high_freq_factor", s.highFreqFactor, true))
      return e;
    if (!(s.highFreqFactor > s.lowFreqFactor))
      return r.error("rope_scaling needs high_freq_factor > low_freq_factor");
  }
  if (s.type == Type::Yarn) {
    if (!hasFactor) // DeepSeek-style: the ratio of the two context lengths
      s.factor = double(c.maxPositionEmbeddings) /
                 double(s.originalMaxPositionEmbeddings);
    double mscale = 0, mscaleAllDim = 0;
    if (Error e = optionalNumber("mscale", mscale))
      return e;
    if (Error e = optionalNumber("mscale_all_dim", mscaleAllDim))
      return e;
    auto getMscale = [](double scale, double m) {
      return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
    };
    if (mscale != 0 && mscaleAllDim != 0)
      s.attentionFactor =
          getMscale(s.factor, mscale) / getMscale(s.factor, mscaleAllDim);
    else
      s.attentionFactor = getMscale(s.factor, 1.0);
    if (Error e = optionalNumber("attention_factor", s.attentionFactor))
      return e;
    if (Error e = optionalNumber("beta_fast", s.betaFast))
      return e;
    if (Error e = optionalNumber("beta_slow", s.betaSlow))
      return e;
    // transformers: `if rope_parameters.get("truncate", True)`, so an
    // explicit null means false.
    Expected<bool> truncate = sr.getFlag("truncate");
    if (!truncate)
      return truncate.takeError();
    s.truncate = !rope->get("truncate") || *truncate;
  }
  if (s.factor < 1.0)
    return r.error("rope_scaling factor must be >= 1");
  c.ropeScaling = s;
  return Error::success();
}

} // namespace

Expected<LlamaConfig> parseLlamaConfig(StringRef text, StringRef path) {
  Expected<json::Value> root = parseJSONText(text, path);
  if (!root)
    return root.takeError();
  const json::Object *obj = root->getAsObject();
  if (!obj)
    return createStringError(inconvertibleErrorCode(),
                             path + ": expected a JSON object");
  ConfigReader r(*obj, path);

  // Architecture first: a wrong architecture explains every later mismatch.
  // Keys of the wrong JSON type are errors, not "absent": a string
  // "architectures" must not fall back to model_type.
  std::string arch;
  if (const json::Value *av = obj->get("architectures");
      av && av->kind() != json::Value::Null) {
    const json::Array *archs = av->getAsArray();
    if (!archs)
      return r.error("'architectures' must be a list of strings");
    for (const json::Value &a : *archs) {
      std::optional<StringRef> s = a.getAsString();
      if (!s)
        return r.error("'architectures' must be a list of strings");
      if (*s == "LlamaForCausalLM")
        arch = s->str();
      else if (arch.empty())
        arch = s->str();
    }
  }
  for (StringRef key : {"model_type", "hidden_act"})
    if (const json::Value *v = obj->get(key);
        v && v->kind() != json::Value::Null && !v->getAsString())
      return r.error("'" + key + "' must be a string");
  std::optional<StringRef> modelType = obj->getString("model_type");
  if (arch != "LlamaForCausalLM" && !(arch.empty() && modelType == "llama"))
    return r.error("unsupported architecture '" +
                   (arch.empty() ? modelType.value_or("unknown").str() : arch) +
                   "': llmc compiles LlamaForCausalLM (Llama 3, 3.1, 3.2)");
  if (modelType && *modelType != "llama")
    return r.error("unsupported model_type '" + *modelType +
                   "': expected 'llama'");
  for (StringRef moeKey : {"num_local_experts", "num_experts", "n_routed_experts"})
    if (const json::Value *v = obj->get(moeKey))
      if (std::optional<int64_t> n = v->getAsInteger(); n && *n > 0)
        return r.error("mixture-of-experts models are not supported ('" +
                       moeKey + "' = " + Twine(*n) + ")");
  for (StringRef biasKey : {"attention_bias", "mlp_bias"}) {
    Expected<bool> bias = r.getFlag(biasKey);
    if (!bias)
      return bias.takeError();
    if (*bias)
      return r.error("'" + biasKey +
                     "' is true: Llama 3 has no biases and llmc does not "
                     "compile them");
  }
  if (std::optional<StringRef> act = obj->getString("hidden_act"))
    if (*act != "silu")
      return r.error("unsupported hidden_act '" + *act + "': expected 'silu'");

  LlamaConfig c;
  if (Error e = r.getDim("hidden_size", c.hiddenSize))
    return std::move(e);
  if (Error e = r.getDim("intermediate_size", c.intermediateSize))
    return std::move(e);
  if (Error e = r.getDim("num_hidden_layers", c.numLayers))
    return std::move(e);
  if (Error e = r.getDim("num_attention_heads", c.numHeads))
    return std::move(e);
  c.numKvHeads = c.numHeads;
  if (Error e = r.getOptionalDim("num_key_value_heads", c.numKvHeads))
    return std::move(e);
  if (Error e = r.getDim("vocab_size", c.vocabSize))
    return std::move(e);
  if (Error e = r.getDim("max_position_embeddings", c.maxPositionEmbeddings))
    return std::move(e);
  const json::Value *headDimValue = obj->get("head_dim");
  bool hasHeadDim = headDimValue && headDimValue->kind() != json::Value::Null;
  if (c.hiddenSize % c.numHeads != 0 && !hasHeadDim)
    return r.error("hidden_size " + Twine(c.hiddenSize) +
                   " is not a multiple of num_attention_heads " +
                   Twine(c.numHeads) + " and no head_dim is given");
  c.headDim = c.hiddenSize / c.numHeads;
  if (Error e = r.getOptionalDim("head_dim", c.headDim))
    return std::move(e);
  if (c.headDim % 2 != 0)
    return r.error("head_dim " + Twine(c.headDim) +
                   " is odd: rotary embeddings need an even head_dim");
  if (c.numHeads % c.numKvHeads != 0)
    return r.error("num_attention_heads " + Twine(c.numHeads) +
                   " is not a multiple of num_key_value_heads " +
                   Twine(c.numKvHeads));
  if (c.numHeads * c.headDim > kMaxDim)
    return r.error("num_attention_heads x head_dim is too large");
  if (Error e = r.getPositiveNumber("rms_norm_eps", c.rmsNormEps, false))
    return std::move(e);
  Expected<bool> tied = r.getFlag("tie_word_embeddings");
  if (!tied)
    return tied.takeError();
  c.tieWordEmbeddings = *tied;

  if (Error e = readRope(*obj, r, c))
    return std::move(e);

  if (const json::Value *v = obj->get("bos_token_id");
      v && v->kind() != json::Value::Null) {
    std::optional<int64_t> i = v->getAsInteger();
    if (!i)
      return r.error("'bos_token_id' must be an integer");
    // Negative is not "missing" (-1 below): it must not be replaced by
    // generation_config.json's id.
    if (*i < 0 || *i >= c.vocabSize)
      return r.error("bos_token_id " + Twine(*i) +
                     " is outside the vocabulary of " + Twine(c.vocabSize));
    c.bosTokenId = *i;
  } else {
    c.bosTokenId = -1; // filled from generation_config.json or rejected
  }
  if (Error e = r.getIdList("eos_token_id", c.eosTokenIds))
    return std::move(e);
  // transformers 5 writes `dtype`, 4.x `torch_dtype`.
  for (StringRef key : {"dtype", "torch_dtype"})
    if (const json::Value *v = obj->get(key);
        v && v->kind() != json::Value::Null) {
      std::optional<StringRef> dt = v->getAsString();
      if (!dt)
        return r.error("'" + key + "' must be a string");
      if (!c.torchDtype.empty() && c.torchDtype != *dt)
        return r.error("'dtype' and 'torch_dtype' disagree ('" + c.torchDtype +
                       "' and '" + *dt + "')");
      c.torchDtype = dt->str();
    }
  return c;
}

Expected<LlamaConfig> loadLlamaConfig(StringRef dir) {
  SmallString<256> path(dir);
  sys::path::append(path, "config.json");
  if (!sys::fs::exists(path))
    return createStringError(inconvertibleErrorCode(),
                             dir + ": no config.json: not a Hugging Face "
                                   "model directory");
  Expected<std::unique_ptr<MemoryBuffer>> buf = readSmallFile(path);
  if (!buf)
    return buf.takeError();
  Expected<LlamaConfig> c = parseLlamaConfig((*buf)->getBuffer(), path);
  if (!c)
    return c.takeError();

  // The file each special token id came from, for messages.
  SmallString<256> gen(dir);
  sys::path::append(gen, "generation_config.json");
  StringRef bosFrom = path, eosFrom = path;
  if (c->bosTokenId < 0 || c->eosTokenIds.empty()) {
    if (sys::fs::exists(gen)) {
      Expected<std::unique_ptr<MemoryBuffer>> gbuf = readSmallFile(gen);
      if (!gbuf)
        return gbuf.takeError();
      Expected<json::Value> v = parseJSONText((*gbuf)->getBuffer(), gen);
      if (!v)
        return v.takeError();
      const json::Object *o = v->getAsObject();
      if (!o)
        return fail(gen + ": expected a JSON object");
      ConfigReader r(*o, gen);
      if (c->bosTokenId < 0) {
        if (const json::Value *b = o->get("bos_token_id");
            b && b->kind() != json::Value::Null) {
          std::optional<int64_t> i = b->getAsInteger();
          if (!i)
            return r.error("'bos_token_id' must be an integer");
          c->bosTokenId = *i;
          bosFrom = gen;
        }
      }
      if (c->eosTokenIds.empty()) {
        if (Error e = r.getIdList("eos_token_id", c->eosTokenIds))
          return std::move(e);
        eosFrom = gen;
      }
    }
  }
  auto inVocab = [&](int64_t id) { return id >= 0 && id < c->vocabSize; };
  if (bosFrom == StringRef(path) && c->bosTokenId < 0)
    return fail(path + ": no 'bos_token_id' (nor in generation_config.json)");
  if (!inVocab(c->bosTokenId))
    return fail(bosFrom + ": bos_token_id " + Twine(c->bosTokenId) +
                " is outside the vocabulary of " + Twine(c->vocabSize));
  if (c->eosTokenIds.empty())
    return fail(path + ": no 'eos_token_id' (nor in generation_config.json)");
  for (int64_t id : c->eosTokenIds)
    if (!inVocab(id))
      return fail(eosFrom + ": eos token id " + Twine(id) +
                  " is outside the vocabulary of " + Twine(c->vocabSize));
  return c;
}

} // namespace llmc
