//===- GGUFTokenizer.cpp - tokenizer.ggml.* -> a tokenizer blob ------------===//
//
// A GGUF file's tokenizer metadata becomes the tokenizer.json it stands for,
// which the tokenizer.json path (Tokenizer.cpp) turns into the runtime's
// blob: one validation for both inputs. LLVM Support only, like the GGUF
// reader, so it is fuzzed with it (fuzz/GGUFFuzz.cpp).
//===----------------------------------------------------------------------===//
#include "compiler/frontend/GGUFTokenizer.h"

#include "compiler/frontend/Tokenizer.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using llvm::ArrayRef;
using llvm::StringRef;

namespace llmc {

//===----------------------------------------------------------------------===//
// Tokenizer: tokenizer.ggml.* -> an equivalent tokenizer.json
//===----------------------------------------------------------------------===//

namespace {

// llama.cpp's token types (llama.h, enum llama_token_type / gguf TokenType).
enum TokenType : int64_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string quoted(StringRef s) {
  std::string out = "'";
  for (unsigned char ch : s.take_front(64)) {
    if (ch < 0x20 || ch == 0x7f)
      out += llvm::formatv("\\x{0:x-2}", unsigned(ch)).str();
    else
      out += char(ch);
  }
  return out + (s.size() > 64 ? "...'" : "'");
}

} // namespace

llvm::Expected<std::optional<std::vector<uint8_t>>>
buildGGUFTokenizerBlob(StringRef path) {
  llvm::Expected<std::unique_ptr<GGUFFile>> opened = GGUFFile::open(path);
  if (!opened)
    return opened.takeError();
  return buildGGUFTokenizerBlob(**opened, path);
}

llvm::Expected<std::optional<std::vector<uint8_t>>>
buildGGUFTokenizerBlob(const GGUFFile &f, StringRef path) {
  if (!f.lookup("tokenizer.ggml.tokens"))
    return std::nullopt;
  std::string where = (path + ": tokenizer.ggml.").str();

  llvm::Expected<StringRef> model = f.getString("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  if (*model != "gpt2")
    return fail(where + "model is '" + *model +
                "'; llmc supports Llama 3's byte-level BPE ('gpt2'), not "
                "SentencePiece ('llama', as in Llama 2) or others");
  llvm::Expected<StringRef> pre = f.getString("tokenizer.ggml.pre");
  if (!pre)
    return pre.takeError();
  if (*pre != "llama-bpe" && *pre != "llama3" && *pre != "llama-v3")
    return fail(where + "pre is '" + *pre +
                "'; llmc supports Llama 3's pre-tokenizer ('llama-bpe') only");

  llvm::Expected<ArrayRef<StringRef>> tokens =
      f.getStringArray("tokenizer.ggml.tokens");
  if (!tokens)
    return tokens.takeError();
  if (tokens->size() > kMaxVocab)
    return fail(where + "tokens: " + llvm::Twine(tokens->size()) +
                " tokens, more than " + llvm::Twine(kMaxVocab));
  std::vector<int32_t> types(tokens->size(), kNormal);
  if (f.lookup("tokenizer.ggml.token_type")) {
    llvm::Expected<std::vector<int32_t>> t =
        f.getI32Array("tokenizer.ggml.token_type");
    if (!t)
      return t.takeError();
    if (t->size() != tokens->size())
      return fail(where + "token_type has " + llvm::Twine(t->size()) +
                  " entries for " + llvm::Twine(tokens->size()) + " tokens");
    types = std::move(*t);
  }
  ArrayRef<StringRef> merges;
  if (f.lookup("tokenizer.ggml.merges")) {
    llvm::Expected<ArrayRef<StringRef>> m =
        f.getStringArray("tokenizer.ggml.merges");
    if (!m)
      return m.takeError();
    merges = *m;
  }
  if (merges.size() > kMaxMerges)
    return fail(where + "merges: " + llvm::Twine(merges.size()) +
                " merges, more than " + llvm::Twine(kMaxMerges));

  // Normal tokens form the BPE vocabulary (GPT-2 byte-level strings, as in
  // tokenizer.json); control and user-defined tokens are added tokens (raw
  // text, as llama.cpp stores them); unused ids stay holes.
  llvm::json::Object vocab;
  llvm::json::Array added;
  llvm::StringMap<size_t> seen;
  for (size_t i = 0; i < tokens->size(); ++i) {
    StringRef t = (*tokens)[i];
    int32_t ty = types[i];
    if (ty == kUnused)
      continue;
    if (!llvm::json::isUTF8(t))
      return fail(where + "tokens[" + llvm::Twine(i) + "] is not valid UTF-8");
    if (t.empty())
      return fail(where + "tokens[" + llvm::Twine(i) + "] is empty");
    if (ty != kNormal && ty != kControl && ty != kUserDefined)
      return fail(where + "tokens[" + llvm::Twine(i) + "] " + quoted(t) +
                  " has token type " + llvm::Twine(ty) +
                  (ty == kByte ? " (BYTE: a SentencePiece byte-fallback token)"
                               : "") +
                  "; a Llama 3 vocabulary has normal (1), control (3), "
                  "user-defined (4) and unused (5) tokens only");
    if (auto [it, ok] = seen.try_emplace(t, i); !ok)
      return fail(where + "tokens[" + llvm::Twine(i) + "] " + quoted(t) +
                  " duplicates tokens[" + llvm::Twine(it->second) + "]");
    if (ty == kNormal) {
      vocab[t] = int64_t(i);
    } else {
      added.push_back(llvm::json::Object{{"id", int64_t(i)},
                                         {"content", t},
                                         {"single_word", false},
                                         {"lstrip", false},
                                         {"rstrip", false},
                                         {"normalized", false},
                                         {"special", ty == kControl}});
    }
  }
  llvm::json::Array mergeList;
  mergeList.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    if (!llvm::json::isUTF8(merges[i]))
      return fail(where + "merges[" + llvm::Twine(i) + "] is not valid UTF-8");
    mergeList.push_back(merges[i]);
  }
  llvm::json::Value pretok = llvm::json::Object{
      {"type", "Sequence"},
      {"pretokenizers",
       llvm::json::Array{
           llvm::json::Object{{"type", "Split"},
                              {"pattern", llvm::json::Object{
                                              {"Regex", kLlama3Pattern}}},
                              {"behavior", "Isolated"},
                              {"invert", false}},
           llvm::json::Object{{"type", "ByteLevel"},
                              {"add_prefix_space", false},
                              {"trim_offsets", true},
                              {"use_regex", false}}}}};
  llvm::json::Object root{
      {"version", "1.0"},
      {"added_tokens", std::move(added)},
      {"normalizer", nullptr},
      {"pre_tokenizer", std::move(pretok)},
      {"decoder", llvm::json::Object{{"type", "ByteLevel"},
                                     {"add_prefix_space", true},
                                     {"trim_offsets", true},
                                     {"use_regex", true}}},
      {"model", llvm::json::Object{{"type", "BPE"},
                                   {"dropout", nullptr},
                                   {"unk_token", nullptr},
                                   {"byte_fallback", false},
                                   // llama.cpp's llama-bpe sets ignore_merges
                                   // (as Llama 3's tokenizer.json does).
                                   {"ignore_merges", true},
                                   {"vocab", std::move(vocab)},
                                   {"merges", std::move(mergeList)}}}};

  // Special ids as a generation_config.json would give them; the chat
  // template as tokenizer_config.json would.
  llvm::json::Object gen;
  for (auto [key, json] : {std::pair<StringRef, StringRef>{
                               "tokenizer.ggml.bos_token_id", "bos_token_id"},
                           {"tokenizer.ggml.eos_token_id", "eos_token_id"}}) {
    if (!f.lookup(key))
      continue;
    llvm::Expected<uint32_t> id = f.getU32(key);
    if (!id)
      return id.takeError();
    gen[json] = int64_t(*id);
  }
  std::string cfgText;
  if (const GGUFValue *tmpl = f.lookup("tokenizer.chat_template")) {
    std::optional<StringRef> s = tmpl->asString();
    if (!s || !llvm::json::isUTF8(*s))
      return fail(path + ": tokenizer.chat_template must be a UTF-8 string");
    cfgText = llvm::formatv(
        "{0}", llvm::json::Value(llvm::json::Object{{"chat_template", *s}}));
  }
  std::string tokText =
      llvm::formatv("{0}", llvm::json::Value(std::move(root)));
  std::string genText =
      llvm::formatv("{0}", llvm::json::Value(std::move(gen)));
  std::string tokPath = (path + " (tokenizer.ggml.*)").str();
  llvm::Expected<std::vector<uint8_t>> blob = buildTokenizerBlobFromText(
      tokText, tokPath, cfgText, tokPath, genText, tokPath);
  if (!blob)
    return blob.takeError();
  return std::optional<std::vector<uint8_t>>(std::move(*blob));
}

} // namespace llmc
