//===- GGUFImporter.cpp - llama.cpp GGUF Llama model -> llm ---------------===//
//
// See GGUFImporter.h. The module has the shape the Hugging Face importer
// gives (same symbol names, shapes, @forward), so every pass and the
// packager treat both alike; only #llm.storage says the bytes are in a
// .gguf file (ggml dtypes, q/k rows in rope order).
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUFImporter.h"
#include "compiler/frontend/LlamaGraph.h"

#include "compiler/frontend/GGUF.h"
#include "compiler/frontend/Tokenizer.h"
#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

using namespace mlir;

namespace llmc {

bool isGGUFPath(StringRef path) {
  llvm::sys::fs::file_status st;
  bool exists = !llvm::sys::fs::status(path, st);
  if (exists && st.type() == llvm::sys::fs::file_type::directory_file)
    return false;
  // A missing *.gguf is a GGUF path too: its error says the file is missing.
  if (path.ends_with_insensitive(".gguf"))
    return true;
  if (!exists || st.type() != llvm::sys::fs::file_type::regular_file)
    return false;
  auto buf = llvm::MemoryBuffer::getFileSlice(path, 4, 0, /*IsVolatile=*/false);
  return buf && (*buf)->getBuffer() == "GGUF";
}

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 24;  // any width, vocab, context
constexpr int64_t kMaxLayers = 1 << 12;

/// How a GGUF tensor maps to a Hugging Face one.
struct ExpectedTensor {
  std::string gguf;            ///< name in the file
  std::string hf;              ///< symbol name in the module
  SmallVector<int64_t, 2> shape; ///< ours: [out, in]
  int64_t permuteHeads = 0;    ///< q / k: rows in rope order, N heads
  bool isNorm = false;
  llm::WeightRole role = llm::WeightRole::embed;
};

struct Hyper {
  int64_t hidden = 0, ffn = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0, vocab = 0, context = 0;
  double eps = 0, theta = 0;
  bool tied = false;
  int64_t bos = -1;
  SmallVector<int64_t> eos;
};

/// llama.cpp's name of a weight and, for q / k, the heads its rows are
/// permuted over (the converter reorders them for ggml's rope).
LlamaGraphShape graphShape(const Hyper &c) {
  LlamaGraphShape shape;
  shape.hidden = c.hidden;
  shape.ffn = c.ffn;
  shape.layers = c.layers;
  shape.heads = c.heads;
  shape.kvHeads = c.kvHeads;
  shape.headDim = c.headDim;
  shape.vocab = c.vocab;
  shape.maxContext = c.context;
  shape.rmsNormEps = c.eps;
  shape.ropeTheta = c.theta;
  shape.tiedEmbeddings = c.tied;
  return shape;
}

std::vector<ExpectedTensor> expectedTensors(const Hyper &c) {
  using R = llm::WeightRole;
  std::vector<ExpectedTensor> t;
  for (LlamaWeight &w : llamaWeights(graphShape(c))) {
    std::string g = "blk." + std::to_string(w.layer) + ".";
    ExpectedTensor e{"", w.name, w.shape};
    switch (w.role) {
    case R::embed: e.gguf = "token_embd.weight"; break;
    case R::attn_norm: e.gguf = g + "attn_norm.weight"; break;
    case R::attn_q: e.gguf = g + "attn_q.weight"; e.permuteHeads = c.heads; break;
    case R::attn_k: e.gguf = g + "attn_k.weight"; e.permuteHeads = c.kvHeads; break;
    case R::attn_v: e.gguf = g + "attn_v.weight"; break;
    case R::attn_o: e.gguf = g + "attn_output.weight"; break;
    case R::mlp_norm: e.gguf = g + "ffn_norm.weight"; break;
    case R::mlp_gate: e.gguf = g + "ffn_gate.weight"; break;
    case R::mlp_up: e.gguf = g + "ffn_up.weight"; break;
    case R::mlp_down: e.gguf = g + "ffn_down.weight"; break;
    case R::final_norm: e.gguf = "output_norm.weight"; break;
    case R::lm_head: e.gguf = "output.weight"; break;
    case R::attn_qkv:
    case R::mlp_gate_up:
      break; // made by llm-fuse, never in a file
    }
    e.isNorm = w.role == R::attn_norm || w.role == R::mlp_norm ||
               w.role == R::final_norm;
    e.role = w.role;
    t.push_back(std::move(e));
  }
  return t;
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The #llm.storage dtype of a ggml tensor type llmc reads.
std::optional<llm::DType> toDType(GGMLType t) {
  switch (t) {
  case GGMLType::F32: return llm::DType::f32;
  case GGMLType::F16: return llm::DType::f16;
  case GGMLType::BF16: return llm::DType::bf16;
  default:
    for (unsigned v = 0; v <= llm::getMaxEnumValForDType(); ++v)
      if (std::optional<llm::DType> d = llm::symbolizeDType(v))
        if (llm::getGGMLType(*d) == t)
          return d;
    return std::nullopt;
  }
}

class Importer {
public:
  Importer(MLIRContext &ctx, StringRef path, const GGUFImportOptions &options)
      : ctx(ctx), path(path.str()), options(options), b(&ctx) {}

  OwningOpRef<ModuleOp> run();

private:
  Location fileLoc() { return FileLineColLoc::get(&ctx, path, 0, 0); }
  Location tensorLoc(StringRef name) {
    return NameLoc::get(b.getStringAttr(name), fileLoc());
  }
  /// An error on the file (or a tensor in it): the CLI prints the file.
  InFlightDiagnostic error() { return emitError(fileLoc()); }
  InFlightDiagnostic error(StringRef tensor) {
    return emitError(tensorLoc(tensor));
  }

  /// A positive integer hyper-parameter within [1, max]; `dflt` if absent
  /// (an error if absent and no default).
  std::optional<int64_t> count(StringRef key, int64_t max,
                               std::optional<int64_t> dflt = std::nullopt);
  std::optional<double> positiveFloat(StringRef key,
                                      std::optional<double> dflt);
  LogicalResult readHyper();
  LogicalResult readSpecialIds();
  LogicalResult readRopeScaling();
  LogicalResult checkTensors();
  void emitWeights();
  void emitForward(int64_t maxContext);

  MLIRContext &ctx;
  std::string path;
  GGUFImportOptions options;
  OpBuilder b;
  ModuleOp module;
  std::unique_ptr<GGUFFile> file;
  Hyper c;
  llm::RopeScalingAttr scaling;
  std::vector<ExpectedTensor> expected;
  llvm::StringSet<> integerWeights; ///< keepQuantization: int_group weights
};

std::optional<int64_t> Importer::count(StringRef key, int64_t max,
                                       std::optional<int64_t> dflt) {
  const GGUFValue *v = file->lookup(key);
  if (!v) {
    if (!dflt)
      error() << "missing metadata key '" << key << "'";
    return dflt;
  }
  std::optional<uint64_t> u = v->asUnsigned();
  if (!u) {
    error() << "metadata '" << key << "' must be a non-negative integer, got "
            << (v->isInteger() ? "a negative integer"
                               : ggufValueTypeName(v->type()));
    return std::nullopt;
  }
  if (*u < 1 || *u > uint64_t(max)) {
    error() << "metadata '" << key << "' = " << *u << " is outside [1, " << max
            << "]";
    return std::nullopt;
  }
  return int64_t(*u);
}

std::optional<double> Importer::positiveFloat(StringRef key,
                                              std::optional<double> dflt) {
  const GGUFValue *v = file->lookup(key);
  if (!v) {
    if (!dflt)
      error() << "missing metadata key '" << key << "'";
    return dflt;
  }
  std::optional<double> f = v->asFloat();
  if (!f) {
    error() << "metadata '" << key << "' must be a float, got "
            << ggufValueTypeName(v->type());
    return std::nullopt;
  }
  if (!(*f > 0) || !std::isfinite(*f)) {
    error() << "metadata '" << key << "' = " << *f
            << " must be positive and finite";
    return std::nullopt;
  }
  if (v->type() == GGUFValueType::F32) {
    // The converter stored a config.json decimal as f32: take the shortest
    // decimal that reads back to this float (1e-5, not 9.99999974e-06), so
    // the model computes with the value config.json had.
    float x = float(*f);
    char buf[32];
    for (int precision = 1; precision <= 9; ++precision) {
      std::snprintf(buf, sizeof(buf), "%.*g", precision, double(x));
      if (std::strtof(buf, nullptr) == x)
        return std::strtod(buf, nullptr);
    }
  }
  return *f;
}

LogicalResult Importer::readHyper() {
  const GGUFValue *arch = file->lookup("general.architecture");
  if (!arch || !arch->asString()) {
    error() << "no 'general.architecture' string: not a llama.cpp model file";
    return failure();
  }
  StringRef a = *arch->asString();
  if (a != "llama") {
    error() << "unsupported architecture '" << a
            << "': llmc compiles Llama models (general.architecture "
               "'llama': Llama 3, 3.1, 3.2)";
    return failure();
  }
  if (const GGUFValue *e = file->lookup("llama.expert_count")) {
    std::optional<uint64_t> n = e->asUnsigned();
    if (!n || *n > 0) {
      error() << "'llama.expert_count' is set: mixture-of-experts models are "
                 "not supported";
      return failure();
    }
  }
  auto h = count("llama.embedding_length", kMaxDim);
  auto l = count("llama.block_count", kMaxLayers);
  auto f = count("llama.feed_forward_length", kMaxDim);
  auto nh = count("llama.attention.head_count", kMaxDim);
  if (!h || !l || !f || !nh)
    return failure();
  auto nkv = count("llama.attention.head_count_kv", kMaxDim, *nh);
  auto ctxLen = count("llama.context_length", kMaxDim);
  if (!nkv || !ctxLen)
    return failure();
  c.hidden = *h;
  c.layers = *l;
  c.ffn = *f;
  c.heads = *nh;
  c.kvHeads = *nkv;
  c.context = *ctxLen;
  if (c.heads % c.kvHeads != 0) {
    error() << "head_count " << c.heads << " is not a multiple of "
            << "head_count_kv " << c.kvHeads;
    return failure();
  }
  std::optional<int64_t> dflt;
  if (c.hidden % c.heads == 0)
    dflt = c.hidden / c.heads;
  if (!dflt && !file->lookup("llama.attention.key_length")) {
    error() << "embedding_length " << c.hidden << " is not a multiple of "
            << "head_count " << c.heads << " and there is no "
            << "'llama.attention.key_length'";
    return failure();
  }
  auto hd = count("llama.attention.key_length", kMaxDim, dflt);
  if (!hd)
    return failure();
  c.headDim = *hd;
  if (c.headDim % 2 != 0 || c.heads * c.headDim > kMaxDim) {
    error() << "head dimension " << c.headDim << " x " << c.heads
            << " heads is not supported (odd, or too large)";
    return failure();
  }
  auto vl = count("llama.attention.value_length", kMaxDim, c.headDim);
  auto rd = count("llama.rope.dimension_count", kMaxDim, c.headDim);
  if (!vl || !rd)
    return failure();
  if (*vl != c.headDim) {
    error() << "attention.value_length " << *vl << " differs from key_length "
            << c.headDim << ": not a Llama model";
    return failure();
  }
  if (*rd != c.headDim) {
    error() << "rope.dimension_count " << *rd << " differs from the head "
            << "dimension " << c.headDim
            << ": partial rotary embeddings are not supported";
    return failure();
  }
  auto eps = positiveFloat("llama.attention.layer_norm_rms_epsilon",
                           std::nullopt);
  auto theta = positiveFloat("llama.rope.freq_base", 10000.0);
  if (!eps || !theta)
    return failure();
  c.eps = *eps;
  c.theta = *theta;

  // Vocabulary: llama.vocab_size, the token list and token_embd must agree.
  const GGUFValue *tokens = file->lookup("tokenizer.ggml.tokens");
  std::optional<int64_t> nTokens;
  if (tokens) {
    if (!tokens->isArray() || tokens->elementType() != GGUFValueType::String) {
      error() << "metadata 'tokenizer.ggml.tokens' must be an array of strings";
      return failure();
    }
    nTokens = int64_t(tokens->size());
  }
  const GGUFTensorInfo *embd = file->tensor("token_embd.weight");
  std::optional<int64_t> vocab;
  if (file->lookup("llama.vocab_size")) {
    vocab = count("llama.vocab_size", kMaxDim);
    if (!vocab)
      return failure();
  } else if (nTokens) {
    vocab = nTokens;
  } else if (embd && embd->dims.size() == 2) {
    vocab = int64_t(embd->dims[1]);
  }
  if (!vocab || *vocab < 1 || *vocab > kMaxDim) {
    error() << "cannot tell the vocabulary size (no llama.vocab_size, "
               "tokenizer.ggml.tokens or token_embd.weight)";
    return failure();
  }
  if (nTokens && *nTokens != *vocab) {
    error() << "tokenizer.ggml.tokens has " << *nTokens
            << " tokens but llama.vocab_size is " << *vocab;
    return failure();
  }
  c.vocab = *vocab;
  c.tied = file->tensor("output.weight") == nullptr;
  return success();
}

LogicalResult Importer::readSpecialIds() {
  auto id = [&](StringRef key) -> FailureOr<std::optional<int64_t>> {
    const GGUFValue *v = file->lookup(key);
    if (!v)
      return std::optional<int64_t>();
    std::optional<uint64_t> u = v->asUnsigned();
    if (!u || *u >= uint64_t(c.vocab)) {
      error() << "metadata '" << key << "' is not a token id of the "
              << c.vocab << "-token vocabulary";
      return failure();
    }
    return std::optional<int64_t>(int64_t(*u));
  };
  // Control tokens by text, as llama.cpp finds its end-of-generation set.
  llvm::StringMap<int64_t> control;
  if (const GGUFValue *tokens = file->lookup("tokenizer.ggml.tokens")) {
    const GGUFValue *types = file->lookup("tokenizer.ggml.token_type");
    ArrayRef<StringRef> s = tokens->strings();
    for (size_t i = 0; i < s.size(); ++i) {
      std::optional<int64_t> t =
          types && i < types->size() ? types->signedAt(i) : std::nullopt;
      if (t && *t == 3)
        control.try_emplace(s[i], int64_t(i));
    }
  }
  auto bos = id("tokenizer.ggml.bos_token_id");
  if (failed(bos))
    return failure();
  if (*bos) {
    c.bos = **bos;
  } else if (auto it = control.find("<|begin_of_text|>"); it != control.end()) {
    c.bos = it->second;
  } else {
    error() << "no 'tokenizer.ggml.bos_token_id' and no <|begin_of_text|> "
               "token";
    return failure();
  }
  auto addEos = [&](int64_t e) {
    if (!llvm::is_contained(c.eos, e))
      c.eos.push_back(e);
  };
  for (StringRef key : {"tokenizer.ggml.eos_token_id",
                        "tokenizer.ggml.eot_token_id",
                        "tokenizer.ggml.eom_token_id"}) {
    auto e = id(key);
    if (failed(e))
      return failure();
    if (*e)
      addEos(**e);
  }
  for (StringRef text : {"<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"})
    if (auto it = control.find(text); it != control.end())
      addEos(it->second);
  return success();
}

LogicalResult Importer::readRopeScaling() {
  if (const GGUFValue *t = file->lookup("llama.rope.scaling.type")) {
    std::optional<StringRef> s = t->asString();
    if (!s || (*s != "none" && *s != "llama3")) {
      error() << "rope scaling type '" << (s ? *s : "?")
              << "' is not supported (Llama 3.1's scaling comes as "
                 "rope_freqs.weight)";
      return failure();
    }
  }
  const GGUFTensorInfo *t = file->tensor("rope_freqs.weight");
  if (!t)
    return success();
  int64_t n = c.headDim / 2;
  if (t->type != GGMLType::F32 || t->dims.size() != 1 ||
      t->dims[0] != uint64_t(n)) {
    error("rope_freqs.weight")
        << "tensor 'rope_freqs.weight' must be F32 [" << n << "] (one "
        << "divisor per rotary frequency), got " << ggmlTypeName(t->type)
        << " with " << t->dims.size() << " dims";
    return failure();
  }
  ArrayRef<uint8_t> bytes = file->data(*t);
  if (bytes.size() < uint64_t(4 * n)) { // the parser guarantees it; be sure
    error("rope_freqs.weight") << "rope_freqs.weight: data out of bounds";
    return failure();
  }
  std::vector<double> table(n);
  bool allOne = true;
  double maxFactor = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = llvm::support::endian::read32le(bytes.data() + 4 * i);
    float v;
    std::memcpy(&v, &bits, 4);
    if (!(v > 0) || !std::isfinite(v)) {
      error("rope_freqs.weight") << "rope_freqs.weight[" << i << "] = " << v
                                 << " is not a positive divisor";
      return failure();
    }
    table[i] = v;
    allOne &= v == 1.0f;
    maxFactor = std::max(maxFactor, double(v));
  }
  if (allOne)
    return success();

  // Candidate parameters: the metadata's (llama.cpp writes them only for
  // some conversions), then Llama 3.1's and 3.2's.
  SmallVector<double> factors;
  SmallVector<int64_t> origs;
  if (const GGUFValue *v = file->lookup("llama.rope.scaling.factor"))
    if (std::optional<double> f = v->asFloat(); f && *f >= 1 && *f < 1e6)
      factors.push_back(*f);
  if (const GGUFValue *v =
          file->lookup("llama.rope.scaling.original_context_length"))
    if (std::optional<uint64_t> o = v->asUnsigned(); o && *o > 0 && *o < 1u << 30)
      origs.push_back(int64_t(*o));
  factors.append({maxFactor, 8.0, 32.0});
  origs.push_back(8192);
  // llama.cpp's converter stores 1 / the scaling of each frequency.
  llm::RopeFrequencies plain = llm::computeRope(c.headDim, c.theta, nullptr);
  for (double factor : factors)
    for (int64_t orig : origs) {
      if (!(factor >= 1.0))
        continue;
      auto candidate = llm::RopeScalingAttr::get(&ctx, factor, 1.0, 4.0, orig);
      llm::RopeFrequencies scaled =
          llm::computeRope(c.headDim, c.theta, candidate);
      bool match = true;
      for (int64_t i = 0; i < n && match; ++i) {
        double want = double(plain.invFreq[i]) / double(scaled.invFreq[i]);
        match = std::fabs(want - table[i]) <= 1e-5 * want;
      }
      if (match) {
        scaling = candidate;
        return success();
      }
    }
  error("rope_freqs.weight")
      << "rope_freqs.weight is not Llama 3.1 rope scaling for any known "
         "parameters (factor 8 or 32 or llama.rope.scaling.factor, "
         "low_freq_factor 1, high_freq_factor 4, original context 8192 or "
         "llama.rope.scaling.original_context_length): unsupported";
  return failure();
}

LogicalResult Importer::checkTensors() {
  expected = expectedTensors(c);
  llvm::StringMap<const ExpectedTensor *> byName;
  for (const ExpectedTensor &e : expected)
    byName[e.gguf] = &e;
  for (const GGUFTensorInfo &t : file->tensors()) {
    if (byName.count(t.name) || t.name == "rope_freqs.weight")
      continue;
    StringRef n = t.name;
    if (n.ends_with(".bias")) {
      error(n) << "tensor '" << n << "' is a bias: Llama has no biases and "
               << "llmc does not compile them";
      return failure();
    }
    error(n) << "unexpected tensor '" << n << "': not part of a Llama model "
             << "with " << c.layers << " layers";
    return failure();
  }
  for (const ExpectedTensor &e : expected) {
    const GGUFTensorInfo *t = file->tensor(e.gguf);
    if (!t) {
      error() << "missing tensor '" << e.gguf << "' (the metadata describes "
              << c.layers << " layers)";
      return failure();
    }
    SmallVector<int64_t, 2> ours(t->dims.rbegin(), t->dims.rend());
    if (ArrayRef<int64_t>(ours) != ArrayRef<int64_t>(e.shape)) {
      SmallVector<int64_t, 2> ggml(e.shape.rbegin(), e.shape.rend());
      error(e.gguf) << "tensor '" << e.gguf << "' has ggml dims "
                    << shapeStr(SmallVector<int64_t>(t->dims.begin(),
                                                     t->dims.end()))
                    << " but the metadata implies " << shapeStr(ggml);
      return failure();
    }
    GGMLType ty = t->type;
    bool plain = ty == GGMLType::F32 || ty == GGMLType::F16 ||
                 ty == GGMLType::BF16;
    bool block = toDType(ty).has_value() && !plain;
    if (!plain && !(block && !e.isNorm)) {
      error(e.gguf) << "tensor '" << e.gguf << "' has type "
                    << ggmlTypeName(ty) << "; supported: "
                    << (e.isNorm ? "F32, F16, BF16 (norms)"
                                 : "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                                   "Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K");
      return failure();
    }
  }
  return success();
}

void Importer::emitWeights() {
  b.setInsertionPointToEnd(module.getBody());
  StringAttr fileName = b.getStringAttr(llvm::sys::path::filename(path));
  for (const ExpectedTensor &e : expected) {
    const GGUFTensorInfo *t = file->tensor(e.gguf);
    llm::DType dtype = *toDType(t->type); // checkTensors: a known type
    auto storage = llm::WeightStorageAttr::get(
        &ctx, fileName, b.getStringAttr(e.gguf), t->offset, dtype,
        ArrayRef<int64_t>(e.shape), e.permuteHeads);
    llm::QuantAttr quant;
    if (options.keepQuantization && !e.isNorm) {
      if (std::optional<ggml::BlockForm> form = ggml::blockForm(t->type)) {
        // The layout that holds the file's codes, scales and mins unchanged
        // (for Q8_0 / Q4_0 the same bytes).
        ggml::KeptLayout k = ggml::keptLayout(*form);
        quant = llm::QuantAttr::get(
            &ctx, llm::QuantScheme::int_group, k.bits, k.group,
            k.asymmetric ? llm::ZeroPoint::asymmetric : llm::ZeroPoint::symmetric,
            k.scaleBytes == 2 ? llm::DType::f16 : llm::DType::f32);
        integerWeights.insert(e.hf);
      } else if (dtype == llm::DType::f16) {
        quant = llm::QuantAttr::get(&ctx, llm::QuantScheme::float_cast, 16, 0,
                                    llm::ZeroPoint::symmetric, llm::DType::f16);
      }
    }
    auto type = RankedTensorType::get(e.shape, b.getF32Type());
    b.create<llm::WeightOp>(tensorLoc(e.gguf), e.hf, type, storage, ArrayAttr(),
                            llm::WeightStorageAttr(), quant,
                            IntegerAttr(), llm::WeightRoleAttr::get(&ctx, e.role),
                            /*packed=*/IntegerAttr());
  }
}

void Importer::emitForward(int64_t maxContext) {
  LlamaGraphShape shape = graphShape(c);
  shape.maxContext = maxContext;
  shape.ropeScaling = scaling;
  // Kept block formats are already quantized weights.
  emitLlamaForward(b, module, fileLoc(), shape,
                   [&](StringRef w) { return integerWeights.contains(w); });
}

OwningOpRef<ModuleOp> Importer::run() {
  ctx.loadDialect<llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  llvm::Expected<std::unique_ptr<GGUFFile>> opened = GGUFFile::open(path);
  if (!opened) {
    emitError(fileLoc()) << llvm::toString(opened.takeError());
    return {};
  }
  file = std::move(*opened);
  if (failed(readHyper()) || failed(readSpecialIds()) ||
      failed(readRopeScaling()) || failed(checkTensors()))
    return {};

  int64_t maxContext = c.context;
  if (options.maxContext > 0) {
    if (options.maxContext > c.context) {
      error() << "requested max context " << options.maxContext
              << " exceeds the model's context length (llama.context_length) "
              << c.context;
      return {};
    }
    maxContext = options.maxContext;
  } else if (options.maxContextCap > 0) {
    maxContext = std::min(maxContext, options.maxContextCap);
  }

  OwningOpRef<ModuleOp> owned = ModuleOp::create(fileLoc());
  module = *owned;
  auto emitConfigError = [&] { return error(); };
  auto cfg = llm::ModelConfigAttr::getChecked(
      llvm::function_ref<InFlightDiagnostic()>(emitConfigError), &ctx,
      c.hidden, c.ffn, c.layers, c.heads, c.kvHeads, c.headDim, c.vocab,
      maxContext, llvm::APFloat(c.eps), llvm::APFloat(c.theta), scaling,
      c.tied, c.bos, ArrayRef<int64_t>(c.eos));
  if (!cfg)
    return {};
  module->setAttr(llm::LLMDialect::kConfigAttrName, cfg);
  emitWeights();
  emitForward(maxContext);

  PassManager pm(&ctx);
  pm.addPass(createLLMVerifyModel());
  if (failed(pm.run(module)))
    return {};
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> importGGUF(MLIRContext &context, StringRef path,
                                 const GGUFImportOptions &options) {
  return Importer(context, path, options).run();
}

} // namespace llmc
