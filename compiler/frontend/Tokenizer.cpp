//===- Tokenizer.cpp - Llama 3 tokenizer.json -> tokenizer blob -----------===//

#include "compiler/frontend/Tokenizer.h"

#include "compiler/frontend/Safetensors.h"
#include "runtime/include/llmc_tokenizer_format.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

using namespace llvm;

namespace llmc {

const char kLlama3Pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static_assert(sizeof(llmc_tok_header) == 96, "llmc_tok_header layout");
static_assert(sizeof(llmc_tok_entry) == 12, "llmc_tok_entry layout");
static_assert(sizeof(llmc_tok_merge) == 16, "llmc_tok_merge layout");

namespace {

// tokenizer.json nests 5 levels in Llama 3 (root, pre_tokenizer, its list,
// Split, pattern); configs 3 or 4.
constexpr unsigned kMaxJSONDepth = 32;
constexpr uint64_t kMaxTokenizerConfigBytes = uint64_t(16) << 20;
constexpr uint64_t kMaxGenerationConfigBytes = uint64_t(1) << 20;

Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// A token's text for messages: at most 48 bytes, non-printable bytes as \xNN.
std::string quote(StringRef s) {
  std::string out = "'";
  size_t n = std::min<size_t>(s.size(), 48);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  if (s.size() > n)
    out += "...";
  return out + "'";
}

StringRef kindName(const json::Value &v) { return jsonKindName(v); }

/// GPT-2's bytes_to_unicode, inverted: code point -> byte, -1 if none. Bytes
/// 0x21-0x7e, 0xa1-0xac and 0xae-0xff stand for themselves; the other 68 map
/// in order to U+0100..U+0143.
struct ByteLevelTable {
  int16_t cpToByte[256 + 68];
  ByteLevelTable() {
    std::fill(std::begin(cpToByte), std::end(cpToByte), int16_t(-1));
    unsigned next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      bool self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
                  (b >= 0xae && b <= 0xff);
      cpToByte[self ? b : next++] = int16_t(b);
    }
  }
};

const ByteLevelTable &byteLevelTable() {
  static const ByteLevelTable table;
  return table;
}

/// Undoes the GPT-2 byte-to-unicode mapping of a (valid UTF-8) vocab string.
/// False if a character is not one of the 256 the mapping produces.
bool decodeByteLevel(StringRef s, std::string &out) {
  const ByteLevelTable &t = byteLevelTable();
  out.clear();
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f;
      len = 2;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f;
      len = 3;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp >= sizeof(t.cpToByte) / sizeof(t.cpToByte[0]) || t.cpToByte[cp] < 0)
      return false;
    out += char(t.cpToByte[cp]);
    i += len;
  }
  return true;
}

/// Reads a regular file of at most `cap` bytes.
Expected<std::unique_ptr<MemoryBuffer>> readFile(StringRef path, uint64_t cap) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return fail(path + ": cannot read: " + ec.message());
  if (st.type() != sys::fs::file_type::regular_file)
    return fail(path + ": cannot read: not a regular file");
  if (st.getSize() > cap)
    return fail(path + ": larger than " + Twine(cap >> 20) +
                " MiB, not a tokenizer file");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buf =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buf)
    return fail(path + ": cannot read: " + buf.getError().message());
  if ((*buf)->getBufferSize() > cap) // grew since the stat
    return fail(path + ": larger than " + Twine(cap >> 20) +
                " MiB, not a tokenizer file");
  return std::move(*buf);
}

/// UTF-8, depth, parse, duplicate keys; the root must be an object.
Expected<json::Value> parseObject(StringRef text, StringRef path) {
  if (!json::isUTF8(text))
    return fail(path + ": not valid UTF-8");
  if (Error e = checkJSONDepth(text, kMaxJSONDepth, path))
    return std::move(e);
  Expected<json::Value> v = json::parse(text);
  if (!v)
    return fail(path + ": invalid JSON: " + toString(v.takeError()));
  if (Error e = checkJSONDuplicateKeys(text, path, "key"))
    return std::move(e);
  if (!v->getAsObject())
    return fail(path + ": expected a JSON object, got " + kindName(*v));
  return std::move(*v);
}

struct Token {
  std::string bytes;
  uint32_t flags = LLMC_TOK_FLAG_UNUSED;
  bool inVocab = false; // from model.vocab (BPE can produce it)
};

class Builder {
public:
  explicit Builder(StringRef path) : path(path) {}

  Error parseTokenizer(const json::Object &root);
  Error parseTokenizerConfig(const json::Object &cfg, StringRef cfgPath);
  Error parseGenerationConfig(const json::Object &gen, StringRef genPath);
  void resolveSpecialIds();
  std::vector<uint8_t> write() const;

private:
  Error err(const Twine &msg) const { return fail(path + ": " + msg); }
  Error checkModel(const json::Object &model);
  Error checkNormalizer(const json::Object &root);
  Error checkPreTokenizer(const json::Object &root);
  Error checkDecoder(const json::Object &root);
  Error readVocab(const json::Object &model);
  Error readMerges(const json::Object &model);
  Error readAddedTokens(const json::Object &root);
  /// The id of a token given by its text (added tokens first), if any.
  std::optional<uint32_t> lookupText(StringRef text) const;
  std::optional<uint32_t> addedId(StringRef content) const {
    auto it = addedByContent.find(content);
    if (it == addedByContent.end())
      return std::nullopt;
    return it->second;
  }

  std::string path; // tokenizer.json, for messages
  std::vector<Token> tokens;
  StringMap<uint32_t> vocabByKey;   // byte-level string -> id
  StringMap<uint32_t> vocabByBytes; // raw bytes -> id
  StringMap<uint32_t> addedByContent;
  std::vector<llmc_tok_merge> merges;
  std::vector<uint32_t> specials;
  uint32_t byteTokens[256] = {};
  uint32_t vocabSize = 0;
  uint32_t options = 0;

  // From the configs.
  std::optional<uint32_t> cfgBos, cfgEos, genBos;
  std::vector<uint32_t> genEos;
  /// LLMC_TOK_CHAT_* of the template text (before the vocabulary check).
  uint32_t chatTemplateForm = 0;

public:
  int32_t bosId = -1, eosId = -1, eotId = -1;
  uint32_t chatTemplate = 0;
};

/// An optional boolean key: absent or null -> `dflt`.
Expected<bool> getBool(const json::Object &o, StringRef key, bool dflt,
                       const Twine &where) {
  const json::Value *v = o.get(key);
  if (!v || v->kind() == json::Value::Null)
    return dflt;
  std::optional<bool> b = v->getAsBoolean();
  if (!b)
    return fail(where + ": '" + key + "' must be a boolean, got " +
                kindName(*v));
  return *b;
}

/// The "type" string of a component object; `what` names it in messages.
Expected<StringRef> getType(const json::Value &v, const Twine &where) {
  const json::Object *o = v.getAsObject();
  if (!o)
    return fail(where + " must be an object, got " + kindName(v));
  std::optional<StringRef> t = o->getString("type");
  if (!t)
    return fail(where + " has no 'type' string");
  return *t;
}

Error Builder::checkModel(const json::Object &model) {
  std::optional<StringRef> type = model.getString("type");
  if (model.get("type") && !type)
    return err("'model.type' must be a string");
  if (!type) {
    // Files from old tokenizers versions have no type; BPE is the one with
    // both a vocab object and merges.
    if (!model.getObject("vocab") || !model.getArray("merges"))
      return err("'model' has no 'type' and is not a BPE model");
    type = "BPE";
  }
  if (*type != "BPE")
    return err("unsupported tokenizer model type '" + *type +
               "': llmc supports the byte-level BPE of Llama 3");
  Expected<bool> byteFallback =
      getBool(model, "byte_fallback", false, path + ": model");
  if (!byteFallback)
    return byteFallback.takeError();
  if (*byteFallback)
    return err("unsupported tokenizer model: BPE with byte_fallback "
               "(SentencePiece-style, as in Llama 2); llmc supports the "
               "byte-level BPE of Llama 3");
  if (const json::Value *d = model.get("dropout");
      d && d->kind() != json::Value::Null)
    return err("unsupported BPE option 'dropout' (must be null)");
  for (StringRef key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json::Value *v = model.get(key);
    if (!v || v->kind() == json::Value::Null)
      continue;
    std::optional<StringRef> s = v->getAsString();
    if (!s || !s->empty())
      return err("unsupported BPE option '" + key + "' (must be null)");
  }
  if (const json::Value *u = model.get("unk_token");
      u && u->kind() != json::Value::Null && !u->getAsString())
    return err("'model.unk_token' must be a string or null");
  Expected<bool> ignoreMerges =
      getBool(model, "ignore_merges", false, path + ": model");
  if (!ignoreMerges)
    return ignoreMerges.takeError();
  if (*ignoreMerges)
    options |= LLMC_TOK_OPT_IGNORE_MERGES;
  return Error::success();
}

Error Builder::checkNormalizer(const json::Object &root) {
  const json::Value *n = root.get("normalizer");
  if (!n || n->kind() == json::Value::Null)
    return Error::success();
  Expected<StringRef> type = getType(*n, path + ": 'normalizer'");
  if (!type)
    return type.takeError();
  return err("unsupported normalizer '" + *type +
             "' (Llama 3 has none; SentencePiece-style tokenizers as in Llama "
             "2 are not supported)");
}

Error Builder::checkPreTokenizer(const json::Object &root) {
  const StringRef expected =
      "llmc supports Llama 3's Sequence[Split(regex), ByteLevel]";
  const json::Value *pt = root.get("pre_tokenizer");
  if (!pt || pt->kind() == json::Value::Null)
    return err("unsupported pre-tokenizer: none (" + expected + ")");
  Expected<StringRef> type = getType(*pt, path + ": 'pre_tokenizer'");
  if (!type)
    return type.takeError();
  if (*type != "Sequence")
    return err("unsupported pre-tokenizer '" + *type + "' (" + expected + ")");
  const json::Array *list = pt->getAsObject()->getArray("pretokenizers");
  if (!list)
    return err("'pre_tokenizer.pretokenizers' must be an array");
  if (list->size() != 2)
    return err("unsupported pre-tokenizer: a Sequence of " +
               Twine(list->size()) + " (" + expected + ")");

  Expected<StringRef> t0 = getType((*list)[0], path + ": pre-tokenizer 0");
  if (!t0)
    return t0.takeError();
  if (*t0 != "Split")
    return err("unsupported pre-tokenizer '" + *t0 + "' in the Sequence (" +
               expected + ")");
  const json::Object &split = *(*list)[0].getAsObject();
  const json::Object *pattern = split.getObject("pattern");
  if (!pattern)
    return err("pre-tokenizer Split has no 'pattern' object");
  std::optional<StringRef> regex = pattern->getString("Regex");
  if (!regex)
    return err("unsupported pre-tokenizer Split pattern (not a Regex; " +
               expected + ")");
  if (*regex != kLlama3Pattern)
    return err("unsupported pre-tokenizer regex " + quote(*regex) +
               " (llmc supports only the Llama 3 pattern)");
  std::optional<StringRef> behavior = split.getString("behavior");
  if (!behavior || *behavior != "Isolated")
    return err("unsupported pre-tokenizer Split behavior (Llama 3's is "
               "'Isolated')");
  Expected<bool> invert = getBool(split, "invert", false, path + ": Split");
  if (!invert)
    return invert.takeError();
  if (*invert)
    return err("unsupported pre-tokenizer Split with invert = true");

  Expected<StringRef> t1 = getType((*list)[1], path + ": pre-tokenizer 1");
  if (!t1)
    return t1.takeError();
  if (*t1 != "ByteLevel")
    return err("unsupported pre-tokenizer '" + *t1 + "' after the Split (" +
               expected + ")");
  const json::Object &bl = *(*list)[1].getAsObject();
  // tokenizers' defaults for absent keys: add_prefix_space and use_regex true.
  Expected<bool> prefix =
      getBool(bl, "add_prefix_space", true, path + ": ByteLevel");
  if (!prefix)
    return prefix.takeError();
  Expected<bool> useRegex = getBool(bl, "use_regex", true, path + ": ByteLevel");
  if (!useRegex)
    return useRegex.takeError();
  if (*prefix || *useRegex)
    return err("unsupported ByteLevel pre-tokenizer options (Llama 3 has "
               "add_prefix_space = false, use_regex = false)");
  return Error::success();
}

Error Builder::checkDecoder(const json::Object &root) {
  const json::Value *d = root.get("decoder");
  if (!d || d->kind() == json::Value::Null)
    return err("unsupported decoder: none (Llama 3's is ByteLevel)");
  Expected<StringRef> type = getType(*d, path + ": 'decoder'");
  if (!type)
    return type.takeError();
  if (*type != "ByteLevel")
    return err("unsupported decoder '" + *type + "' (Llama 3's is ByteLevel)");
  return Error::success();
}

Error Builder::readVocab(const json::Object &model) {
  const json::Object *vocab = model.getObject("vocab");
  if (!vocab)
    return err("'model.vocab' must be an object");
  if (vocab->size() > kMaxVocab)
    return err("vocabulary of " + Twine(vocab->size()) + " tokens, more than " +
               Twine(kMaxVocab));
  // json::Object is unordered: sort by (id, key) so that every message is
  // the same on every run.
  std::vector<std::pair<uint32_t, StringRef>> entries;
  entries.reserve(vocab->size());
  for (const auto &kv : *vocab) {
    StringRef key = kv.first;
    std::optional<int64_t> id = kv.second.getAsInteger();
    if (!id)
      return err("vocab token " + quote(key) + ": id must be an integer, got " +
                 kindName(kv.second));
    if (*id < 0 || *id >= int64_t(kMaxVocab))
      return err("vocab token " + quote(key) + ": id " + Twine(*id) +
                 " out of range [0, " + Twine(kMaxVocab) + ")");
    entries.push_back({uint32_t(*id), key});
  }
  std::sort(entries.begin(), entries.end());
  std::string bytes;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto [id, key] = entries[i];
    if (i > 0 && entries[i - 1].first == id)
      return err("duplicate id " + Twine(id) + " (vocab tokens " +
                 quote(entries[i - 1].second) + " and " + quote(key) + ")");
    if (key.empty())
      return err("vocab token with id " + Twine(id) + " is empty");
    if (!decodeByteLevel(key, bytes))
      return err("vocab token " + quote(key) + " (id " + Twine(id) +
                 ") is not byte-level (a character outside GPT-2's "
                 "byte-to-unicode table)");
    if (id >= tokens.size())
      tokens.resize(size_t(id) + 1);
    Token &t = tokens[id];
    t.bytes = bytes;
    t.flags = 0;
    t.inVocab = true;
    vocabByKey[key] = id;
    // Distinct keys decode to distinct bytes (the mapping is one to one).
    vocabByBytes[bytes] = id;
  }
  for (unsigned b = 0; b < 256; ++b) {
    auto it = vocabByBytes.find(StringRef(reinterpret_cast<const char *>(&b), 1));
    if (it == vocabByBytes.end())
      return err("the vocabulary has no token for byte 0x" +
                 utohexstr(b, /*LowerCase=*/true, 2) +
                 " (not a byte-level BPE vocabulary)");
    byteTokens[b] = it->second;
  }
  return Error::success();
}

Error Builder::readMerges(const json::Object &model) {
  const json::Array *list = model.getArray("merges");
  if (!list)
    return err("'model.merges' must be an array");
  if (list->size() > kMaxMerges)
    return err(Twine(list->size()) + " merges, more than " + Twine(kMaxMerges));
  merges.reserve(list->size());
  DenseMap<uint64_t, uint32_t> seen;
  seen.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const json::Value &m = (*list)[i];
    StringRef left, right;
    if (std::optional<StringRef> s = m.getAsString()) {
      // "left right": byte-level tokens never contain a space (U+0020 is
      // mapped to U+0120), so exactly one space separates the parts.
      size_t sp = s->find(' ');
      if (sp == StringRef::npos || s->find(' ', sp + 1) != StringRef::npos ||
          sp == 0 || sp + 1 == s->size())
        return err("merge " + Twine(i) + " " + quote(*s) +
                   " is not two tokens separated by one space");
      left = s->take_front(sp);
      right = s->drop_front(sp + 1);
    } else if (const json::Array *pair = m.getAsArray()) {
      std::optional<StringRef> l, r;
      if (pair->size() == 2) {
        l = (*pair)[0].getAsString();
        r = (*pair)[1].getAsString();
      }
      if (!l || !r)
        return err("merge " + Twine(i) + " is not a pair of strings");
      left = *l;
      right = *r;
    } else {
      return err("merge " + Twine(i) + " must be a string or a pair, got " +
                 kindName(m));
    }
    auto l = vocabByKey.find(left), r = vocabByKey.find(right);
    if (l == vocabByKey.end())
      return err("merge " + Twine(i) + ": " + quote(left) +
                 " is not in the vocabulary");
    if (r == vocabByKey.end())
      return err("merge " + Twine(i) + ": " + quote(right) +
                 " is not in the vocabulary");
    std::string joined = (left + right).str();
    auto res = vocabByKey.find(joined);
    if (res == vocabByKey.end())
      return err("merge " + Twine(i) + ": the result " + quote(joined) +
                 " is not in the vocabulary");
    uint64_t key = (uint64_t(l->second) << 32) | r->second;
    auto [it, inserted] = seen.try_emplace(key, uint32_t(i));
    if (!inserted)
      return err("merge " + Twine(i) + " (" + quote(left) + ", " +
                 quote(right) + ") duplicates merge " + Twine(it->second));
    merges.push_back({l->second, r->second, uint32_t(i), res->second});
  }
  std::sort(merges.begin(), merges.end(),
            [](const llmc_tok_merge &a, const llmc_tok_merge &b) {
              return a.left != b.left ? a.left < b.left : a.right < b.right;
            });
  return Error::success();
}

Error Builder::readAddedTokens(const json::Object &root) {
  const json::Value *v = root.get("added_tokens");
  if (!v || v->kind() == json::Value::Null)
    return Error::success();
  const json::Array *list = v->getAsArray();
  if (!list)
    return err("'added_tokens' must be an array, got " + kindName(*v));
  if (list->size() > kMaxVocab)
    return err(Twine(list->size()) + " added tokens, more than " +
               Twine(kMaxVocab));
  DenseMap<uint32_t, size_t> ids;
  for (size_t i = 0; i < list->size(); ++i) {
    const json::Object *a = (*list)[i].getAsObject();
    if (!a)
      return err("added token " + Twine(i) + " must be an object");
    std::optional<int64_t> id = a->getInteger("id");
    if (!id)
      return err("added token " + Twine(i) + ": 'id' must be an integer");
    if (*id < 0 || *id >= int64_t(kMaxVocab))
      return err("added token " + Twine(i) + ": id " + Twine(*id) +
                 " out of range [0, " + Twine(kMaxVocab) + ")");
    std::optional<StringRef> content = a->getString("content");
    if (!content || content->empty())
      return err("added token " + Twine(i) + " (id " + Twine(*id) +
                 "): 'content' must be a non-empty string");
    std::string where = path + ": added token " + quote(*content);
    Expected<bool> special = getBool(*a, "special", false, where);
    if (!special)
      return special.takeError();
    for (StringRef key : {"lstrip", "rstrip", "single_word"}) {
      Expected<bool> on = getBool(*a, key, false, where);
      if (!on)
        return on.takeError();
      if (*on)
        return err("added token " + quote(*content) + ": '" + key +
                   "' = true is not supported");
    }
    Expected<bool> normalized = getBool(*a, "normalized", false, where);
    if (!normalized) // no normalizer: the value does not matter, its type does
      return normalized.takeError();

    uint32_t uid = uint32_t(*id);
    if (auto [it, inserted] = ids.try_emplace(uid, i); !inserted)
      return err("duplicate id " + Twine(uid) + " (added tokens " +
                 Twine(it->second) + " and " + Twine(i) + ")");
    if (!addedByContent.try_emplace(*content, uid).second)
      return err("added token " + quote(*content) + " appears twice");
    if (uid < tokens.size() && tokens[uid].inVocab) {
      if (tokens[uid].bytes != *content)
        return err("added token " + quote(*content) + " has id " + Twine(uid) +
                   ", which the vocabulary gives to " +
                   quote(tokens[uid].bytes));
    } else {
      auto same = vocabByBytes.find(*content);
      if (same != vocabByBytes.end())
        return err("added token " + quote(*content) + " (id " + Twine(uid) +
                   ") duplicates vocabulary token id " + Twine(same->second));
      if (uid >= tokens.size())
        tokens.resize(size_t(uid) + 1);
      tokens[uid].bytes = content->str();
      tokens[uid].flags = 0;
    }
    tokens[uid].flags |=
        LLMC_TOK_FLAG_ADDED | (*special ? LLMC_TOK_FLAG_SPECIAL : 0u);
    specials.push_back(uid);
  }
  std::sort(specials.begin(), specials.end(), [&](uint32_t a, uint32_t b) {
    size_t la = tokens[a].bytes.size(), lb = tokens[b].bytes.size();
    return la != lb ? la > lb : a < b;
  });
  return Error::success();
}

Error Builder::parseTokenizer(const json::Object &root) {
  const json::Object *model = root.getObject("model");
  if (!model)
    return err("no 'model' object (not a Hugging Face tokenizer.json)");
  // The model type first: a Llama 2 / WordPiece / Unigram file gets a message
  // about its type rather than about its pre-tokenizer.
  if (Error e = checkModel(*model))
    return e;
  if (Error e = checkNormalizer(root))
    return e;
  if (Error e = checkPreTokenizer(root))
    return e;
  if (Error e = checkDecoder(root))
    return e;
  if (Error e = readVocab(*model))
    return e;
  if (Error e = readMerges(*model))
    return e;
  if (Error e = readAddedTokens(root))
    return e;
  vocabSize = uint32_t(tokens.size());
  return Error::success();
}

std::optional<uint32_t> Builder::lookupText(StringRef text) const {
  if (std::optional<uint32_t> id = addedId(text))
    return id;
  auto it = vocabByBytes.find(text);
  if (it != vocabByBytes.end())
    return it->second;
  return std::nullopt;
}

Error Builder::parseTokenizerConfig(const json::Object &cfg, StringRef cfgPath) {
  auto tokenOf = [&](StringRef key,
                     std::optional<uint32_t> &out) -> Error {
    const json::Value *v = cfg.get(key);
    if (!v || v->kind() == json::Value::Null)
      return Error::success();
    std::optional<StringRef> text = v->getAsString();
    if (const json::Object *o = v->getAsObject())
      text = o->getString("content");
    if (!text)
      return fail(cfgPath + ": '" + key +
                  "' must be a string or an object with a 'content' string");
    std::optional<uint32_t> id = lookupText(*text);
    if (!id)
      return fail(cfgPath + ": " + key + " " + quote(*text) +
                  " is not a token of " + path);
    out = *id;
    return Error::success();
  };
  if (Error e = tokenOf("bos_token", cfgBos))
    return e;
  if (Error e = tokenOf("eos_token", cfgEos))
    return e;

  std::optional<StringRef> tmpl;
  if (const json::Value *v = cfg.get("chat_template");
      v && v->kind() != json::Value::Null) {
    if (std::optional<StringRef> s = v->getAsString()) {
      tmpl = *s;
    } else if (const json::Array *list = v->getAsArray()) {
      // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
      for (const json::Value &e : *list) {
        const json::Object *o = e.getAsObject();
        std::optional<StringRef> name = o ? o->getString("name") : std::nullopt;
        std::optional<StringRef> t = o ? o->getString("template") : std::nullopt;
        if (!name || !t)
          return fail(cfgPath + ": 'chat_template' list entries must be "
                                "{\"name\": ..., \"template\": ...}");
        if (*name == "default")
          tmpl = *t;
      }
    } else {
      return fail(cfgPath + ": 'chat_template' must be a string or a list, "
                            "got " +
                  kindName(*v));
    }
  }
  // The Llama 3 family's templates, by the forms they render: 3.0 puts each
  // message in a header block; 3.1 and later always open with a system
  // block of "Cutting Knowledge Date" and "Today Date" (3.1 a fixed date,
  // 3.2 and 3.3 today's through strftime_now). Anything else is no template
  // llmc can render: chat then says it uses the built-in Llama 3 format.
  chatTemplateForm = 0;
  if (tmpl && tmpl->contains("<|start_header_id|>") &&
      tmpl->contains("<|eot_id|>"))
    chatTemplateForm = !tmpl->contains("Cutting Knowledge Date")
                           ? LLMC_TOK_CHAT_LLAMA3
                       : tmpl->contains("strftime_now")
                           ? LLMC_TOK_CHAT_LLAMA32
                           : LLMC_TOK_CHAT_LLAMA31;
  return Error::success();
}

Error Builder::parseGenerationConfig(const json::Object &gen,
                                     StringRef genPath) {
  auto checkId = [&](StringRef key, const json::Value &v) -> Expected<uint32_t> {
    std::optional<int64_t> i = v.getAsInteger();
    if (!i)
      return fail(genPath + ": '" + key + "' must be an integer or a list of "
                                          "integers, got " +
                  kindName(v));
    if (*i < 0 || *i >= int64_t(vocabSize) ||
        (tokens[*i].flags & LLMC_TOK_FLAG_UNUSED))
      return fail(genPath + ": " + key + " " + Twine(*i) +
                  " is not a token id of " + path + " (vocabulary of " +
                  Twine(vocabSize) + ")");
    return uint32_t(*i);
  };
  if (const json::Value *b = gen.get("bos_token_id");
      b && b->kind() != json::Value::Null) {
    Expected<uint32_t> id = checkId("bos_token_id", *b);
    if (!id)
      return id.takeError();
    genBos = *id;
  }
  if (const json::Value *e = gen.get("eos_token_id");
      e && e->kind() != json::Value::Null) {
    if (const json::Array *list = e->getAsArray()) {
      for (const json::Value &x : *list) {
        Expected<uint32_t> id = checkId("eos_token_id", x);
        if (!id)
          return id.takeError();
        genEos.push_back(*id);
      }
    } else {
      Expected<uint32_t> id = checkId("eos_token_id", *e);
      if (!id)
        return id.takeError();
      genEos.push_back(*id);
    }
  }
  return Error::success();
}

void Builder::resolveSpecialIds() {
  std::optional<uint32_t> bot = addedId("<|begin_of_text|>");
  std::optional<uint32_t> eot = addedId("<|eot_id|>");
  std::optional<uint32_t> eotext = addedId("<|end_of_text|>");
  if (std::optional<uint32_t> b = cfgBos ? cfgBos : genBos ? genBos : bot)
    bosId = int32_t(*b);
  if (eot)
    eotId = int32_t(*eot);
  std::vector<uint32_t> eosCandidates;
  if (cfgEos)
    eosCandidates.push_back(*cfgEos);
  eosCandidates.insert(eosCandidates.end(), genEos.begin(), genEos.end());
  if (eotext)
    eosCandidates.push_back(*eotext);
  for (uint32_t c : eosCandidates) {
    if (int32_t(c) != eotId) {
      eosId = int32_t(c);
      break;
    }
  }
  if (eosId < 0 && !eosCandidates.empty())
    eosId = int32_t(eosCandidates.front());
  chatTemplate = eot && addedId("<|start_header_id|>") &&
                         addedId("<|end_header_id|>")
                     ? chatTemplateForm
                     : 0;
}

std::vector<uint8_t> Builder::write() const {
  auto align4 = [](size_t n) { return (n + 3) & ~size_t(3); };

  // Strings in id order; offsets of each token.
  std::vector<uint32_t> offsets(vocabSize, 0);
  size_t stringsSize = 0;
  for (uint32_t id = 0; id < vocabSize; ++id) {
    offsets[id] = uint32_t(stringsSize);
    stringsSize += tokens[id].bytes.size();
  }
  std::vector<uint32_t> sorted;
  for (uint32_t id = 0; id < vocabSize; ++id)
    if (tokens[id].inVocab && !(tokens[id].flags & LLMC_TOK_FLAG_SPECIAL))
      sorted.push_back(id);
  std::sort(sorted.begin(), sorted.end(), [&](uint32_t a, uint32_t b) {
    return StringRef(tokens[a].bytes) < StringRef(tokens[b].bytes);
  });

  llmc_tok_header h;
  std::memset(&h, 0, sizeof h);
  std::memcpy(h.magic, LLMC_TOK_MAGIC, sizeof h.magic);
  h.version = LLMC_TOK_VERSION;
  h.vocab_size = vocabSize;
  h.num_merges = uint32_t(merges.size());
  h.num_special = uint32_t(specials.size());
  h.num_sorted = uint32_t(sorted.size());
  h.pretokenizer = LLMC_TOK_PRETOKENIZER_LLAMA3;
  h.options = options;
  h.bos_id = bosId;
  h.eos_id = eosId;
  h.eot_id = eotId;
  h.chat_template = chatTemplate;
  size_t off = sizeof(llmc_tok_header);
  h.strings_offset = uint32_t(off);
  h.strings_size = uint32_t(stringsSize);
  off = align4(off + stringsSize);
  h.tokens_offset = uint32_t(off);
  off += size_t(vocabSize) * sizeof(llmc_tok_entry);
  // vocab_size slots; the first num_sorted are used, the rest are 0xffffffff.
  h.sorted_offset = uint32_t(off);
  off += size_t(vocabSize) * 4;
  h.merges_offset = uint32_t(off);
  off += merges.size() * sizeof(llmc_tok_merge);
  h.specials_offset = uint32_t(off);
  off += specials.size() * 4;
  h.byte_tokens_offset = uint32_t(off);
  off += 256 * 4;
  // Bounded far below 4 GiB: kMaxVocab * 16 + kMaxMerges * 16 + 64 MiB.

  std::vector<uint8_t> blob(off, 0);
  uint8_t *p = blob.data();
  auto put32 = [&](size_t at, uint32_t v) {
    support::endian::write32le(p + at, v);
  };
  // Header, field by field (little-endian whatever the host).
  std::memcpy(p, h.magic, sizeof h.magic);
  const uint32_t fields[] = {
      h.version,        h.vocab_size,     h.num_merges,
      h.num_special,    h.num_sorted,     h.pretokenizer,
      h.options,        uint32_t(h.bos_id), uint32_t(h.eos_id),
      uint32_t(h.eot_id), h.chat_template, h.strings_offset,
      h.strings_size,   h.tokens_offset,  h.sorted_offset,
      h.merges_offset,  h.specials_offset, h.byte_tokens_offset};
  static_assert(sizeof(fields) + 8 + 16 == sizeof(llmc_tok_header),
                "every header field written");
  for (size_t i = 0; i < sizeof(fields) / 4; ++i)
    put32(8 + 4 * i, fields[i]);

  for (uint32_t id = 0; id < vocabSize; ++id) {
    const Token &t = tokens[id];
    if (!t.bytes.empty())
      std::memcpy(p + h.strings_offset + offsets[id], t.bytes.data(),
                  t.bytes.size());
    size_t e = h.tokens_offset + size_t(id) * sizeof(llmc_tok_entry);
    put32(e, t.bytes.empty() ? 0 : offsets[id]);
    put32(e + 4, uint32_t(t.bytes.size()));
    put32(e + 8, t.flags);
  }
  for (uint32_t i = 0; i < vocabSize; ++i)
    put32(h.sorted_offset + 4 * size_t(i),
          i < sorted.size() ? sorted[i] : 0xffffffffu);
  for (size_t i = 0; i < merges.size(); ++i) {
    size_t m = h.merges_offset + i * sizeof(llmc_tok_merge);
    put32(m, merges[i].left);
    put32(m + 4, merges[i].right);
    put32(m + 8, merges[i].rank);
    put32(m + 12, merges[i].result);
  }
  for (size_t i = 0; i < specials.size(); ++i)
    put32(h.specials_offset + 4 * i, specials[i]);
  for (unsigned b = 0; b < 256; ++b)
    put32(h.byte_tokens_offset + 4 * b, byteTokens[b]);
  return blob;
}

} // namespace

bool hasTokenizer(StringRef modelDir) {
  SmallString<256> path(modelDir);
  sys::path::append(path, "tokenizer.json");
  sys::fs::file_status st;
  return !sys::fs::status(path, st) &&
         st.type() == sys::fs::file_type::regular_file;
}

Expected<std::vector<uint8_t>> buildTokenizerBlobFromText(
    StringRef tokenizerJSON, StringRef tokenizerPath, StringRef tokenizerConfig,
    StringRef tokenizerConfigPath, StringRef generationConfig,
    StringRef generationConfigPath) {
  if (tokenizerJSON.size() > kMaxTokenizerJSONBytes)
    return fail(tokenizerPath + ": larger than " +
                Twine(kMaxTokenizerJSONBytes >> 20) +
                " MiB, not a tokenizer file");
  Expected<json::Value> root = parseObject(tokenizerJSON, tokenizerPath);
  if (!root)
    return root.takeError();
  Builder b(tokenizerPath);
  if (Error e = b.parseTokenizer(*root->getAsObject()))
    return std::move(e);
  if (!tokenizerConfig.empty()) {
    Expected<json::Value> cfg = parseObject(tokenizerConfig, tokenizerConfigPath);
    if (!cfg)
      return cfg.takeError();
    if (Error e = b.parseTokenizerConfig(*cfg->getAsObject(), tokenizerConfigPath))
      return std::move(e);
  }
  if (!generationConfig.empty()) {
    Expected<json::Value> gen =
        parseObject(generationConfig, generationConfigPath);
    if (!gen)
      return gen.takeError();
    if (Error e =
            b.parseGenerationConfig(*gen->getAsObject(), generationConfigPath))
      return std::move(e);
  }
  b.resolveSpecialIds();
  return b.write();
}

Expected<std::vector<uint8_t>> buildTokenizerBlob(StringRef modelDir) {
  SmallString<256> tokPath(modelDir), cfgPath(modelDir), genPath(modelDir);
  sys::path::append(tokPath, "tokenizer.json");
  sys::path::append(cfgPath, "tokenizer_config.json");
  sys::path::append(genPath, "generation_config.json");
  if (!sys::fs::exists(tokPath))
    return fail(modelDir + ": no tokenizer.json");
  Expected<std::unique_ptr<MemoryBuffer>> tok =
      readFile(tokPath, kMaxTokenizerJSONBytes);
  if (!tok)
    return tok.takeError();
  std::unique_ptr<MemoryBuffer> cfg, gen;
  if (sys::fs::exists(cfgPath)) {
    Expected<std::unique_ptr<MemoryBuffer>> f =
        readFile(cfgPath, kMaxTokenizerConfigBytes);
    if (!f)
      return f.takeError();
    cfg = std::move(*f);
    if (cfg->getBuffer().empty())
      return fail(cfgPath + ": empty file");
  }
  if (sys::fs::exists(genPath)) {
    Expected<std::unique_ptr<MemoryBuffer>> f =
        readFile(genPath, kMaxGenerationConfigBytes);
    if (!f)
      return f.takeError();
    gen = std::move(*f);
    if (gen->getBuffer().empty())
      return fail(genPath + ": empty file");
  }
  return buildTokenizerBlobFromText(
      (*tok)->getBuffer(), tokPath, cfg ? cfg->getBuffer() : StringRef(),
      cfgPath, gen ? gen->getBuffer() : StringRef(), genPath);
}

} // namespace llmc
