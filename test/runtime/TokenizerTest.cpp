//===- TokenizerTest.cpp - the runtime's Llama 3 tokenizer ----------------===//
//
// Tests the C tokenizer (runtime/src/tokenizer.c, API
// runtime/include/llmc_tokenizer.h):
//  - on a tiny hand-made vocabulary written here per the blob format: BPE
//    (ranks, leftmost tie-break, ignore_merges, long words on the heap
//    fallback, against a naive reference BPE), special / added tokens, the
//    pre-tokenizer scanner on tricky cases (outputs recorded from HF
//    tokenizers 0.23.3), invalid UTF-8 input, lossy and streaming decode;
//  - hostile blobs: truncated at every length, offsets / ids out of range,
//    unsorted tables, random corruption: an error, never a crash (run under
//    ASan + UBSan in the sanitizer build);
//  - exactness against HF tokenizers on test/tokenizer/goldens.json, the blob
//    written by the compiler's llmc::buildTokenizerBlob from
//    test/tokenizer/tokenizer.json.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/llmc_tokenizer.h"
#include "runtime/include/llmc_tokenizer_format.h"

#include "compiler/frontend/Tokenizer.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#ifndef LLMC_SOURCE_DIR
#error "LLMC_SOURCE_DIR must be defined (the repository root)"
#endif

namespace {

// ------------------------------------------------------------- blob writer

/// A vocabulary written per runtime/include/llmc_tokenizer_format.h. Ids
/// 0..255 are the single bytes; add() appends tokens.
struct VocabSpec {
  std::vector<std::string> text;
  std::vector<uint32_t> flags;
  std::vector<std::pair<uint32_t, uint32_t>> merges; // in rank order
  int32_t bos = -1, eos = -1, eot = -1;
  uint32_t options = LLMC_TOK_OPT_IGNORE_MERGES;

  VocabSpec() {
    for (int b = 0; b < 256; b++)
      add(std::string(1, char(b)));
  }
  uint32_t add(const std::string &s, uint32_t fl = 0) {
    text.push_back(s);
    flags.push_back(fl);
    return uint32_t(text.size() - 1);
  }
  uint32_t id(const std::string &s) const {
    for (size_t i = 0; i < text.size(); i++)
      if (text[i] == s && !(flags[i] & (LLMC_TOK_FLAG_UNUSED | LLMC_TOK_FLAG_ADDED)))
        return uint32_t(i);
    ADD_FAILURE() << "no token " << s;
    return 0;
  }
  /// Adds the merge l + r (rank = order of calls), and its result token.
  uint32_t merge(const std::string &l, const std::string &r) {
    uint32_t li = id(l), ri = id(r);
    merges.push_back({li, ri});
    for (size_t i = 0; i < text.size(); i++)
      if (text[i] == l + r && !flags[i])
        return uint32_t(i);
    return add(l + r);
  }
  uint32_t result(size_t rank) const {
    return id(text[merges[rank].first] + text[merges[rank].second]);
  }

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out(sizeof(llmc_tok_header), 0);
    auto put32 = [&](uint32_t v) {
      for (int k = 0; k < 4; k++)
        out.push_back(uint8_t(v >> (8 * k)));
    };
    auto align = [&] {
      while (out.size() % 4)
        out.push_back(0);
    };
    llmc_tok_header h;
    std::memset(&h, 0, sizeof h);
    std::memcpy(h.magic, LLMC_TOK_MAGIC, 8);
    h.version = LLMC_TOK_VERSION;
    h.vocab_size = uint32_t(text.size());
    h.pretokenizer = LLMC_TOK_PRETOKENIZER_LLAMA3;
    h.options = options;
    h.bos_id = bos;
    h.eos_id = eos;
    h.eot_id = eot;
    // strings
    h.strings_offset = uint32_t(out.size());
    std::vector<uint32_t> off;
    for (size_t i = 0; i < text.size(); i++) {
      off.push_back(uint32_t(out.size() - h.strings_offset));
      if (!(flags[i] & LLMC_TOK_FLAG_UNUSED))
        out.insert(out.end(), text[i].begin(), text[i].end());
    }
    h.strings_size = uint32_t(out.size() - h.strings_offset);
    align();
    h.tokens_offset = uint32_t(out.size());
    for (size_t i = 0; i < text.size(); i++) {
      bool unused = flags[i] & LLMC_TOK_FLAG_UNUSED;
      put32(unused ? 0 : off[i]);
      put32(unused ? 0 : uint32_t(text[i].size()));
      put32(flags[i]);
    }
    std::vector<uint32_t> sorted;
    for (size_t i = 0; i < text.size(); i++)
      if (!(flags[i] & (LLMC_TOK_FLAG_UNUSED | LLMC_TOK_FLAG_SPECIAL)))
        sorted.push_back(uint32_t(i));
    std::sort(sorted.begin(), sorted.end(), [&](uint32_t a, uint32_t b) {
      return text[a] < text[b]; // std::string compares as unsigned bytes
    });
    h.num_sorted = uint32_t(sorted.size());
    h.sorted_offset = uint32_t(out.size());
    for (uint32_t i : sorted)
      put32(i);
    struct M {
      uint32_t l, r, rank, res;
    };
    std::vector<M> ms;
    for (size_t k = 0; k < merges.size(); k++)
      ms.push_back({merges[k].first, merges[k].second, uint32_t(k),
                    result(k)});
    std::sort(ms.begin(), ms.end(), [](const M &a, const M &b) {
      return std::make_pair(a.l, a.r) < std::make_pair(b.l, b.r);
    });
    h.num_merges = uint32_t(ms.size());
    h.merges_offset = uint32_t(out.size());
    for (const M &m : ms) {
      put32(m.l);
      put32(m.r);
      put32(m.rank);
      put32(m.res);
    }
    std::vector<uint32_t> specials;
    for (size_t i = 0; i < text.size(); i++)
      if (flags[i] & LLMC_TOK_FLAG_ADDED)
        specials.push_back(uint32_t(i));
    std::sort(specials.begin(), specials.end(), [&](uint32_t a, uint32_t b) {
      return text[a].size() != text[b].size() ? text[a].size() > text[b].size()
                                              : a < b;
    });
    h.num_special = uint32_t(specials.size());
    h.specials_offset = uint32_t(out.size());
    for (uint32_t i : specials)
      put32(i);
    h.byte_tokens_offset = uint32_t(out.size());
    for (int b = 0; b < 256; b++)
      put32(uint32_t(b));
    std::memcpy(out.data(), &h, sizeof h);
    return out;
  }
};

const uint32_t kSpecial = LLMC_TOK_FLAG_SPECIAL | LLMC_TOK_FLAG_ADDED;

/// The tiny vocabulary most tests use.
VocabSpec tinyVocab() {
  VocabSpec v;
  v.merge("h", "e");        // 0: he
  v.merge("l", "l");        // 1: ll
  v.merge("he", "ll");      // 2: hell
  v.merge("hell", "o");     // 3: hello
  v.merge(" ", "w");        // 4: " w"
  v.merge("a", "a");        // 5: aa
  v.merge("aa", "a");       // 6: aaa
  v.merge("o", "r");        // 7: or
  v.merge(" w", "or");      // 8: " wor"
  v.merge("\xF0", "\x9F");  // 9: first half of an emoji
  v.merge("\x98", "\x80");  // 10: second half of U+1F600
  v.merge("b", "a");        // 11: ba
  v.merge("ba", "aa");      // 12: baaa
  v.add("xyz");             // reachable only with ignore_merges
  v.bos = int32_t(v.add("<|bos|>", kSpecial));
  v.eot = int32_t(v.add("<|eot|>", kSpecial));
  v.add("<|eot|>!", kSpecial);                  // longer match wins
  v.add("<nx>", LLMC_TOK_FLAG_ADDED);           // added, not special
  v.add("", LLMC_TOK_FLAG_UNUSED);              // a hole in the ids
  return v;
}

/// A tokenizer over a blob it owns.
struct Tok {
  std::vector<uint8_t> blob;
  llmc_tokenizer t;
  explicit Tok(const VocabSpec &v) : blob(v.build()) {
    int st = llmc_tokenizer_init(blob.data(), blob.size(), &t);
    EXPECT_EQ(st, LLMC_OK) << t.error;
  }
  explicit Tok(std::vector<uint8_t> b) : blob(std::move(b)) {
    int st = llmc_tokenizer_init(blob.data(), blob.size(), &t);
    EXPECT_EQ(st, LLMC_OK) << t.error;
  }
  std::vector<int32_t> encode(const std::string &s, int special = 1,
                              int bos = 0) const {
    size_t n = 0, n2 = 0;
    llmc_status st =
        llmc_tokenize(&t, s.data(), s.size(), special, bos, nullptr, 0, &n);
    EXPECT_EQ(st, n ? LLMC_ERR_BUFFER_TOO_SMALL : LLMC_OK);
    if (st != LLMC_OK && st != LLMC_ERR_BUFFER_TOO_SMALL)
      return {};
    std::vector<int32_t> ids(size_t(n) + 1, -7);
    EXPECT_EQ(llmc_tokenize(&t, s.data(), s.size(), special, bos, ids.data(),
                            ids.size(), &n2),
              LLMC_OK);
    EXPECT_EQ(n2, n);
    EXPECT_EQ(ids[size_t(n)], -7); // nothing written past the result
    ids.resize(size_t(n));
    return ids;
  }
  std::vector<std::string> pieces(const std::string &s, int special = 0) const {
    size_t n = 0, n2 = 0;
    llmc_pretokenize(&t, s.data(), s.size(), special, nullptr, 0, &n);
    std::vector<size_t> ends(n);
    EXPECT_EQ(llmc_pretokenize(&t, s.data(), s.size(), special, ends.data(),
                               ends.size(), &n2),
              LLMC_OK);
    EXPECT_EQ(n2, n);
    std::vector<std::string> out;
    size_t prev = 0;
    for (size_t e : ends) {
      EXPECT_GT(e, prev);
      out.push_back(s.substr(prev, e - prev));
      prev = e;
    }
    EXPECT_EQ(prev, s.size());
    return out;
  }
  std::string decode(const std::vector<int32_t> &ids, int skip = 0) const {
    size_t n = 0, n2 = 0;
    llmc_status st =
        llmc_detokenize(&t, ids.data(), ids.size(), skip, nullptr, 0, &n);
    EXPECT_EQ(st, n ? LLMC_ERR_BUFFER_TOO_SMALL : LLMC_OK);
    if (st != LLMC_OK && st != LLMC_ERR_BUFFER_TOO_SMALL)
      return "<error>";
    std::string s(size_t(n) + 1, '#');
    EXPECT_EQ(llmc_detokenize(&t, ids.data(), ids.size(), skip, s.data(),
                              s.size(), &n2),
              LLMC_OK);
    EXPECT_EQ(n2, n);
    EXPECT_EQ(s.back(), '#');
    s.resize(size_t(n));
    return s;
  }
  /// Decodes through the stream API, one id at a time.
  std::string streamDecode(const std::vector<int32_t> &ids) const {
    llmc_detok_stream st = {};
    std::string out;
    char buf[256];
    for (int32_t id : ids) {
      size_t w = 0;
      EXPECT_EQ(llmc_detok_stream_push(&t, &st, id, buf, sizeof buf, &w), LLMC_OK);
      out.append(buf, w);
    }
    size_t w = 0;
    EXPECT_EQ(llmc_detok_stream_flush(&st, buf, sizeof buf, &w), LLMC_OK);
    out.append(buf, w);
    return out;
  }
};

/// Reference BPE: the textbook O(n^2) loop (lowest rank, leftmost on a tie).
std::vector<int32_t> referenceBpe(const VocabSpec &v, const std::string &word) {
  std::map<std::pair<int32_t, int32_t>, std::pair<uint32_t, int32_t>> rank;
  for (size_t k = 0; k < v.merges.size(); k++)
    rank[{int32_t(v.merges[k].first), int32_t(v.merges[k].second)}] = {
        uint32_t(k), int32_t(v.result(k))};
  std::vector<int32_t> s;
  for (unsigned char c : word)
    s.push_back(c);
  for (;;) {
    size_t best = SIZE_MAX;
    uint32_t br = UINT32_MAX;
    for (size_t i = 0; i + 1 < s.size(); i++) {
      auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && it->second.first < br) {
        br = it->second.first;
        best = i;
      }
    }
    if (best == SIZE_MAX)
      return s;
    s[best] = rank[{s[best], s[best + 1]}].second;
    s.erase(s.begin() + long(best) + 1);
  }
}

using Ids = std::vector<int32_t>;
using Strs = std::vector<std::string>;

// -------------------------------------------------------------------- BPE

TEST(TokenizerBpe, MergesByRank) {
  VocabSpec v = tinyVocab();
  Tok t(v);
  EXPECT_EQ(llmc_tokenizer_vocab_size(&t.t), v.text.size());
  EXPECT_EQ(t.encode("hello"), Ids({int32_t(v.id("hello"))}));
  // " world": " w" (rank 4) and "or" (7) then " wor" (8); l, d stay bytes.
  EXPECT_EQ(t.encode(" world"), Ids({int32_t(v.id(" wor")), 'l', 'd'}));
  EXPECT_EQ(t.encode("hello world"),
            Ids({int32_t(v.id("hello")), int32_t(v.id(" wor")), 'l', 'd'}));
  // Ties go to the leftmost pair: aaaa -> aa|a|a -> aa|aa (aa+a is rank 6,
  // the second a+a rank 5).
  EXPECT_EQ(t.encode("aaaa"), Ids({int32_t(v.id("aa")), int32_t(v.id("aa"))}));
  EXPECT_EQ(t.encode("aaa"), Ids({int32_t(v.id("aaa"))}));
  EXPECT_EQ(t.encode("x"), Ids({'x'}));
  EXPECT_EQ(t.encode(""), Ids({}));
}

TEST(TokenizerBpe, IgnoreMerges) {
  VocabSpec v = tinyVocab();
  {
    Tok t(v);
    EXPECT_EQ(t.encode("xyz"), Ids({int32_t(v.id("xyz"))}));
    // Only a whole pre-token is looked up.
    EXPECT_EQ(t.encode("xyzx"), Ids({'x', 'y', 'z', 'x'}));
    // A pre-token that is a token but also has merges: emitted whole.
    EXPECT_EQ(t.encode("baaa"), Ids({int32_t(v.id("baaa"))}));
  }
  v.options = 0;
  Tok t(v);
  EXPECT_EQ(t.encode("xyz"), Ids({'x', 'y', 'z'}));
  // baaa: b+a (11) loses to a+a (5): b|aa|a -> b|aaa; ba+aa never forms.
  EXPECT_EQ(t.encode("baaa"), Ids({'b', int32_t(v.id("aaa"))}));
  EXPECT_EQ(t.encode("hello"), Ids({int32_t(v.id("hello"))}));
}

TEST(TokenizerBpe, MatchesReferenceOnRandomWords) {
  // Long words exercise the heap fallback past LLMC_TOK_STACK_SYMBOLS.
  VocabSpec v = tinyVocab();
  v.options = 0;
  Tok t(v);
  std::mt19937 rng(42);
  const char alphabet[] = "aabhello";
  for (int it = 0; it < 330; it++) {
    size_t n = it < 300 ? 1 + rng() % 40 : 250 + rng() % 1000;
    std::string w;
    for (size_t k = 0; k < n; k++)
      w += alphabet[rng() % (sizeof alphabet - 1)];
    ASSERT_EQ(t.encode(w), referenceBpe(v, w)) << w;
  }
  // One pre-token of 100 KB: a+a merges left to right, the odd a last joins
  // the last aa.
  std::string big(100001, 'a');
  Ids want(50000, int32_t(v.id("aa")));
  want.back() = int32_t(v.id("aaa"));
  Ids ids = t.encode(big);
  EXPECT_EQ(ids, want);
  EXPECT_EQ(t.decode(ids), big);
}

TEST(TokenizerBpe, CapacityAndArguments) {
  VocabSpec v = tinyVocab();
  Tok t(v);
  std::string s = "hello world";
  int32_t ids[2] = {-1, -1};
  size_t n = 0;
  // Too small a buffer: a status, the size needed, and the prefix written;
  // llmc_last_error says so (the one error convention of llmc.h).
  EXPECT_EQ(llmc_tokenize(&t.t, s.data(), s.size(), 1, 1, ids, 2, &n),
            LLMC_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(n, 5u);
  EXPECT_NE(std::string(llmc_last_error()).find("needs 5"), std::string::npos)
      << llmc_last_error();
  EXPECT_EQ(ids[0], v.bos);
  EXPECT_EQ(ids[1], int32_t(v.id("hello")));
  EXPECT_EQ(llmc_tokenize(&t.t, s.data(), s.size(), 1, 0, nullptr, 0, &n),
            LLMC_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(llmc_tokenize(nullptr, s.data(), s.size(), 1, 0, nullptr, 0, &n),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_tokenize(&t.t, nullptr, 3, 1, 0, nullptr, 0, &n),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_tokenize(&t.t, s.data(), s.size(), 1, 0, nullptr, 3, &n),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_tokenize(&t.t, s.data(), s.size(), 1, 0, ids, 2, nullptr),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_tokenize(&t.t, nullptr, 0, 1, 1, ids, 2, &n), LLMC_OK);
  EXPECT_EQ(n, 1u);
  llmc_tokenizer zero;
  std::memset(&zero, 0, sizeof zero);
  EXPECT_EQ(llmc_tokenize(&zero, s.data(), s.size(), 1, 0, nullptr, 0, &n),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(t.encode("hi", 1, 1), Ids({v.bos, 'h', 'i'}));
  EXPECT_EQ(llmc_tokenizer_bos(&t.t), v.bos);
  EXPECT_EQ(llmc_tokenizer_eot(&t.t), v.eot);
  EXPECT_EQ(llmc_tokenizer_eos(&t.t), -1);
}

// --------------------------------------------------------- special tokens

TEST(TokenizerSpecial, LongestMatchAndPlainText) {
  VocabSpec v = tinyVocab();
  Tok t(v);
  int32_t eot = v.eot, eotBang = -1;
  // id() skips added tokens; look them up by hand.
  for (size_t i = 0; i < v.text.size(); i++)
    if (v.text[i] == "<|eot|>!")
      eotBang = int32_t(i);
  int32_t nx = -1;
  for (size_t i = 0; i < v.text.size(); i++)
    if (v.text[i] == "<nx>")
      nx = int32_t(i);
  EXPECT_EQ(t.encode("<|eot|>"), Ids({eot}));
  EXPECT_EQ(t.encode("a<|eot|>!b"), Ids({'a', eotBang, 'b'}));
  EXPECT_EQ(t.encode("<|eot|><|eot|>"), Ids({eot, eot}));
  EXPECT_EQ(t.encode("hello<|bos|> world"),
            Ids({int32_t(v.id("hello")), v.bos, int32_t(v.id(" wor")), 'l', 'd'}));
  EXPECT_EQ(t.encode("<|eot"), Ids({'<', '|', 'e', 'o', 't'}));
  // As plain text: "<|" others, "eot" letters, "|>" others.
  EXPECT_EQ(t.encode("<|eot|>", 0), Ids({'<', '|', 'e', 'o', 't', '|', '>'}));
  EXPECT_EQ(t.pieces("<|eot|>", 0), Strs({"<|", "eot", "|>"}));
  EXPECT_EQ(t.pieces("a<|eot|>b", 1), Strs({"a", "<|eot|>", "b"}));
  // Added tokens that are not special are matched either way (as HF does
  // with encode_special_tokens).
  EXPECT_EQ(t.encode("x<nx>y", 1), Ids({'x', nx, 'y'}));
  EXPECT_EQ(t.encode("x<nx>y", 0), Ids({'x', nx, 'y'}));
  // Decoding: specials are their text, or skipped.
  EXPECT_EQ(t.decode({v.bos, int32_t(v.id("hello")), eot}), "<|bos|>hello<|eot|>");
  EXPECT_EQ(t.decode({v.bos, int32_t(v.id("hello")), eot, nx}, 1), "hello<nx>");
  EXPECT_EQ(llmc_token_flags(&t.t, eot), kSpecial);
  EXPECT_EQ(llmc_token_flags(&t.t, -1), 0u);
}

// ---------------------------------------------------------- pre-tokenizer

TEST(TokenizerPretokenize, Llama3Regex) {
  Tok t(tinyVocab());
  // Expected pieces recorded from HF tokenizers 0.23.3 (Split with the Llama 3
  // regex, Isolated).
  struct Case {
    const char *in;
    Strs out;
  } cases[] = {
      {"'s x", {"'s", " x"}},
      {"\x27\xC5\xBF x", {"'\xC5\xBF", " x"}}, // 'ſ (long s folds to s)
      {"\x27\xC5\xBFt", {"'\xC5\xBF", "t"}},
      {"'S'T'RE'Ve'M'LL'D", {"'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D"}},
      {"a'sb", {"a", "'s", "b"}},
      {"'", {"'"}},
      {"'lL", {"'lL"}},
      {"'x", {"'x"}},
      {"a  \n\n  b", {"a", "  \n\n", " ", " b"}},
      {"  hi", {" ", " hi"}},
      {"\t\thi", {"\t", "\thi"}},
      {"x \r\n \r\n y", {"x", " \r\n \r\n", " y"}},
      {"1234567", {"123", "456", "7"}},
      {" 123", {" ", "123"}},
      {"a\xC2\xA0\xC2\xA0" "b", {"a", "\xC2\xA0", "\xC2\xA0" "b"}},
      {"... \n\nx", {"...", " \n\n", "x"}},
      {"!!!\n\n\n  ", {"!!!\n\n\n", "  "}},
      {"   ", {"   "}},
      {" \n ", {" \n", " "}},
      {" !x", {" !", "x"}},
      {"\n!x", {"\n", "!x"}},
      {"3x", {"3", "x"}},
      {"\xE4\xB8\xAD\xE6\x96\x87 x", {"\xE4\xB8\xAD\xE6\x96\x87", " x"}},
      {"\xD9\xA3\xD9\xA4\xD9\xA5\xD9\xA6", {"\xD9\xA3\xD9\xA4\xD9\xA5", "\xD9\xA6"}},
      {"\xE3\x80\x80" "a", {"\xE3\x80\x80" "a"}}, // U+3000 is \s
      // Newer than Python 3.11's Unicode 14: U+1C89 (Unicode 16) is a letter
      // for HF's engine.
      {" \xE1\xB2\x89", {" \xE1\xB2\x89"}},
  };
  for (const Case &c : cases)
    EXPECT_EQ(t.pieces(c.in), c.out) << c.in;
}

TEST(TokenizerPretokenize, InvalidUtf8Input) {
  VocabSpec v = tinyVocab();
  Tok t(v);
  // Each maximal invalid subsequence is one "other" character (as U+FFFD
  // would be); BPE then sees its raw bytes.
  EXPECT_EQ(t.pieces("\xFF" "abc"), Strs({"\xFF" "abc"}));
  EXPECT_EQ(t.pieces("\xE2\x82" "a"), Strs({"\xE2\x82" "a"}));
  EXPECT_EQ(t.pieces("a\xE2\x82"), Strs({"a", "\xE2\x82"}));
  EXPECT_EQ(t.pieces("\xC0\x80 1"), Strs({"\xC0\x80", " ", "1"}));
  // ED A0 80 (a surrogate) is three invalid units (A0 cannot follow ED):
  // a run of "others", then the letter.
  EXPECT_EQ(t.pieces("\xED\xA0\x80x"), Strs({"\xED\xA0\x80", "x"}));
  EXPECT_EQ(t.pieces("\xF0\x9F\x98x"), Strs({"\xF0\x9F\x98x"}));
  EXPECT_EQ(t.encode("\xFF" "ab"), Ids({0xFF, 'a', 'b'}));
  EXPECT_EQ(t.decode(t.encode("\xFF" "ab")), "\xEF\xBF\xBD" "ab");
  std::mt19937 rng(7);
  for (int it = 0; it < 2000; it++) {
    std::string s;
    size_t n = rng() % 24;
    for (size_t k = 0; k < n; k++)
      s += char(rng() % 3 ? rng() % 256 : " a1\n'"[rng() % 5]);
    Strs p = t.pieces(s);
    std::string joined;
    for (auto &x : p)
      joined += x;
    ASSERT_EQ(joined, s);
    Ids ids = t.encode(s);
    // The bytes round-trip exactly through the tokens.
    std::string raw;
    for (int32_t id : ids) {
      const char *b;
      size_t len;
      ASSERT_EQ(llmc_token_bytes(&t.t, id, &b, &len), LLMC_OK);
      raw.append(b, len);
    }
    ASSERT_EQ(raw, s);
  }
}

// ----------------------------------------------------------------- decode

TEST(TokenizerDecode, LossyLikeFromUtf8Lossy) {
  Tok t(tinyVocab());
  const std::string R = "\xEF\xBF\xBD"; // U+FFFD
  auto bytes = [](std::initializer_list<int> b) { return Ids(b.begin(), b.end()); };
  EXPECT_EQ(t.decode(bytes({0xF0, 0x9F, 0x98, 0x80})), "\xF0\x9F\x98\x80");
  EXPECT_EQ(t.decode(bytes({0xF0, 0x9F})), R);                 // truncated
  EXPECT_EQ(t.decode(bytes({0xF0, 0x9F, 'a'})), R + "a");
  EXPECT_EQ(t.decode(bytes({0xC0, 0x80})), R + R);             // overlong
  EXPECT_EQ(t.decode(bytes({0xE0, 0x80, 0x80})), R + R + R);
  EXPECT_EQ(t.decode(bytes({0xED, 0xA0, 0x80})), R + R + R);   // surrogate
  EXPECT_EQ(t.decode(bytes({0xF4, 0x90, 0x80, 0x80})), R + R + R + R);
  EXPECT_EQ(t.decode(bytes({0xE2, 0x82, 0xE2, 0x82, 0xAC})), R + "\xE2\x82\xAC");
  EXPECT_EQ(t.decode(bytes({0x80, 0xBF, 'x'})), R + R + "x");
  EXPECT_EQ(t.decode(bytes({0xFF, 0xF5, 0xF8})), R + R + R);
  EXPECT_EQ(t.decode(bytes({0xF1, 0x80, 0x80})), R);
  int32_t bad[] = {int32_t(tinyVocab().text.size())};
  size_t len = 0;
  EXPECT_EQ(llmc_detokenize(&t.t, bad, 1, 0, nullptr, 0, &len),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("not in the vocabulary"),
            std::string::npos)
      << llmc_last_error();
  int32_t hole[] = {int32_t(tinyVocab().text.size() - 1)};
  EXPECT_EQ(llmc_detokenize(&t.t, hole, 1, 0, nullptr, 0, &len),
            LLMC_ERR_INVALID_ARGUMENT);
  const char *b;
  size_t n;
  EXPECT_EQ(llmc_token_bytes(&t.t, hole[0], &b, &n), LLMC_ERR_INVALID_ARGUMENT);
  // A short buffer: the needed length, a prefix written.
  int32_t ids[] = {'a', 'b', 'c'};
  char out[2] = {0, 0};
  EXPECT_EQ(llmc_detokenize(&t.t, ids, 3, 0, out, 2, &len),
            LLMC_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(std::string(out, 2), "ab");
}

TEST(TokenizerDecode, Stream) {
  VocabSpec v = tinyVocab();
  Tok t(v);
  int32_t h1 = int32_t(v.id("\xF0\x9F")), h2 = int32_t(v.id("\x98\x80"));
  // The emoji U+1F600 split across two tokens comes out whole, once.
  EXPECT_EQ(t.encode("\xF0\x9F\x98\x80"), Ids({h1, h2}));
  llmc_detok_stream s = {};
  char buf[64];
  size_t w = 99, w0 = 0;
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, 'a', buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(std::string(buf, w), "a");
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, h1, buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(w, 0u);
  EXPECT_EQ(s.npending, 2u);
  // Too small a buffer: nothing happens, the size needed is reported.
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, h2, buf, 3, &w), LLMC_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(w, 4u);
  EXPECT_EQ(s.npending, 2u);
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, h2, buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(std::string(buf, w), "\xF0\x9F\x98\x80");
  // A sequence that can never complete: U+FFFD, then the byte that broke it.
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, h1, buf, sizeof buf, &w), LLMC_OK);
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, 'x', buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(std::string(buf, w), "\xEF\xBF\xBDx");
  // Flush of a held-back prefix.
  ASSERT_EQ(llmc_detok_stream_push(&t.t, &s, 0xE2, buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(w, 0u);
  ASSERT_EQ(llmc_detok_stream_flush(&s, buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(std::string(buf, w), "\xEF\xBF\xBD");
  EXPECT_EQ(s.npending, 0u);
  ASSERT_EQ(llmc_detok_stream_flush(&s, buf, sizeof buf, &w), LLMC_OK);
  EXPECT_EQ(w, 0u);
  EXPECT_EQ(llmc_detok_stream_push(&t.t, &s, -1, buf, sizeof buf, &w),
            LLMC_ERR_INVALID_ARGUMENT);
  // The documented bound: the longest token, all invalid, after a held-back
  // prefix.
  EXPECT_EQ(llmc_tokenizer_max_token_bytes(&t.t), 8u); // "<|eot|>!"
  {
    VocabSpec w = tinyVocab();
    w.add("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
    Tok tw(w);
    uint32_t bad = uint32_t(w.text.size() - 1);
    size_t bound = LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(&tw.t));
    std::vector<char> big(bound);
    llmc_detok_stream ws = {};
    ASSERT_EQ(llmc_detok_stream_push(&tw.t, &ws, 0xF0, big.data(), bound, &w0), LLMC_OK);
    ASSERT_EQ(llmc_detok_stream_push(&tw.t, &ws, 0x9F, big.data(), bound, &w0), LLMC_OK);
    ASSERT_EQ(llmc_detok_stream_push(&tw.t, &ws, int32_t(bad), big.data(), bound, &w0),
              LLMC_OK);
    EXPECT_EQ(w0, 3u * 11); // U+FFFD for F0 9F, then one per byte
    EXPECT_LE(w0, bound);
  }
  // Random ids: the stream equals the one-shot decode.
  std::mt19937 rng(3);
  for (int it = 0; it < 3000; it++) {
    Ids ids;
    size_t n = rng() % 12;
    for (size_t k = 0; k < n; k++) {
      int32_t id = rng() % 3 ? int32_t(0x80 + rng() % 0x80)
                             : int32_t(rng() % (v.text.size() - 1));
      ids.push_back(id);
    }
    ASSERT_EQ(t.streamDecode(ids), t.decode(ids));
  }
}

// ---------------------------------------------------------- hostile blobs

int initStatus(const std::vector<uint8_t> &b) {
  llmc_tokenizer t;
  return llmc_tokenizer_init(b.data(), b.size(), &t);
}

void put32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; k++)
    b[at + size_t(k)] = uint8_t(v >> (8 * k));
}
uint32_t get32(const std::vector<uint8_t> &b, size_t at) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++)
    v |= uint32_t(b[at + size_t(k)]) << (8 * k);
  return v;
}

/// After a successful init, using the tokenizer must be safe.
void exercise(const llmc_tokenizer &t, std::mt19937 &rng) {
  std::string s = "hello <|eot|> world 123 \xF0\x9F\x98\x80 'll\n\n";
  for (int k = 0; k < 16; k++)
    s += char(rng());
  int32_t ids[256];
  size_t n = 0;
  llmc_status status = llmc_tokenize(&t, s.data(), s.size(), 1, 1, ids, 256, &n);
  ASSERT_TRUE(status == LLMC_OK || status == LLMC_ERR_BUFFER_TOO_SMALL) << status;
  char out[4096];
  llmc_detokenize(&t, ids, std::min<size_t>(n, 256), 0, out, sizeof out, &n);
  llmc_detok_stream st = {};
  for (int32_t id = -2; id < int32_t(llmc_tokenizer_vocab_size(&t)) + 2; id++) {
    size_t w;
    char buf[64];
    llmc_detok_stream_push(&t, &st, id, buf, sizeof buf, &w);
  }
}

TEST(TokenizerHostile, TruncatedAtEveryLength) {
  std::vector<uint8_t> b = tinyVocab().build();
  ASSERT_EQ(initStatus(b), LLMC_OK);
  for (size_t len = 0; len < b.size(); len++) {
    // A fresh allocation of exactly len bytes, so ASan sees any overread.
    std::vector<uint8_t> cut(b.begin(), b.begin() + long(len));
    cut.shrink_to_fit();
    llmc_tokenizer t;
    int st = llmc_tokenizer_init(cut.data(), len, &t);
    EXPECT_NE(st, LLMC_OK) << len;
    EXPECT_NE(std::string(t.error), "") << len;
  }
  llmc_tokenizer t;
  EXPECT_EQ(llmc_tokenizer_init(nullptr, 100, &t), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_tokenizer_init(b.data(), b.size(), nullptr), LLMC_ERR_INVALID_ARGUMENT);
}

TEST(TokenizerHostile, BadHeaderFields) {
  const std::vector<uint8_t> good = tinyVocab().build();
  auto with = [&](size_t field, uint32_t v) {
    std::vector<uint8_t> b = good;
    put32(b, field, v);
    return initStatus(b);
  };
#define OFF(f) offsetof(llmc_tok_header, f)
  EXPECT_EQ(with(0, 0x4c4c4d44), LLMC_ERR_BAD_FORMAT); // magic
  EXPECT_EQ(with(OFF(version), 2), LLMC_ERR_UNSUPPORTED_VERSION);
  EXPECT_EQ(with(OFF(pretokenizer), 7), LLMC_ERR_UNSUPPORTED);
  EXPECT_EQ(with(OFF(options), 0x80), LLMC_ERR_UNSUPPORTED);
  EXPECT_EQ(with(OFF(vocab_size), 0), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(vocab_size), 0xFFFFFFFFu), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(vocab_size), 1u << 30), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(num_merges), 0x10000000u), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(num_merges), 0xFFFFFFFFu), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(num_special), 0xFFFFFFFFu), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(num_sorted), 0xFFFFFFFFu), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(bos_id), 100000), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(OFF(eos_id), uint32_t(-2)), LLMC_ERR_BAD_FORMAT);
  for (size_t f : {OFF(strings_offset), OFF(strings_size), OFF(tokens_offset),
                   OFF(sorted_offset), OFF(merges_offset), OFF(specials_offset),
                   OFF(byte_tokens_offset)}) {
    EXPECT_EQ(with(f, uint32_t(good.size())), LLMC_ERR_BAD_FORMAT) << f;
    EXPECT_EQ(with(f, 0xFFFFFFF0u), LLMC_ERR_BAD_FORMAT) << f;
    // Off by one: misaligned tables, or strings that no longer match.
    if (f != OFF(strings_size))
      EXPECT_EQ(with(f, get32(good, f) + 1), LLMC_ERR_BAD_FORMAT) << f;
  }
  // Strings ending exactly at the end of the blob are fine, one past is not.
  EXPECT_EQ(with(OFF(strings_size),
                 uint32_t(good.size()) - get32(good, OFF(strings_offset))),
            LLMC_OK);
  EXPECT_EQ(with(OFF(strings_size),
                 uint32_t(good.size()) - get32(good, OFF(strings_offset)) + 1),
            LLMC_ERR_BAD_FORMAT);
#undef OFF
}

TEST(TokenizerHostile, BadTables) {
  VocabSpec base = tinyVocab();
  const std::vector<uint8_t> good = base.build();
  auto hdr = [&](size_t f) { return get32(good, f); };
  size_t tokens = hdr(offsetof(llmc_tok_header, tokens_offset));
  size_t merges = hdr(offsetof(llmc_tok_header, merges_offset));
  size_t sorted = hdr(offsetof(llmc_tok_header, sorted_offset));
  size_t specials = hdr(offsetof(llmc_tok_header, specials_offset));
  size_t bytes = hdr(offsetof(llmc_tok_header, byte_tokens_offset));
  uint32_t V = uint32_t(base.text.size());
  auto with = [&](size_t at, uint32_t v) {
    std::vector<uint8_t> b = good;
    put32(b, at, v);
    return initStatus(b);
  };
  // Token entries: text past the strings, unknown flags, empty text.
  EXPECT_EQ(with(tokens + 12 * 300 + 0, 0x7FFFFFFF), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(tokens + 12 * 300 + 4, 0xFFFFFFFF), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(tokens + 12 * 5 + 8, 0x100), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(tokens + 12 * 5 + 4, 0), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(tokens + 12 * (V - 1) + 4, 3), LLMC_ERR_BAD_FORMAT); // hole with text
  // Merges: ids out of range, an unused id, out of order, wrong result.
  for (int f = 0; f < 4; f++)
    if (f != 2)
      EXPECT_EQ(with(merges + size_t(f) * 4, V), LLMC_ERR_BAD_FORMAT) << f;
  EXPECT_EQ(with(merges + 12, V - 1), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(merges, 0xFF), LLMC_ERR_BAD_FORMAT);    // left out of order
  EXPECT_EQ(with(merges + 12, 'q'), LLMC_ERR_BAD_FORMAT); // result != l + r
  EXPECT_EQ(with(merges + 8, 0xFFFFFFFF), LLMC_OK);       // any rank is fine
  // Sorted table: swapped neighbours, a duplicate, an id out of range.
  {
    std::vector<uint8_t> b = good;
    uint32_t a = get32(b, sorted), c = get32(b, sorted + 4);
    put32(b, sorted, c);
    put32(b, sorted + 4, a);
    EXPECT_EQ(initStatus(b), LLMC_ERR_BAD_FORMAT);
    put32(b, sorted, a);
    EXPECT_EQ(initStatus(b), LLMC_ERR_BAD_FORMAT);
  }
  EXPECT_EQ(with(sorted + 8, V + 5), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(sorted + 8, uint32_t(base.bos)), LLMC_ERR_BAD_FORMAT); // special
  // Specials: not sorted by length, not an added token, out of range.
  {
    std::vector<uint8_t> b = good;
    uint32_t a = get32(b, specials), c = get32(b, specials + 4);
    put32(b, specials, c);
    put32(b, specials + 4, a);
    EXPECT_EQ(initStatus(b), LLMC_ERR_BAD_FORMAT);
  }
  EXPECT_EQ(with(specials, 'a'), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(specials, V), LLMC_ERR_BAD_FORMAT);
  // Byte tokens: the wrong byte, out of range.
  EXPECT_EQ(with(bytes + 4 * 'a', 'b'), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(with(bytes + 4 * 'a', V), LLMC_ERR_BAD_FORMAT);
}

TEST(TokenizerHostile, RandomCorruptionNeverCrashes) {
  const std::vector<uint8_t> good = tinyVocab().build();
  std::mt19937 rng(1234);
  int accepted = 0;
  for (int it = 0; it < 3000; it++) {
    std::vector<uint8_t> b = good;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; k++) {
      size_t at = rng() % b.size();
      if (rng() % 2)
        b[at] = uint8_t(rng());
      else
        b[at] ^= uint8_t(1u << (rng() % 8));
    }
    if (rng() % 8 == 0)
      b.resize(rng() % b.size());
    b.shrink_to_fit();
    llmc_tokenizer t;
    if (llmc_tokenizer_init(b.data(), b.size(), &t) == LLMC_OK) {
      accepted++;
      exercise(t, rng);
    }
  }
  // Flips in string bytes of unused/merge-free tokens or in ranks are
  // harmless; most others must be caught.
  EXPECT_LT(accepted, 3000);
}

// ----------------------------------------------- goldens (HF tokenizers)

std::string readFile(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return {};
  return (*buf)->getBuffer().str();
}

TEST(TokenizerGoldens, MatchesHuggingFace) {
  std::string dir = std::string(LLMC_SOURCE_DIR) + "/test/tokenizer";
  auto blob = llmc::buildTokenizerBlob(dir);
  ASSERT_TRUE(bool(blob)) << llvm::toString(blob.takeError());
  Tok t(std::move(*blob));
  std::string text = readFile(dir + "/goldens.json");
  ASSERT_FALSE(text.empty());
  auto parsed = llvm::json::parse(text);
  ASSERT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  const llvm::json::Object *root = parsed->getAsObject();
  ASSERT_TRUE(root);
  const llvm::json::Array *cases = root->getArray("cases");
  ASSERT_TRUE(cases);
  ASSERT_GT(cases->size(), 50u);
  if (auto vs = root->getInteger("vocab_size"))
    EXPECT_EQ(int64_t(llmc_tokenizer_vocab_size(&t.t)), *vs);
  auto ids = [](const llvm::json::Object &o, const char *key) {
    Ids out;
    if (const llvm::json::Array *a = o.getArray(key))
      for (const llvm::json::Value &v : *a)
        out.push_back(int32_t(v.getAsInteger().value_or(-1)));
    return out;
  };
  auto strs = [](const llvm::json::Object &o, const char *key) {
    Strs out;
    if (const llvm::json::Array *a = o.getArray(key))
      for (const llvm::json::Value &v : *a)
        out.push_back(v.getAsString().value_or("<not a string>").str());
    return out;
  };
  size_t n = 0, withSpecial = 0;
  for (const llvm::json::Value &cv : *cases) {
    const llvm::json::Object *c = cv.getAsObject();
    ASSERT_TRUE(c);
    std::string in = c->getString("text").value_or("").str();
    SCOPED_TRACE("input: " + in);
    Ids want = ids(*c, "ids");
    EXPECT_EQ(t.pieces(in, 0), strs(*c, "pieces"));
    EXPECT_EQ(t.encode(in, 1), want);
    EXPECT_EQ(t.encode(in, 0), ids(*c, "ids_no_special"));
    if (want != ids(*c, "ids_no_special"))
      withSpecial++;
    std::string dec = c->getString("decoded").value_or("").str();
    EXPECT_EQ(t.decode(want, 0), dec);
    EXPECT_EQ(t.streamDecode(want), dec);
    EXPECT_EQ(t.decode(want, 1), c->getString("decoded_skip_special").value_or("").str());
    // add_bos prepends the blob's bos.
    Ids withBos = t.encode(in, 1, 1);
    ASSERT_FALSE(withBos.empty());
    EXPECT_EQ(withBos[0], llmc_tokenizer_bos(&t.t));
    n++;
  }
  EXPECT_EQ(n, cases->size());
  EXPECT_GT(withSpecial, 0u); // the goldens do exercise special tokens
}

} // namespace
