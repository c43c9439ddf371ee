//===- TokenizerImportTest.cpp - tokenizer.json -> tokenizer blob ---------===//
//
// The committed test tokenizer (test/tokenizer/, trained by make_tokenizer.py
// in exactly Llama 3's shape) must give a blob that follows
// runtime/include/llmc_tokenizer_format.h; hostile tokenizer files written to
// a temp dir (a tiny byte-level BPE mutated one key at a time) must fail with
// a message naming the file and the problem.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Tokenizer.h"
#include "runtime/include/llmc_tokenizer_format.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "test/unit/TempDirTest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#ifndef LLMC_SOURCE_DIR
#error "LLMC_SOURCE_DIR must be defined (the repository root)"
#endif

using namespace llmc;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

// ----------------------------------------------------------------- blob view

/// A bounds-checked reader of a blob (independent of the writer: offsets and
/// sizes are checked here, not trusted).
struct BlobView {
  const std::vector<uint8_t> &b;
  uint32_t u32(size_t at) const {
    EXPECT_LE(at + 4, b.size());
    if (at + 4 > b.size())
      return 0;
    return llvm::support::endian::read32le(b.data() + at);
  }
  uint32_t vocabSize() const { return u32(offsetof(llmc_tok_header, vocab_size)); }
  uint32_t numMerges() const { return u32(offsetof(llmc_tok_header, num_merges)); }
  uint32_t numSpecial() const { return u32(offsetof(llmc_tok_header, num_special)); }
  uint32_t numSorted() const { return u32(offsetof(llmc_tok_header, num_sorted)); }
  int32_t bos() const { return int32_t(u32(offsetof(llmc_tok_header, bos_id))); }
  int32_t eos() const { return int32_t(u32(offsetof(llmc_tok_header, eos_id))); }
  int32_t eot() const { return int32_t(u32(offsetof(llmc_tok_header, eot_id))); }
  uint32_t chat() const { return u32(offsetof(llmc_tok_header, chat_template)); }
  uint32_t options() const { return u32(offsetof(llmc_tok_header, options)); }

  uint32_t flags(uint32_t id) const {
    return u32(u32(offsetof(llmc_tok_header, tokens_offset)) + 12 * size_t(id) + 8);
  }
  std::string text(uint32_t id) const {
    size_t e = u32(offsetof(llmc_tok_header, tokens_offset)) + 12 * size_t(id);
    uint32_t off = u32(e), len = u32(e + 4);
    uint32_t so = u32(offsetof(llmc_tok_header, strings_offset));
    uint32_t ss = u32(offsetof(llmc_tok_header, strings_size));
    EXPECT_LE(uint64_t(off) + len, ss);
    EXPECT_LE(uint64_t(so) + ss, b.size());
    if (uint64_t(off) + len > ss || uint64_t(so) + ss > b.size())
      return "";
    return std::string(reinterpret_cast<const char *>(b.data()) + so + off, len);
  }
  uint32_t sorted(uint32_t i) const {
    return u32(u32(offsetof(llmc_tok_header, sorted_offset)) + 4 * size_t(i));
  }
  llmc_tok_merge merge(uint32_t i) const {
    size_t m = u32(offsetof(llmc_tok_header, merges_offset)) + 16 * size_t(i);
    return {u32(m), u32(m + 4), u32(m + 8), u32(m + 12)};
  }
  uint32_t special(uint32_t i) const {
    return u32(u32(offsetof(llmc_tok_header, specials_offset)) + 4 * size_t(i));
  }
  uint32_t byteToken(unsigned b) const {
    return u32(u32(offsetof(llmc_tok_header, byte_tokens_offset)) + 4 * b);
  }
};

// ------------------------------------------------------------- byte level

/// GPT-2 bytes_to_unicode as UTF-8 strings (written independently of the
/// importer's inverse table).
std::vector<std::string> byteLevelChars() {
  std::vector<int> bs, cs;
  for (int b = '!'; b <= '~'; ++b)
    bs.push_back(b);
  for (int b = 0xa1; b <= 0xac; ++b)
    bs.push_back(b);
  for (int b = 0xae; b <= 0xff; ++b)
    bs.push_back(b);
  cs = bs;
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
      bs.push_back(b);
      cs.push_back(256 + n++);
    }
  std::vector<std::string> out(256);
  for (size_t i = 0; i < bs.size(); ++i) {
    int cp = cs[i];
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xc0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3f));
    }
    out[bs[i]] = s;
  }
  return out;
}

std::string byteLevel(StringRef bytes) {
  static const std::vector<std::string> table = byteLevelChars();
  std::string s;
  for (unsigned char c : bytes)
    s += table[c];
  return s;
}

// ------------------------------------------------------------------ files

std::string sourcePath(StringRef rel) {
  llvm::SmallString<256> p(LLMC_SOURCE_DIR);
  llvm::sys::path::append(p, rel);
  return std::string(p.str());
}

std::string readText(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buf)) << path.str();
  return buf ? (*buf)->getBuffer().str() : std::string();
}

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

// -------------------------------------------------- the committed tokenizer

class CommittedTokenizer : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    std::string dir = sourcePath("test/tokenizer");
    auto b = buildTokenizerBlob(dir);
    ASSERT_TRUE(bool(b)) << errorText(b.takeError());
    blob = new std::vector<uint8_t>(std::move(*b));
    auto v = json::parse(readText(sourcePath("test/tokenizer/tokenizer.json")));
    ASSERT_TRUE(bool(v)) << errorText(v.takeError());
    root = new json::Value(std::move(*v));
  }
  static void TearDownTestSuite() {
    delete blob;
    delete root;
    blob = nullptr;
    root = nullptr;
  }
  static uint32_t vocabId(StringRef key) {
    const json::Object *vocab = root->getAsObject()->getObject("model")->getObject("vocab");
    std::optional<int64_t> id = vocab->getInteger(key);
    EXPECT_TRUE(id.has_value()) << key.str();
    return id ? uint32_t(*id) : ~0u;
  }
  static std::vector<uint8_t> *blob;
  static json::Value *root;
};
std::vector<uint8_t> *CommittedTokenizer::blob;
json::Value *CommittedTokenizer::root;

TEST_F(CommittedTokenizer, Header) {
  ASSERT_GE(blob->size(), sizeof(llmc_tok_header));
  EXPECT_TRUE(hasTokenizer(sourcePath("test/tokenizer")));
  BlobView v{*blob};
  EXPECT_EQ(0, std::memcmp(blob->data(), LLMC_TOK_MAGIC, 8));
  EXPECT_EQ(v.u32(8), LLMC_TOK_VERSION);
  EXPECT_EQ(v.vocabSize(), 3016u);
  EXPECT_EQ(v.numMerges(), 2742u); // 3000 - 256 bytes - 2 tokens without a merge
  EXPECT_EQ(v.numSpecial(), 16u);
  EXPECT_EQ(v.numSorted(), 3000u);
  EXPECT_EQ(v.u32(offsetof(llmc_tok_header, pretokenizer)),
            uint32_t(LLMC_TOK_PRETOKENIZER_LLAMA3));
  EXPECT_EQ(v.options(), uint32_t(LLMC_TOK_OPT_IGNORE_MERGES));
  EXPECT_EQ(v.bos(), 3000);  // <|begin_of_text|>
  EXPECT_EQ(v.eos(), 3001);  // <|end_of_text|>
  EXPECT_EQ(v.eot(), 3009);  // <|eot_id|>
  EXPECT_EQ(v.chat(), 1u);
  for (size_t f : {offsetof(llmc_tok_header, strings_offset),
                   offsetof(llmc_tok_header, tokens_offset),
                   offsetof(llmc_tok_header, sorted_offset),
                   offsetof(llmc_tok_header, merges_offset),
                   offsetof(llmc_tok_header, specials_offset),
                   offsetof(llmc_tok_header, byte_tokens_offset)}) {
    EXPECT_EQ(v.u32(f) % 4, 0u) << f;
    EXPECT_LE(v.u32(f), blob->size()) << f;
  }
  EXPECT_EQ(v.u32(offsetof(llmc_tok_header, byte_tokens_offset)) + 1024,
            blob->size());
  for (size_t r = 0; r < 4; ++r)
    EXPECT_EQ(v.u32(offsetof(llmc_tok_header, reserved) + 4 * r), 0u);
}

TEST_F(CommittedTokenizer, TokensAndByteTokens) {
  BlobView v{*blob};
  for (unsigned b = 0; b < 256; ++b) {
    uint32_t id = v.byteToken(b);
    ASSERT_LT(id, v.vocabSize());
    EXPECT_EQ(v.text(id), std::string(1, char(b))) << b;
    EXPECT_EQ(id, vocabId(byteLevel(std::string(1, char(b)))));
    EXPECT_EQ(v.flags(id), 0u);
  }
  // Every vocab entry is its byte-level key decoded.
  const json::Object *vocab =
      root->getAsObject()->getObject("model")->getObject("vocab");
  for (const auto &kv : *vocab) {
    uint32_t id = uint32_t(*kv.second.getAsInteger());
    EXPECT_EQ(byteLevel(v.text(id)), StringRef(kv.first)) << id;
  }
  EXPECT_EQ(v.text(vocabId("Ġthe")), " the");
  EXPECT_EQ(v.text(vocabId("ĠĠ")), "  ");
  EXPECT_EQ(v.text(vocabId("Ċ")), "\n");
  // make_tokenizer.py's EXTRA_VOCAB: in the vocabulary, produced by no merge.
  EXPECT_EQ(v.text(vocabId("Ġtokenizer")), " tokenizer");
  EXPECT_EQ(v.text(vocabId("Llama")), "Llama");
}

TEST_F(CommittedTokenizer, Merges) {
  BlobView v{*blob};
  // Sorted by (left, right), one per JSON merge, ranks a permutation.
  std::vector<bool> rankSeen(v.numMerges());
  std::map<std::pair<uint32_t, uint32_t>, llmc_tok_merge> byPair;
  for (uint32_t i = 0; i < v.numMerges(); ++i) {
    llmc_tok_merge m = v.merge(i);
    if (i > 0) {
      llmc_tok_merge p = v.merge(i - 1);
      EXPECT_TRUE(p.left < m.left || (p.left == m.left && p.right < m.right)) << i;
    }
    ASSERT_LT(m.rank, v.numMerges());
    EXPECT_FALSE(rankSeen[m.rank]);
    rankSeen[m.rank] = true;
    EXPECT_EQ(v.text(m.result), v.text(m.left) + v.text(m.right)) << i;
    byPair[{m.left, m.right}] = m;
  }
  // The first merges of the JSON, with their ranks.
  const json::Array *merges =
      root->getAsObject()->getObject("model")->getArray("merges");
  ASSERT_EQ(merges->size(), v.numMerges());
  for (uint32_t r : {0u, 1u, 2u, 100u, v.numMerges() - 1}) {
    StringRef s = *(*merges)[r].getAsString();
    auto [l, rr] = s.split(' ');
    auto it = byPair.find({vocabId(l), vocabId(rr)});
    ASSERT_NE(it, byPair.end()) << s.str();
    EXPECT_EQ(it->second.rank, r);
    EXPECT_EQ(it->second.result, vocabId((l + rr).str()));
  }
  // make_tokenizer.py's first merge is "t h".
  auto th = byPair.find({vocabId("t"), vocabId("h")});
  ASSERT_NE(th, byPair.end());
  EXPECT_EQ(th->second.rank, 0u);
  EXPECT_EQ(v.text(th->second.result), "th");
}

TEST_F(CommittedTokenizer, SortedTable) {
  BlobView v{*blob};
  std::vector<bool> seen(v.vocabSize());
  for (uint32_t i = 0; i < v.numSorted(); ++i) {
    uint32_t id = v.sorted(i);
    ASSERT_LT(id, v.vocabSize());
    EXPECT_FALSE(seen[id]);
    seen[id] = true;
    EXPECT_EQ(v.flags(id) & (LLMC_TOK_FLAG_SPECIAL | LLMC_TOK_FLAG_UNUSED), 0u);
    if (i > 0) // strictly increasing in memcmp order, shorter first on a tie
      EXPECT_LT(StringRef(v.text(v.sorted(i - 1))), StringRef(v.text(id))) << i;
  }
  for (uint32_t i = v.numSorted(); i < v.vocabSize(); ++i)
    EXPECT_EQ(v.sorted(i), 0xffffffffu);
  // "a" < "ab" < "b" (shorter first on a tie prefix; bytes >= 0x80 last).
  EXPECT_EQ(v.text(v.sorted(0)), std::string(1, '\0'));
  EXPECT_EQ(v.text(v.sorted(v.numSorted() - 1)).front(), '\xff');
}

TEST_F(CommittedTokenizer, Specials) {
  BlobView v{*blob};
  std::vector<std::string> texts;
  for (uint32_t i = 0; i < v.numSpecial(); ++i) {
    uint32_t id = v.special(i);
    ASSERT_GE(id, 3000u);
    ASSERT_LT(id, 3016u);
    EXPECT_EQ(v.flags(id), uint32_t(LLMC_TOK_FLAG_SPECIAL | LLMC_TOK_FLAG_ADDED));
    texts.push_back(v.text(id));
    if (i > 0)
      EXPECT_GE(texts[i - 1].size(), texts[i].size());
  }
  EXPECT_EQ(texts.front(), "<|reserved_special_token_0|>"); // longest, lowest id
  EXPECT_EQ(v.text(3000), "<|begin_of_text|>");
  EXPECT_EQ(v.text(3006), "<|start_header_id|>");
  EXPECT_EQ(v.text(3009), "<|eot_id|>");
  EXPECT_EQ(v.text(3015), "<|reserved_special_token_7|>");
}

TEST_F(CommittedTokenizer, MergesAsPairsGiveTheSameBlob) {
  // tokenizers >= 0.20 writes merges as [left, right] pairs.
  json::Value copy = *root;
  json::Array *merges = copy.getAsObject()->getObject("model")->getArray("merges");
  for (json::Value &m : *merges) {
    auto [l, r] = m.getAsString()->split(' ');
    m = json::Array{l.str(), r.str()};
  }
  std::string text;
  llvm::raw_string_ostream(text) << copy;
  auto b = buildTokenizerBlobFromText(
      text, "tokenizer.json",
      readText(sourcePath("test/tokenizer/tokenizer_config.json")),
      "tokenizer_config.json",
      readText(sourcePath("test/tokenizer/generation_config.json")),
      "generation_config.json");
  ASSERT_TRUE(bool(b)) << errorText(b.takeError());
  EXPECT_TRUE(*b == *blob);
}

// ------------------------------------------------------- hostile inputs

/// A tiny valid byte-level BPE in Llama 3's shape: 256 byte tokens (ids in
/// byte order), merges t+h, th+e, Ġ+the, and three special tokens.
json::Object tinyTokenizer() {
  json::Object vocab;
  for (unsigned b = 0; b < 256; ++b)
    vocab[byteLevel(std::string(1, char(b)))] = b;
  vocab["th"] = 256;
  vocab["the"] = 257;
  vocab["Ġthe"] = 258;
  json::Array added;
  uint32_t id = 259;
  for (const char *s : {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"})
    added.push_back(json::Object{{"id", id++},        {"content", s},
                                 {"single_word", false}, {"lstrip", false},
                                 {"rstrip", false},   {"normalized", false},
                                 {"special", true}});
  return json::Object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added)},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       json::Object{
           {"type", "Sequence"},
           {"pretokenizers",
            json::Array{json::Object{{"type", "Split"},
                                     {"pattern",
                                      json::Object{{"Regex", kLlama3Pattern}}},
                                     {"behavior", "Isolated"},
                                     {"invert", false}},
                        json::Object{{"type", "ByteLevel"},
                                     {"add_prefix_space", false},
                                     {"trim_offsets", true},
                                     {"use_regex", false}}}}}},
      {"post_processor", nullptr},
      {"decoder", json::Object{{"type", "ByteLevel"},
                               {"add_prefix_space", true},
                               {"trim_offsets", true},
                               {"use_regex", true}}},
      {"model", json::Object{{"type", "BPE"},
                             {"dropout", nullptr},
                             {"unk_token", nullptr},
                             {"continuing_subword_prefix", nullptr},
                             {"end_of_word_suffix", nullptr},
                             {"fuse_unk", false},
                             {"byte_fallback", false},
                             {"ignore_merges", true},
                             {"vocab", std::move(vocab)},
                             {"merges", json::Array{"t h", "th e", "Ġ the"}}}},
  };
}

std::string str(const json::Value &v) {
  std::string s;
  llvm::raw_string_ostream(s) << v;
  return s;
}

class TokenizerDir : public llmc::testing::TempDirTest {
protected:
  void writeTokenizer(const json::Object &o) { write("tokenizer.json", str(json::Value(json::Object(o)))); }

  /// Builds from `dir` and expects an error mentioning `file` and `what`.
  void expectError(StringRef file, StringRef what) {
    auto b = buildTokenizerBlob(dir);
    ASSERT_FALSE(bool(b)) << "expected an error about " << what.str();
    std::string msg = errorText(b.takeError());
    EXPECT_NE(msg.find(file.str()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what.str()), std::string::npos) << msg;
  }
  std::vector<uint8_t> expectBlob() {
    auto b = buildTokenizerBlob(dir);
    EXPECT_TRUE(bool(b)) << errorText(b.takeError());
    return b ? *b : std::vector<uint8_t>();
  }

};

json::Object &model(json::Object &t) { return *t.getObject("model"); }

TEST_F(TokenizerDir, TinyTokenizerIsAccepted) {
  writeTokenizer(tinyTokenizer());
  EXPECT_TRUE(hasTokenizer(dir));
  std::vector<uint8_t> blob = expectBlob();
  ASSERT_FALSE(blob.empty());
  BlobView v{blob};
  EXPECT_EQ(v.vocabSize(), 262u);
  EXPECT_EQ(v.numMerges(), 3u);
  EXPECT_EQ(v.numSorted(), 259u);
  EXPECT_EQ(v.bos(), 259); // no configs: the Llama 3 names
  EXPECT_EQ(v.eos(), 260);
  EXPECT_EQ(v.eot(), 261);
  EXPECT_EQ(v.chat(), 0u); // no tokenizer_config.json
  EXPECT_EQ(v.text(258), " the");
  // Sorted by (left, right): (' '=32, the=257) rank 2, (t=116, h=104) rank 0,
  // (th=256, e=101) rank 1.
  EXPECT_EQ(v.merge(0).left, 32u);
  EXPECT_EQ(v.merge(0).rank, 2u);
  EXPECT_EQ(v.merge(1).left, 116u);
  EXPECT_EQ(v.merge(1).rank, 0u);
  EXPECT_EQ(v.merge(2).left, 256u);
  EXPECT_EQ(v.merge(2).result, 257u);
  // Specials: longest first, ties by id.
  EXPECT_EQ(v.special(0), 259u); // <|begin_of_text|> (17)
  EXPECT_EQ(v.special(1), 260u); // <|end_of_text|> (15)
  EXPECT_EQ(v.special(2), 261u); // <|eot_id|> (10)
}

TEST_F(TokenizerDir, HolesAreUnused) {
  json::Object t = tinyTokenizer();
  (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("id") = 300;
  writeTokenizer(t);
  std::vector<uint8_t> blob = expectBlob();
  ASSERT_FALSE(blob.empty());
  BlobView v{blob};
  EXPECT_EQ(v.vocabSize(), 301u);
  EXPECT_EQ(v.flags(270), uint32_t(LLMC_TOK_FLAG_UNUSED));
  EXPECT_EQ(v.text(270), "");
  EXPECT_EQ(v.eot(), 300);
}

TEST_F(TokenizerDir, ConfigsGiveSpecialIds) {
  writeTokenizer(tinyTokenizer());
  // eos_token <|eot_id|> (Instruct): eos becomes the generation config's
  // end of text, eot stays <|eot_id|>; bos as an object.
  write("tokenizer_config.json",
        R"({"bos_token": {"content": "<|begin_of_text|>", "lstrip": false},
            "eos_token": "<|eot_id|>",
            "chat_template": [{"name": "tool_use", "template": "x"},
              {"name": "default", "template": "{{ '<|start_header_id|>' }}<|eot_id|>"}]})");
  write("generation_config.json", R"({"bos_token_id": 259, "eos_token_id": [261, 260]})");
  // <|start_header_id|> is not a token: the template is not usable.
  std::vector<uint8_t> blob = expectBlob();
  ASSERT_FALSE(blob.empty());
  BlobView v{blob};
  EXPECT_EQ(v.bos(), 259);
  EXPECT_EQ(v.eos(), 260);
  EXPECT_EQ(v.eot(), 261);
  EXPECT_EQ(v.chat(), 0u);
}

TEST_F(TokenizerDir, IgnoreMergesOff) {
  json::Object t = tinyTokenizer();
  model(t)["ignore_merges"] = false;
  writeTokenizer(t);
  std::vector<uint8_t> blob = expectBlob();
  ASSERT_FALSE(blob.empty());
  EXPECT_EQ(BlobView{blob}.options(), 0u);
}

TEST_F(TokenizerDir, Missing) {
  EXPECT_FALSE(hasTokenizer(dir));
  expectError(dir, "no tokenizer.json");
}

TEST_F(TokenizerDir, BadJSON) {
  std::string s = str(json::Value(tinyTokenizer()));
  write("tokenizer.json", StringRef(s).drop_back(10));
  expectError("tokenizer.json", "invalid JSON");
}

TEST_F(TokenizerDir, DeepJSON) {
  write("tokenizer.json", std::string(100000, '[') + std::string(100000, ']'));
  expectError("tokenizer.json", "nests deeper");
}

TEST_F(TokenizerDir, NotAnObject) {
  write("tokenizer.json", "[1, 2]");
  expectError("tokenizer.json", "expected a JSON object");
}

TEST_F(TokenizerDir, NotUTF8) {
  write("tokenizer.json", "{\"model\": \"\xff\"}");
  expectError("tokenizer.json", "not valid UTF-8");
}

TEST_F(TokenizerDir, TooLarge) {
  // A sparse file just over the cap: refused before it is read.
  int fd;
  ASSERT_FALSE(llvm::sys::fs::openFileForWrite(path("tokenizer.json"), fd));
  ASSERT_FALSE(llvm::sys::fs::resize_file(fd, kMaxTokenizerJSONBytes + 1));
  ::close(fd);
  expectError("tokenizer.json", "larger than 64 MiB");
}

TEST_F(TokenizerDir, WordPiece) {
  json::Object t = tinyTokenizer();
  model(t)["type"] = "WordPiece";
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported tokenizer model type 'WordPiece'");
}

TEST_F(TokenizerDir, Unigram) {
  json::Object t = tinyTokenizer();
  t["model"] = json::Object{{"type", "Unigram"}, {"unk_id", 0},
                            {"vocab", json::Array{json::Array{"<unk>", 0.0}}}};
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported tokenizer model type 'Unigram'");
}

TEST_F(TokenizerDir, Llama2SentencePieceBPE) {
  // Llama 2's tokenizer.json: BPE with byte_fallback, Metaspace-style
  // normalizer, no pre-tokenizer.
  json::Object t = tinyTokenizer();
  model(t)["byte_fallback"] = true;
  model(t)["ignore_merges"] = false;
  t["normalizer"] = json::Object{
      {"type", "Sequence"},
      {"normalizers", json::Array{json::Object{{"type", "Prepend"}, {"prepend", "▁"}}}}};
  t["pre_tokenizer"] = nullptr;
  writeTokenizer(t);
  expectError("tokenizer.json", "byte_fallback");
}

TEST_F(TokenizerDir, Normalizer) {
  json::Object t = tinyTokenizer();
  t["normalizer"] = json::Object{{"type", "NFC"}};
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported normalizer 'NFC'");
}

TEST_F(TokenizerDir, Metaspace) {
  json::Object t = tinyTokenizer();
  t["pre_tokenizer"] = json::Object{{"type", "Metaspace"}, {"replacement", "▁"}};
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported pre-tokenizer 'Metaspace'");
}

TEST_F(TokenizerDir, WrongRegex) {
  // GPT-2's pattern.
  json::Object t = tinyTokenizer();
  (*t.getObject("pre_tokenizer")->getArray("pretokenizers"))[0]
      .getAsObject()
      ->getObject("pattern")
      ->operator[]("Regex") =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported pre-tokenizer regex");
}

TEST_F(TokenizerDir, ByteLevelWithRegex) {
  // GPT-2 style: ByteLevel alone, with its own regex.
  json::Object t = tinyTokenizer();
  t["pre_tokenizer"] = json::Object{{"type", "ByteLevel"},
                                    {"add_prefix_space", false},
                                    {"trim_offsets", true},
                                    {"use_regex", true}};
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported pre-tokenizer 'ByteLevel'");
  json::Object u = tinyTokenizer();
  (*u.getObject("pre_tokenizer")->getArray("pretokenizers"))[1]
      .getAsObject()
      ->operator[]("use_regex") = true;
  writeTokenizer(u);
  expectError("tokenizer.json", "unsupported ByteLevel pre-tokenizer options");
}

TEST_F(TokenizerDir, Decoder) {
  json::Object t = tinyTokenizer();
  t["decoder"] = json::Object{{"type", "Metaspace"}};
  writeTokenizer(t);
  expectError("tokenizer.json", "unsupported decoder 'Metaspace'");
}

TEST_F(TokenizerDir, MergeOfUnknownToken) {
  json::Object t = tinyTokenizer();
  model(t)["merges"] = json::Array{"t h", "th zz"};
  writeTokenizer(t);
  expectError("tokenizer.json", "merge 1: 'zz' is not in the vocabulary");
}

TEST_F(TokenizerDir, MergeResultUnknown) {
  json::Object t = tinyTokenizer();
  model(t)["merges"] = json::Array{"t h", json::Array{"h", "e"}};
  writeTokenizer(t);
  expectError("tokenizer.json", "merge 1: the result 'he' is not in the vocabulary");
}

TEST_F(TokenizerDir, MalformedMerges) {
  for (json::Value m : {json::Value("th"), json::Value("t  h"), json::Value(" t"),
                        json::Value(json::Array{"t"}), json::Value(json::Array{"t", 1}),
                        json::Value(7)}) {
    json::Object t = tinyTokenizer();
    model(t)["merges"] = json::Array{std::move(m)};
    writeTokenizer(t);
    expectError("tokenizer.json", "merge 0");
  }
}

TEST_F(TokenizerDir, DuplicateMerge) {
  json::Object t = tinyTokenizer();
  model(t)["merges"] = json::Array{"t h", "th e", json::Array{"t", "h"}};
  writeTokenizer(t);
  expectError("tokenizer.json", "duplicates merge 0");
}

TEST_F(TokenizerDir, DuplicateId) {
  json::Object t = tinyTokenizer();
  model(t).getObject("vocab")->operator[]("the") = 256;
  writeTokenizer(t);
  expectError("tokenizer.json", "duplicate id 256");
}

TEST_F(TokenizerDir, DuplicateVocabKey) {
  // json::parse would silently keep the last; the importer refuses.
  std::string s = str(json::Value(tinyTokenizer()));
  size_t at = s.find("\"the\":257");
  ASSERT_NE(at, std::string::npos);
  s.insert(at, "\"the\":300,");
  write("tokenizer.json", s);
  expectError("tokenizer.json", "the");
  auto b = buildTokenizerBlob(dir);
  ASSERT_FALSE(bool(b));
  EXPECT_NE(errorText(b.takeError()).find("duplicate"), std::string::npos);
}

TEST_F(TokenizerDir, HugeId) {
  for (int64_t id : {int64_t(1) << 40, int64_t(kMaxVocab), int64_t(-1)}) {
    json::Object t = tinyTokenizer();
    model(t).getObject("vocab")->operator[]("the") = id;
    writeTokenizer(t);
    expectError("tokenizer.json", "out of range");
  }
  json::Object t = tinyTokenizer();
  model(t).getObject("vocab")->operator[]("the") = 1.5;
  writeTokenizer(t);
  expectError("tokenizer.json", "id must be an integer");
  json::Object u = tinyTokenizer();
  (*u.getArray("added_tokens"))[0].getAsObject()->operator[]("id") = int64_t(1) << 33;
  writeTokenizer(u);
  expectError("tokenizer.json", "out of range");
}

TEST_F(TokenizerDir, MissingByteToken) {
  // (Rebuilt rather than erase()d: in LLVM 19 a copy of a json::Object
  // brings erased keys back.)
  json::Object t = tinyTokenizer();
  json::Object vocab;
  for (const auto &kv : *model(t).getObject("vocab"))
    if (StringRef(kv.first) != byteLevel("\x07"))
      vocab[kv.first] = kv.second;
  model(t)["vocab"] = std::move(vocab);
  writeTokenizer(t);
  expectError("tokenizer.json", "no token for byte 0x07");
}

TEST_F(TokenizerDir, NotByteLevelVocab) {
  json::Object t = tinyTokenizer();
  model(t).getObject("vocab")->operator[]("▁the") = 300;
  writeTokenizer(t);
  expectError("tokenizer.json", "is not byte-level");
}

TEST_F(TokenizerDir, AddedTokenProblems) {
  {
    json::Object t = tinyTokenizer(); // id of a vocab token, other text
    (*t.getArray("added_tokens"))[0].getAsObject()->operator[]("id") = 257;
    writeTokenizer(t);
    expectError("tokenizer.json", "which the vocabulary gives to 'the'");
  }
  {
    json::Object t = tinyTokenizer(); // duplicate id
    (*t.getArray("added_tokens"))[1].getAsObject()->operator[]("id") = 259;
    writeTokenizer(t);
    expectError("tokenizer.json", "duplicate id 259");
  }
  {
    json::Object t = tinyTokenizer(); // duplicate content
    (*t.getArray("added_tokens"))[1].getAsObject()->operator[]("content") =
        "<|begin_of_text|>";
    writeTokenizer(t);
    expectError("tokenizer.json", "appears twice");
  }
  {
    json::Object t = tinyTokenizer(); // text of a vocab token, another id
    (*t.getArray("added_tokens"))[1].getAsObject()->operator[]("content") = "the";
    writeTokenizer(t);
    expectError("tokenizer.json", "duplicates vocabulary token id 257");
  }
  {
    json::Object t = tinyTokenizer();
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("lstrip") = true;
    writeTokenizer(t);
    expectError("tokenizer.json", "'lstrip' = true is not supported");
  }
  {
    json::Object t = tinyTokenizer();
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("content") = "";
    writeTokenizer(t);
    expectError("tokenizer.json", "'content' must be a non-empty string");
  }
  {
    json::Object t = tinyTokenizer();
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("special") = "yes";
    writeTokenizer(t);
    expectError("tokenizer.json", "'special' must be a boolean");
  }
  {
    // Added token that is also in the vocabulary with the same text: fine.
    json::Object t = tinyTokenizer();
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("id") = 257;
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("content") = "the";
    (*t.getArray("added_tokens"))[2].getAsObject()->operator[]("special") = false;
    writeTokenizer(t);
    std::vector<uint8_t> blob = expectBlob();
    ASSERT_FALSE(blob.empty());
    BlobView v{blob};
    EXPECT_EQ(v.flags(257), uint32_t(LLMC_TOK_FLAG_ADDED));
    EXPECT_EQ(v.eot(), -1);
  }
}

TEST_F(TokenizerDir, BadTokenizerConfig) {
  writeTokenizer(tinyTokenizer());
  write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  expectError("tokenizer_config.json", "bos_token '<s>' is not a token of");
  write("tokenizer_config.json", R"({"eos_token": 5})");
  expectError("tokenizer_config.json", "'eos_token' must be a string");
  write("tokenizer_config.json", R"({"chat_template": 5})");
  expectError("tokenizer_config.json", "'chat_template' must be a string or a list");
  write("tokenizer_config.json", "{");
  expectError("tokenizer_config.json", "invalid JSON");
  write("tokenizer_config.json", "");
  expectError("tokenizer_config.json", "empty file");
}

TEST_F(TokenizerDir, BadGenerationConfig) {
  writeTokenizer(tinyTokenizer());
  write("generation_config.json", R"({"eos_token_id": [260, 262]})");
  expectError("generation_config.json", "eos_token_id 262 is not a token id");
  write("generation_config.json", R"({"bos_token_id": -1})");
  expectError("generation_config.json", "bos_token_id -1 is not a token id");
  write("generation_config.json", R"({"eos_token_id": "x"})");
  expectError("generation_config.json", "'eos_token_id' must be an integer");
}

} // namespace
