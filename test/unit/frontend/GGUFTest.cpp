//===- GGUFTest.cpp - GGUF reader on valid and crafted files --------------===//
//
// Every file is crafted byte by byte here by a tiny GGUF writer and written
// to a fresh temp dir; no binary fixtures live in the repository. The
// cross-check against the reference writer (gguf-py) is the lit test
// test/gguf/read-gguf.test.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUF.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "test/unit/TempDirTest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

using namespace llmc;
using llvm::StringRef;

namespace {

//===----------------------------------------------------------------------===//
// A tiny GGUF writer
//===----------------------------------------------------------------------===//

// Value type tags, as in the file.
enum : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STR = 8, ARR = 9, U64 = 10, I64 = 11, F64 = 12
};
// ggml type numbers used here.
enum : uint32_t { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_BF16 = 30 };

std::string le(uint64_t v, int n) {
  std::string s(n, '\0');
  for (int i = 0; i < n; ++i)
    s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
std::string b8(uint64_t v) { return le(v, 1); }
std::string b16(uint64_t v) { return le(v, 2); }
std::string b32(uint64_t v) { return le(v, 4); }
std::string b64(uint64_t v) { return le(v, 8); }
std::string bf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return b32(u);
}
std::string bf64(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return b64(u);
}
/// A GGUF string: u64 length + bytes.
std::string str(StringRef s) { return b64(s.size()) + s.str(); }
/// A metadata entry: key, type tag, encoded value.
std::string kv(StringRef key, uint32_t type, const std::string &value) {
  return str(key) + b32(type) + value;
}
/// An array value (also an element of an array of arrays).
std::string arr(uint32_t elemType, uint64_t count, const std::string &elems) {
  return b32(elemType) + b64(count) + elems;
}
std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v)
    s += bf32(f);
  return s;
}

struct TI {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type;
  uint64_t offset; // relative to the data section
};

std::string tensorInfo(const TI &t) {
  std::string s = str(t.name) + b32(t.dims.size());
  for (uint64_t d : t.dims)
    s += b64(d);
  return s + b32(t.type) + b64(t.offset);
}

/// A whole file: header, metadata, tensor table, padding, data.
struct G {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> tensorCount, kvCount; // default: the real counts
  std::vector<std::string> kvs;
  std::vector<TI> tensors;
  uint64_t alignment = 32; // used for padding only
  std::string data;

  std::string header() const {
    std::string s = magic + b32(version) +
                    b64(tensorCount.value_or(tensors.size())) +
                    b64(kvCount.value_or(kvs.size()));
    for (const std::string &k : kvs)
      s += k;
    for (const TI &t : tensors)
      s += tensorInfo(t);
    return s;
  }
  uint64_t dataOffset() const {
    uint64_t h = header().size();
    return (h + alignment - 1) / alignment * alignment;
  }
  /// The header, padding and data (a file without tensors or data ends with
  /// its header).
  std::string build() const {
    std::string s = header();
    if (tensors.empty() && data.empty())
      return s;
    s.append(dataOffset() - s.size(), '\0');
    return s + data;
  }
  /// Appends a tensor with its bytes at the next aligned data offset.
  void add(StringRef name, std::vector<uint64_t> dims, uint32_t type,
           const std::string &bytes) {
    data.append((alignment - data.size() % alignment) % alignment, '\0');
    tensors.push_back({name.str(), std::move(dims), type, data.size()});
    data += bytes;
  }
};

/// One F32 tensor "w" [4] and nothing else.
G oneTensor() {
  G g;
  g.add("w", {4}, T_F32, floats({1, 2, 3, 4}));
  return g;
}

class GGUFTest : public llmc::testing::TempDirTest {
protected:

  std::unique_ptr<GGUFFile> openOK(StringRef bytes,
                                   StringRef name = "model.gguf") {
    auto f = GGUFFile::open(write(name, bytes));
    if (!f) {
      ADD_FAILURE() << llvm::toString(f.takeError());
      return nullptr;
    }
    return std::move(*f);
  }

  /// Writes `bytes` as model.gguf and returns the open error ("" and a test
  /// failure if it opened).
  std::string openError(StringRef bytes) {
    auto f = GGUFFile::open(write("model.gguf", bytes));
    if (f) {
      ADD_FAILURE() << "opened a bad file";
      return "";
    }
    return llvm::toString(f.takeError());
  }

  /// Expects the file to be rejected with a message naming the file and
  /// containing each of `parts`.
  void expectBad(StringRef bytes, std::initializer_list<const char *> parts) {
    std::string msg = openError(bytes);
    EXPECT_EQ(msg.rfind(path("model.gguf") + ": ", 0), 0u) << msg;
    for (const char *part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "missing '" << part << "' in: " << msg;
  }

};

/// Parses exactly `bytes` (no slack after them, so ASan sees any overread).
llvm::Expected<std::unique_ptr<GGUFFile>> parseExact(StringRef bytes,
                                                     std::vector<char> &store) {
  store.assign(bytes.begin(), bytes.end());
  return GGUFFile::fromBuffer(
      llvm::MemoryBuffer::getMemBuffer(StringRef(store.data(), store.size()),
                                       "mem.gguf",
                                       /*RequiresNullTerminator=*/false),
      "mem.gguf");
}

/// The valid file of ValidFile: every value type and five tensor types.
G validFile() {
  G g;
  g.kvs = {
      kv("general.architecture", STR, str("llama")),
      kv("t.u8", U8, b8(200)),
      kv("t.i8", I8, b8(static_cast<uint8_t>(-5))),
      kv("t.u16", U16, b16(60000)),
      kv("t.i16", I16, b16(static_cast<uint16_t>(-300))),
      kv("t.u32", U32, b32(4000000000u)),
      kv("t.i32", I32, b32(static_cast<uint32_t>(-7))),
      kv("t.f32", F32, bf32(1.5f)),
      kv("t.bool", BOOL, b8(1)),
      kv("t.u64", U64, b64(1ull << 40)),
      kv("t.i64", I64, b64(static_cast<uint64_t>(-(1ll << 40)))),
      kv("t.f64", F64, bf64(0.25)),
      kv("t.empty", STR, str("")),
      kv("tokenizer.ggml.tokens", ARR,
         arr(STR, 3, str("a") + str("<|begin_of_text|>") + str(""))),
      kv("tokenizer.ggml.scores", ARR, arr(F32, 2, floats({0.5f, -1.0f}))),
      kv("tokenizer.ggml.token_type", ARR,
         arr(I32, 3, b32(1) + b32(3) + b32(static_cast<uint32_t>(-2)))),
      kv("t.bools", ARR, arr(BOOL, 2, b8(1) + b8(0))),
      kv("t.nested", ARR,
         arr(ARR, 2,
             arr(I32, 2, b32(1) + b32(2)) + arr(I32, 1, b32(3)))),
      kv("t.empty_arr", ARR, arr(U8, 0, "")),
      kv("t.u64arr", ARR, arr(U64, 2, b64(5) + b64(1ull << 63))),
      kv("t.f64arr", ARR, arr(F64, 2, bf64(2.5) + bf64(1e300))),
  };
  g.add("token_embd.weight", {4, 2}, T_F32, floats({0, 1, 2, 3, 4, 5, 6, 7}));
  g.add("f16", {3}, T_F16, std::string("\x00\x3c\x00\x40\x00\x42", 6));
  g.add("bf16", {2}, T_BF16, std::string("\x80\x3f\x00\x40", 4));
  std::string q8;
  for (int b = 0; b < 2; ++b) { // 2 blocks: f16 scale + 32 int8
    q8 += std::string("\x00\x3c", 2);
    for (int i = 0; i < 32; ++i)
      q8 += static_cast<char>(b * 32 + i);
  }
  g.add("q8", {32, 2}, T_Q8_0, q8);
  std::string q4;
  for (int b = 0; b < 2; ++b) { // 2 blocks: f16 scale + 16 nibble pairs
    q4 += std::string("\x00\x38", 2);
    q4 += std::string(16, static_cast<char>(0x10 * b + 0x08));
  }
  g.add("blk.0.attn_q.weight", {64}, T_Q4_0, q4);
  return g;
}

//===----------------------------------------------------------------------===//
// Valid files
//===----------------------------------------------------------------------===//

TEST_F(GGUFTest, ValidFile) {
  G g = validFile();
  std::string bytes = g.build();
  auto f = openOK(bytes);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path(), path("model.gguf"));
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->dataOffset(), g.dataOffset());
  EXPECT_EQ(f->fileSize(), bytes.size());

  // Metadata in file order, every type.
  ASSERT_EQ(f->metadata().size(), g.kvs.size());
  EXPECT_EQ(f->metadata()[0].key, "general.architecture");
  EXPECT_EQ(f->metadata()[1].key, "t.u8");
  EXPECT_EQ(f->metadata().back().key, "t.f64arr");
  EXPECT_EQ(f->lookup("nope"), nullptr);

  EXPECT_EQ(*f->lookup("general.architecture")->asString(), "llama");
  EXPECT_EQ(f->lookup("t.u8")->type(), GGUFValueType::U8);
  EXPECT_EQ(*f->lookup("t.u8")->asUnsigned(), 200u);
  EXPECT_EQ(*f->lookup("t.i8")->asSigned(), -5);
  EXPECT_EQ(f->lookup("t.i8")->asUnsigned(), std::nullopt);
  EXPECT_EQ(*f->lookup("t.u16")->asUnsigned(), 60000u);
  EXPECT_EQ(*f->lookup("t.i16")->asSigned(), -300);
  EXPECT_EQ(*f->lookup("t.u32")->asUnsigned(), 4000000000u);
  EXPECT_EQ(*f->lookup("t.i32")->asSigned(), -7);
  EXPECT_EQ(*f->lookup("t.f32")->asFloat(), 1.5);
  EXPECT_EQ(f->lookup("t.f32")->asUnsigned(), std::nullopt);
  EXPECT_EQ(*f->lookup("t.bool")->asBool(), true);
  EXPECT_EQ(*f->lookup("t.u64")->asUnsigned(), 1ull << 40);
  EXPECT_EQ(*f->lookup("t.i64")->asSigned(), -(1ll << 40));
  EXPECT_EQ(*f->lookup("t.f64")->asFloat(), 0.25);
  EXPECT_EQ(*f->lookup("t.empty")->asString(), "");
  EXPECT_TRUE(f->lookup("t.u32")->isInteger());
  EXPECT_FALSE(f->lookup("t.bool")->isInteger());
  EXPECT_TRUE(f->lookup("t.f64")->isFloat());

  const GGUFValue *tokens = f->lookup("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_TRUE(tokens->isArray());
  EXPECT_EQ(tokens->elementType(), GGUFValueType::String);
  EXPECT_EQ(tokens->size(), 3u);
  ASSERT_EQ(tokens->strings().size(), 3u);
  EXPECT_EQ(tokens->strings()[1], "<|begin_of_text|>");
  EXPECT_EQ(tokens->strings()[2], "");
  EXPECT_TRUE(tokens->rawElements().empty());

  const GGUFValue *types = f->lookup("tokenizer.ggml.token_type");
  EXPECT_EQ(types->rawElements().size(), 12u);
  EXPECT_EQ(*types->signedAt(2), -2);
  EXPECT_EQ(types->unsignedAt(2), std::nullopt);
  EXPECT_EQ(types->signedAt(3), std::nullopt); // out of range
  EXPECT_EQ(*f->lookup("t.bools")->boolAt(0), true);
  EXPECT_EQ(*f->lookup("t.bools")->boolAt(1), false);
  EXPECT_EQ(*f->lookup("tokenizer.ggml.scores")->floatAt(1), -1.0);

  const GGUFValue *nested = f->lookup("t.nested");
  EXPECT_EQ(nested->elementType(), GGUFValueType::Array);
  ASSERT_EQ(nested->arrays().size(), 2u);
  EXPECT_EQ(nested->arrays()[0].size(), 2u);
  EXPECT_EQ(*nested->arrays()[0].signedAt(1), 2);
  EXPECT_EQ(*nested->arrays()[1].signedAt(0), 3);
  EXPECT_EQ(f->lookup("t.empty_arr")->size(), 0u);
  EXPECT_EQ(f->lookup("t.empty_arr")->elementType(), GGUFValueType::U8);
  EXPECT_EQ(f->lookup("t.u8")->size(), 0u); // not an array

  // Tensors in file order.
  ASSERT_EQ(f->tensors().size(), 5u);
  EXPECT_EQ(f->tensors()[0].name, "token_embd.weight");
  EXPECT_EQ(f->tensors()[4].name, "blk.0.attn_q.weight");
  EXPECT_EQ(f->tensor("nope"), nullptr);

  const GGUFTensorInfo *w = f->tensor("token_embd.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->type, GGMLType::F32);
  EXPECT_EQ(w->dims, (std::vector<uint64_t>{4, 2}));
  EXPECT_EQ(w->numElements(), 8u);
  EXPECT_EQ(w->offset, g.dataOffset());
  EXPECT_EQ(w->size, 32u);
  llvm::ArrayRef<uint8_t> wd = f->data(*w);
  ASSERT_EQ(wd.size(), 32u);
  float fl[8];
  std::memcpy(fl, wd.data(), 32);
  EXPECT_EQ(fl[0], 0.0f);
  EXPECT_EQ(fl[7], 7.0f);

  const GGUFTensorInfo *h = f->tensor("f16");
  EXPECT_EQ(h->type, GGMLType::F16);
  EXPECT_EQ(h->offset, g.dataOffset() + 32);
  EXPECT_EQ(h->size, 6u);
  EXPECT_EQ(f->data(*h)[5], 0x42);

  const GGUFTensorInfo *b = f->tensor("bf16");
  EXPECT_EQ(b->type, GGMLType::BF16);
  EXPECT_EQ(b->offset, g.dataOffset() + 64);
  EXPECT_EQ(b->size, 4u);
  EXPECT_EQ(f->data(*b)[1], 0x3f);

  const GGUFTensorInfo *q8 = f->tensor("q8");
  EXPECT_EQ(q8->type, GGMLType::Q8_0);
  EXPECT_EQ(q8->dims, (std::vector<uint64_t>{32, 2}));
  EXPECT_EQ(q8->offset, g.dataOffset() + 96);
  EXPECT_EQ(q8->size, 68u);
  EXPECT_EQ(f->data(*q8)[34 + 2 + 5], 37);

  const GGUFTensorInfo *q4 = f->tensor("blk.0.attn_q.weight");
  EXPECT_EQ(q4->type, GGMLType::Q4_0);
  EXPECT_EQ(q4->offset, g.dataOffset() + 192);
  EXPECT_EQ(q4->size, 36u);
  EXPECT_EQ(q4->offset + q4->size, bytes.size()); // ends at EOF
  EXPECT_EQ(f->data(*q4)[18 + 2], 0x18);
  for (const GGUFTensorInfo &t : f->tensors())
    EXPECT_EQ(t.offset % 32, 0u) << t.name;

  // A GGUFTensorInfo outside the file gets no bytes.
  GGUFTensorInfo outside = *w;
  outside.offset = UINT64_MAX - 4;
  EXPECT_TRUE(f->data(outside).empty());
  outside.offset = f->fileSize();
  outside.size = 1;
  EXPECT_TRUE(f->data(outside).empty());
}

TEST_F(GGUFTest, TypedGetters) {
  auto f = openOK(validFile().build());
  ASSERT_TRUE(f);
  const std::string file = path("model.gguf");

  EXPECT_EQ(*f->getString("general.architecture"), "llama");
  EXPECT_EQ(*f->getU32("t.u8"), 200u);
  EXPECT_EQ(*f->getU32("t.u32"), 4000000000u);
  EXPECT_EQ(*f->getU32("t.u16"), 60000u);
  EXPECT_EQ(*f->getU64("t.u64"), 1ull << 40);
  EXPECT_EQ(*f->getI64("t.i64"), -(1ll << 40));
  EXPECT_EQ(*f->getI64("t.u32"), 4000000000ll);
  EXPECT_EQ(*f->getF32("t.f32"), 1.5f);
  EXPECT_EQ(*f->getF32("t.f64"), 0.25f);
  EXPECT_EQ(*f->getBool("t.bool"), true);
  auto toks = f->getStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(bool(toks)) << llvm::toString(toks.takeError());
  ASSERT_EQ(toks->size(), 3u);
  EXPECT_EQ((*toks)[0], "a");
  auto tt = f->getI32Array("tokenizer.ggml.token_type");
  ASSERT_TRUE(bool(tt)) << llvm::toString(tt.takeError());
  EXPECT_EQ(*tt, (std::vector<int32_t>{1, 3, -2}));
  auto sc = f->getF32Array("tokenizer.ggml.scores");
  ASSERT_TRUE(bool(sc)) << llvm::toString(sc.takeError());
  EXPECT_EQ(*sc, (std::vector<float>{0.5f, -1.0f}));
  auto empty = f->getI32Array("t.empty_arr");
  ASSERT_TRUE(bool(empty)) << llvm::toString(empty.takeError());
  EXPECT_TRUE(empty->empty());

  auto err = [](auto e) {
    EXPECT_FALSE(bool(e));
    return e ? std::string() : llvm::toString(e.takeError());
  };
  EXPECT_EQ(err(f->getString("general.name")),
            file + ": key 'general.name' is missing (expected string)");
  EXPECT_EQ(err(f->getString("t.u32")),
            file + ": key 't.u32' is u32, expected string");
  EXPECT_EQ(err(f->getU32("t.i32")),
            file + ": key 't.i32' value -7 does not fit in u32");
  EXPECT_EQ(err(f->getU32("t.u64")),
            file + ": key 't.u64' value 1099511627776 does not fit in u32");
  EXPECT_EQ(err(f->getU32("t.f32")),
            file + ": key 't.f32' is f32, expected an integer");
  EXPECT_EQ(err(f->getU32("t.bool")),
            file + ": key 't.bool' is bool, expected an integer");
  EXPECT_EQ(err(f->getU64("t.i8")),
            file + ": key 't.i8' value -5 does not fit in u64");
  EXPECT_EQ(err(f->getF32("t.u8")),
            file + ": key 't.u8' is u8, expected f32");
  EXPECT_EQ(err(f->getBool("t.u8")),
            file + ": key 't.u8' is u8, expected bool");
  EXPECT_EQ(err(f->getStringArray("tokenizer.ggml.scores")),
            file + ": key 'tokenizer.ggml.scores' is array of f32, expected "
                   "array of string");
  EXPECT_EQ(err(f->getStringArray("general.architecture")),
            file + ": key 'general.architecture' is string, expected array "
                   "of string");
  EXPECT_EQ(err(f->getI32Array("tokenizer.ggml.tokens")),
            file + ": key 'tokenizer.ggml.tokens' is array of string, "
                   "expected array of integers");
  EXPECT_EQ(err(f->getI32Array("t.u64arr")),
            file + ": key 't.u64arr' element 1 value 9223372036854775808 "
                   "does not fit in i32");
  EXPECT_EQ(err(f->getF32Array("t.f64arr")),
            file + ": key 't.f64arr' element 1 value 1e+300 does not fit "
                   "in f32");
  EXPECT_EQ(err(f->getF32Array("t.nested")),
            file + ": key 't.nested' is array of array, expected array of "
                   "f32");
  EXPECT_EQ(err(f->getI32Array("missing")),
            file + ": key 'missing' is missing (expected array of integers)");

  // getI64 of a u64 past INT64_MAX.
  G g;
  g.kvs = {kv("big", U64, b64(UINT64_MAX)), kv("neg", I32, b32(UINT32_MAX))};
  auto h = openOK(g.build(), "big.gguf");
  ASSERT_TRUE(h);
  EXPECT_EQ(err(h->getI64("big")),
            path("big.gguf") +
                ": key 'big' value 18446744073709551615 does not fit in i64");
  EXPECT_EQ(*h->getI64("neg"), -1);
  EXPECT_EQ(*h->getU64("big"), UINT64_MAX);
}

TEST_F(GGUFTest, EmptyFileAndVersion2AndAlignment) {
  // No metadata, no tensors, no padding: valid.
  G g;
  auto f = openOK(g.header());
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->alignment(), 32u);

  // Version 2 has the same layout.
  G v2 = oneTensor();
  v2.version = 2;
  auto f2 = openOK(v2.build(), "v2.gguf");
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->version(), 2u);
  EXPECT_EQ(f2->tensors().size(), 1u);

  // A custom alignment moves the data section and the offsets.
  G a;
  a.alignment = 256;
  a.kvs = {kv("general.alignment", U32, b32(256))};
  a.add("x", {8}, T_F32, std::string(32, 'x'));
  a.add("y", {1}, T_F32, std::string(4, 'y'));
  auto fa = openOK(a.build(), "a.gguf");
  ASSERT_TRUE(fa);
  EXPECT_EQ(fa->alignment(), 256u);
  EXPECT_EQ(fa->dataOffset(), 256u);
  EXPECT_EQ(fa->tensor("y")->offset, 512u);
  EXPECT_EQ(fa->data(*fa->tensor("y"))[0], 'y');

  // Alignment 1 is a power of two; gaps between tensors are fine.
  G one;
  one.alignment = 1;
  one.kvs = {kv("general.alignment", U32, b32(1))};
  one.tensors = {{"a", {1}, T_F32, 3}, {"b", {2}, T_F16, 9}};
  one.data = std::string(13, 'd');
  auto f1 = openOK(one.build(), "one.gguf");
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->tensor("a")->offset, f1->dataOffset() + 3);
}

TEST_F(GGUFTest, TypeTables) {
  EXPECT_EQ(ggmlBlockSize(GGMLType::F32), 1u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::F32), 4u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::BF16), 2u);
  EXPECT_EQ(ggmlBlockSize(GGMLType::Q8_0), 32u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::Q8_0), 34u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::Q4_0), 18u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::Q8_1), 36u);
  EXPECT_EQ(ggmlBlockSize(GGMLType::Q4_K), 256u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::Q4_K), 144u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::Q6_K), 210u);
  EXPECT_EQ(ggmlTypeSize(GGMLType::MXFP4), 17u);
  EXPECT_EQ(ggmlTypeName(GGMLType::IQ4_XS), "IQ4_XS");
  EXPECT_EQ(toGGMLType(30), GGMLType::BF16);
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 42u, 99u}) {
    EXPECT_EQ(toGGMLType(removed), std::nullopt) << removed;
    EXPECT_EQ(ggmlBlockSize(static_cast<GGMLType>(removed)), 0u);
    EXPECT_EQ(ggmlTypeName(static_cast<GGMLType>(removed)), "?");
  }
  unsigned known = 0;
  for (uint32_t v = 0; v < 64; ++v)
    if (std::optional<GGMLType> t = toGGMLType(v)) {
      ++known;
      EXPECT_GT(ggmlBlockSize(*t), 0u);
      EXPECT_GT(ggmlTypeSize(*t), 0u);
    }
  EXPECT_EQ(known, 34u);
  EXPECT_EQ(ggufValueTypeName(GGUFValueType::F64), "f64");
  EXPECT_EQ(ggufScalarSize(GGUFValueType::Bool), 1u);
  EXPECT_EQ(ggufScalarSize(GGUFValueType::String), 0u);
}

TEST_F(GGUFTest, LargeFileIsMapped) {
  const uint64_t n = 1 << 20;
  std::string bytes(n, '\0');
  for (uint64_t i = 0; i < n; ++i)
    bytes[i] = static_cast<char>(i * 7);
  G g;
  g.add("big", {1024, 256}, T_F32, bytes);
  auto f = openOK(g.build());
  ASSERT_TRUE(f);
  llvm::ArrayRef<uint8_t> d = f->data(*f->tensor("big"));
  ASSERT_EQ(d.size(), n);
  EXPECT_EQ(d[1], 7);
  EXPECT_EQ(d[n - 1], static_cast<uint8_t>((n - 1) * 7));
}

//===----------------------------------------------------------------------===//
// Truncation, magic, version, counts
//===----------------------------------------------------------------------===//

TEST_F(GGUFTest, TruncatedAtEveryLength) {
  // The valid file's last tensor ends at EOF, so every proper prefix is bad;
  // each must fail cleanly (ASan checks no byte past the prefix is read).
  const std::string bytes = validFile().build();
  std::vector<char> store;
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto f = parseExact(StringRef(bytes).take_front(n), store);
    ASSERT_FALSE(bool(f)) << "prefix of " << n << " bytes opened";
    std::string msg = llvm::toString(f.takeError());
    EXPECT_EQ(msg.rfind("mem.gguf: ", 0), 0u) << msg;
  }
  auto f = parseExact(bytes, store);
  EXPECT_TRUE(bool(f)) << llvm::toString(f.takeError());
}

TEST_F(GGUFTest, TruncationMessages) {
  expectBad("", {"file is 0 bytes, too short for the GGUF magic"});
  expectBad("GGU", {"file is 3 bytes"});
  expectBad("GGUF\x03",
            {"truncated file: the version at offset 4 needs 4 bytes, only 1 "
             "left"});
  std::string h = G().header();
  expectBad(h.substr(0, 10), {"truncated file: the tensor count at offset 8"});
  expectBad(h.substr(0, 20),
            {"truncated file: the metadata count at offset 16"});
  G g;
  g.kvs = {kv("a.b", U32, b32(7))};
  std::string k = g.header();
  expectBad(k.substr(0, k.size() - 2),
            {"key 'a.b': truncated file: the u32 value at offset 39 needs 4 "
             "bytes, only 2 left"});
  G t = oneTensor();
  t.tensors[0].name = "token_embd.weight";
  std::string th = t.header();
  expectBad(th.substr(0, th.size() - 3),
            {"tensor 'token_embd.weight': truncated file: the data offset at "
             "offset 65 needs 8 bytes, only 5 left"});
}

TEST_F(GGUFTest, BadMagic) {
  G g;
  g.magic = "GGUX";
  expectBad(g.build(), {"not a GGUF file (magic 'GGUX', expected 'GGUF')"});
  g.magic = "ggjt";
  expectBad(g.build(), {"not a GGUF file (magic 'ggjt'"});
  g.magic = std::string("\x00\x01\x02\x03", 4);
  expectBad(g.build(), {"magic '\\000\\001\\002\\003'"});
}

TEST_F(GGUFTest, BadVersion) {
  G g = oneTensor();
  g.version = 1;
  expectBad(g.build(), {"GGUF version 1 is not supported"});
  g.version = 4;
  expectBad(g.build(),
            {"GGUF version 4 is newer than this reader supports (2 and 3)"});
  g.version = 0;
  expectBad(g.build(), {"GGUF version 0 is not a valid version"});
  g.version = 0x03000000;
  expectBad(g.build(), {"(0x3000000) looks byte-swapped: big-endian GGUF "
                        "files are not supported"});
  g.version = UINT32_MAX;
  expectBad(g.build(), {"newer than this reader supports"});
}

TEST_F(GGUFTest, CountsOverflow) {
  G g = oneTensor();
  g.tensorCount = 1ull << 63;
  expectBad(g.build(), {"tensor count 9223372036854775808 exceeds the limit "
                        "of 1048576"});
  g.tensorCount = UINT64_MAX;
  expectBad(g.build(), {"tensor count 18446744073709551615 exceeds"});
  g.tensorCount.reset();
  g.kvCount = UINT64_MAX;
  expectBad(g.build(), {"metadata count 18446744073709551615 exceeds the "
                        "limit of 1048576"});
  // At the caps but not backed by bytes: refused before reserving.
  g.kvCount = 1ull << 20;
  expectBad(g.build(), {"1048576 metadata entries and 1 tensor infos need at "
                        "least 14680097 bytes"});
  g.kvCount.reset();
  g.tensorCount = 1ull << 20;
  expectBad(g.build(), {"0 metadata entries and 1048576 tensor infos need at "
                        "least 34603008 bytes"});
  // A count one too large runs out of bytes while parsing.
  G k;
  k.kvs = {kv("a", U8, b8(1))};
  k.kvCount = 2;
  std::string bytes = k.build() + std::string(64, '\0');
  expectBad(bytes, {"metadata entry 1: empty key"});
}

//===----------------------------------------------------------------------===//
// Strings and values
//===----------------------------------------------------------------------===//

TEST_F(GGUFTest, HugeStringLengths) {
  G g;
  g.kvs = {b64(UINT64_MAX) + "k" + std::string(16, '\0')};
  expectBad(g.build(), {"metadata entry 0: key length 18446744073709551615 "
                        "exceeds the limit of 65535 bytes"});
  g.kvs = {b64(100) + "k" + b32(U8) + b8(0)};
  expectBad(g.build(), {"metadata entry 0: key length 100 exceeds the 6 "
                        "bytes left in the file"});
  g.kvs = {kv("k", STR, b64(UINT64_MAX) + "abc")};
  expectBad(g.build(), {"key 'k': string length 18446744073709551615 "
                        "exceeds the limit of 67108864 bytes"});
  g.kvs = {kv("k", STR, b64(64ull * 1024 * 1024 + 1))};
  expectBad(g.build(), {"string length 67108865 exceeds the limit"});
  g.kvs = {kv("k", STR, b64(4) + "abc")};
  expectBad(g.build(), {"key 'k': string length 4 exceeds the 3 bytes left"});
  g.kvs = {kv("k", ARR, arr(STR, 2, str("x") + b64(UINT64_MAX)))};
  expectBad(g.build(), {"key 'k': string element 1 length "
                        "18446744073709551615 exceeds the limit"});
  G t;
  t.tensors = {{std::string(65, 'n'), {1}, T_F32, 0}};
  t.data = "xxxx";
  expectBad(t.build(), {"tensor info 0: tensor name length 65 exceeds the "
                        "limit of 64 bytes"});
  t.tensors = {{std::string(64, 'n'), {1}, T_F32, 0}};
  EXPECT_TRUE(openOK(t.build(), "ok.gguf"));
}

TEST_F(GGUFTest, BadKeys) {
  G g;
  g.kvs = {kv("", U32, b32(0))};
  expectBad(g.build(), {"metadata entry 0: empty key"});
  g.kvs = {kv("a\nb", U8, b8(0))};
  expectBad(g.build(), {"metadata entry 0: key 'a\\nb' is not printable "
                        "ASCII"});
  g.kvs = {kv("caf\xc3\xa9", U8, b8(0))};
  expectBad(g.build(), {"is not printable ASCII"});
  g.kvs = {kv(std::string(65536, 'k'), U8, b8(0))};
  expectBad(g.build(), {"key length 65536 exceeds the limit of 65535"});
}

TEST_F(GGUFTest, HugeArrayCounts) {
  G g;
  g.kvs = {kv("k", ARR, arr(U32, 1ull << 62, b32(1)))};
  expectBad(g.build(), {"key 'k': array of 4611686018427387904 u32 (4 bytes "
                        "each) exceeds the 4 bytes left in the file"});
  g.kvs = {kv("k", ARR, arr(U64, UINT64_MAX, ""))};
  expectBad(g.build(), {"array of 18446744073709551615 u64"});
  g.kvs = {kv("k", ARR, arr(U8, 5, "abcd"))};
  expectBad(g.build(), {"array of 5 u8 (1 bytes each) exceeds the 4 bytes"});
  g.kvs = {kv("k", ARR, arr(STR, 1ull << 61, str("a")))};
  expectBad(g.build(), {"key 'k': array of 2305843009213693952 string (at "
                        "least 8 bytes each) exceeds the 9 bytes left"});
  g.kvs = {kv("k", ARR, arr(STR, 2, str("a")))};
  expectBad(g.build(), {"array of 2 string (at least 8 bytes each)"});
  g.kvs = {kv("k", ARR, arr(ARR, UINT64_MAX, arr(U8, 0, "")))};
  expectBad(g.build(), {"array of 18446744073709551615 array (at least 12 "
                        "bytes each)"});
  g.kvs = {kv("k", ARR, arr(ARR, 1, arr(U8, UINT64_MAX, "")))};
  expectBad(g.build(), {"key 'k': array of 18446744073709551615 u8"});
}

TEST_F(GGUFTest, ArrayObjectBudget) {
  // More strings in arrays than kMaxArrayObjects, all backed by bytes: the
  // count is refused before anything is reserved or parsed.
  const uint64_t n = GGUFFile::kMaxArrayObjects + 1;
  std::string elems;
  elems.reserve(n * 8);
  for (uint64_t i = 0; i < n; ++i)
    elems += b64(0);
  G g;
  g.kvs = {kv("k", ARR, arr(STR, n, elems))};
  expectBad(g.build(), {"key 'k': array of 4194305 string exceeds the limit "
                        "of 4194304 strings and arrays held in arrays"});
  // The budget is per file: two arrays that together exceed it.
  const uint64_t half = GGUFFile::kMaxArrayObjects / 2 + 1;
  std::string h = std::string(half * 8, '\0');
  g.kvs = {kv("a", ARR, arr(STR, half, h)), kv("b", ARR, arr(STR, half, h))};
  expectBad(g.build(), {"key 'b': array of 2097153 string exceeds the limit"});
}

TEST_F(GGUFTest, UnknownValueTypes) {
  G g;
  g.kvs = {kv("k", 13, b8(0))};
  expectBad(g.build(),
            {"key 'k': value type 13 is not a GGUF value type (0..12)"});
  g.kvs = {kv("k", UINT32_MAX, b8(0))};
  expectBad(g.build(), {"value type 4294967295 is not a GGUF value type"});
  g.kvs = {kv("k", ARR, arr(99, 0, ""))};
  expectBad(g.build(),
            {"key 'k': array element type 99 is not a GGUF value type"});
  g.kvs = {kv("k", ARR, arr(ARR, 1, arr(13, 0, "")))};
  expectBad(g.build(), {"array element type 13 is not a GGUF value type"});
}

TEST_F(GGUFTest, BadBools) {
  G g;
  g.kvs = {kv("k", BOOL, b8(2))};
  expectBad(g.build(), {"key 'k': bool value 2 is neither 0 nor 1"});
  g.kvs = {kv("k", ARR, arr(BOOL, 3, b8(0) + b8(1) + b8(255)))};
  expectBad(g.build(), {"key 'k': bool element 2 is 255, neither 0 nor 1"});
}

TEST_F(GGUFTest, NestedArraysTooDeep) {
  // Nesting `levels` arrays: the innermost holds one u8.
  auto nest = [](unsigned levels) {
    std::string v = arr(U8, 1, b8(7));
    for (unsigned l = 1; l < levels; ++l)
      v = arr(ARR, 1, v);
    return v;
  };
  G g;
  g.kvs = {kv("k", ARR, nest(GGUFFile::kMaxArrayNesting))};
  auto f = openOK(g.build(), "ok.gguf");
  ASSERT_TRUE(f);
  const GGUFValue *v = f->lookup("k");
  for (unsigned l = 1; l < GGUFFile::kMaxArrayNesting; ++l) {
    ASSERT_EQ(v->arrays().size(), 1u);
    v = &v->arrays()[0];
  }
  EXPECT_EQ(*v->unsignedAt(0), 7u);

  g.kvs = {kv("k", ARR, nest(GGUFFile::kMaxArrayNesting + 1))};
  expectBad(g.build(), {"key 'k': arrays nest deeper than 4 levels"});
  // Deep nesting claimed by a long chain of headers: refused at the limit,
  // not after recursing.
  std::string deep;
  for (int i = 0; i < 100000; ++i)
    deep += b32(ARR) + b64(1);
  g.kvs = {kv("k", ARR, deep)};
  expectBad(g.build(), {"arrays nest deeper than 4 levels"});
}

TEST_F(GGUFTest, DuplicateKey) {
  G g;
  g.kvs = {kv("general.name", STR, str("a")), kv("x", U8, b8(1)),
           kv("general.name", STR, str("b"))};
  expectBad(g.build(), {"duplicate key 'general.name'"});
}

TEST_F(GGUFTest, BadAlignment) {
  G g = oneTensor();
  g.kvs = {kv("general.alignment", U32, b32(48))};
  expectBad(g.build(),
            {"key 'general.alignment' value 48 is not a power of two"});
  g.kvs = {kv("general.alignment", U32, b32(0))};
  expectBad(g.build(), {"value 0 is not a power of two"});
  g.kvs = {kv("general.alignment", U64, b64(32))};
  expectBad(g.build(), {"key 'general.alignment' is u64, expected u32"});
  g.kvs = {kv("general.alignment", I32, b32(32))};
  expectBad(g.build(), {"key 'general.alignment' is i32, expected u32"});
  g.kvs = {kv("general.alignment", STR, str("32"))};
  expectBad(g.build(), {"is string, expected u32"});
  // A huge alignment puts the data section past the end of the file.
  g.kvs = {kv("general.alignment", U32, b32(1u << 31))};
  expectBad(g.build(), {"the data section (at offset 2147483648",
                        "starts past the end of the file"});
}

//===----------------------------------------------------------------------===//
// Tensor infos
//===----------------------------------------------------------------------===//

TEST_F(GGUFTest, UnknownGGMLType) {
  G g = oneTensor();
  g.tensors[0].name = "blk.0.attn_q.weight";
  g.tensors[0].type = 99;
  EXPECT_EQ(openError(g.build()),
            path("model.gguf") + ": tensor 'blk.0.attn_q.weight': type 99 is "
                                 "not a known ggml type");
  g.tensors[0].type = 4; // Q4_2, removed from ggml
  expectBad(g.build(), {"type 4 is not a known ggml type"});
  g.tensors[0].type = 31; // Q4_0_4_4, removed from gguf files
  expectBad(g.build(), {"type 31 is not a known ggml type"});
  g.tensors[0].type = UINT32_MAX;
  expectBad(g.build(), {"type 4294967295 is not a known ggml type"});
}

TEST_F(GGUFTest, BadNDims) {
  G g = oneTensor();
  g.tensors[0].dims = {1, 1, 1, 4, 1};
  expectBad(g.build(), {"tensor 'w': n_dims 5 is not in 1..4"});
  g.tensors[0].dims = {};
  expectBad(g.build(), {"tensor 'w': n_dims 0 is not in 1..4"});
  // A huge n_dims is refused before any dimension is read.
  G h;
  h.kvCount = 0;
  h.tensorCount = 1;
  std::string hb = h.header() + str("w") + b32(UINT32_MAX) +
                   std::string(64, '\0');
  expectBad(hb, {"n_dims 4294967295 is not in 1..4"});
  g.tensors[0].dims = {1, 4, 1, 1};
  EXPECT_TRUE(openOK(g.build(), "ok.gguf"));
}

TEST_F(GGUFTest, ZeroDim) {
  G g = oneTensor();
  g.tensors[0].dims = {4, 0};
  expectBad(g.build(), {"tensor 'w': dims [4, 0]: dimension 1 is 0 (every "
                        "dimension must be >= 1)"});
}

TEST_F(GGUFTest, DimsOverflow) {
  G g = oneTensor();
  g.tensors[0].dims = {1ull << 32, 1ull << 32};
  expectBad(g.build(), {"tensor 'w': dims [4294967296, 4294967296]: element "
                        "count overflows int64"});
  g.tensors[0].dims = {1ull << 62, 2};
  expectBad(g.build(), {"element count overflows int64"});
  g.tensors[0].dims = {UINT64_MAX};
  expectBad(g.build(), {"element count overflows int64"});
  g.tensors[0].dims = {3, 3, 3, 1ull << 60};
  expectBad(g.build(), {"element count overflows int64"});
  // Elements fit int64, bytes do not.
  g.tensors[0].dims = {1ull << 62};
  expectBad(g.build(), {"tensor 'w': dims [4611686018427387904] x F32: byte "
                        "size overflows 64 bits"});
  // Fits in 64 bits but not in the file.
  g.tensors[0].dims = {1ull << 40};
  expectBad(g.build(), {"tensor 'w': 4398046511104 bytes at data offset 0 "
                        "extend past the end of the file"});
}

TEST_F(GGUFTest, BlockSizeMismatch) {
  G g;
  g.add("q", {33}, T_Q8_0, std::string(34, 'q'));
  expectBad(g.build(), {"tensor 'q': dims [33]: dimension 0 (33) is not a "
                        "multiple of the Q8_0 block size 32"});
  // Rows must be whole blocks even when the product is a multiple.
  G h;
  h.add("q", {16, 2}, T_Q4_0, std::string(18, 'q'));
  expectBad(h.build(), {"dimension 0 (16) is not a multiple of the Q4_0 "
                        "block size 32"});
}

TEST_F(GGUFTest, MisalignedOffset) {
  G g;
  g.tensors = {{"w", {1}, T_F32, 4}};
  g.data = std::string(8, 'x');
  expectBad(g.build(), {"tensor 'w': data offset 4 is not a multiple of the "
                        "alignment 32"});
  // With general.alignment 64, offset 32 is misaligned.
  G h;
  h.alignment = 64;
  h.kvs = {kv("general.alignment", U32, b32(64))};
  h.tensors = {{"a", {1}, T_F32, 0}, {"b", {1}, T_F32, 32}};
  h.data = std::string(36, 'x');
  expectBad(h.build(), {"tensor 'b': data offset 32 is not a multiple of the "
                        "alignment 64"});
}

TEST_F(GGUFTest, OverlappingTensors) {
  G g;
  g.tensors = {{"a", {16}, T_F32, 0}, {"b", {4}, T_F32, 32}};
  g.data = std::string(64, 'x');
  expectBad(g.build(), {"tensor 'b' (data [32, 48)) overlaps tensor 'a' "
                        "(data [0, 64))"});
  g.tensors = {{"a", {1}, T_F32, 0}, {"b", {1}, T_F32, 0}};
  expectBad(g.build(), {"overlaps tensor"});
  // Adjacent is fine.
  g.tensors = {{"a", {8}, T_F32, 0}, {"b", {8}, T_F32, 32}};
  EXPECT_TRUE(openOK(g.build(), "ok.gguf"));
}

TEST_F(GGUFTest, TensorPastEOF) {
  G g = oneTensor();
  g.data.pop_back();
  expectBad(g.build(), {"tensor 'w': 16 bytes at data offset 0 extend past "
                        "the end of the file (the data section holds 15 "
                        "bytes)"});
  g = oneTensor();
  g.tensors[0].offset = 64;
  expectBad(g.build(), {"16 bytes at data offset 64 extend past the end"});
  // An aligned offset near 2^64 must not wrap around.
  g.tensors[0].offset = UINT64_MAX - 31;
  expectBad(g.build(), {"bytes at data offset 18446744073709551584 extend "
                        "past the end"});
  // No data section at all.
  g = oneTensor();
  g.data.clear();
  expectBad(g.header(), {"starts past the end of the file"});
}

TEST_F(GGUFTest, DuplicateTensor) {
  G g;
  g.add("w", {4}, T_F32, std::string(16, 'a'));
  g.add("w", {4}, T_F32, std::string(16, 'b'));
  expectBad(g.build(), {"duplicate tensor 'w'"});
}

TEST_F(GGUFTest, BadTensorName) {
  G g = oneTensor();
  g.tensors[0].name = "";
  expectBad(g.build(), {"tensor info 0: empty tensor name"});
}

TEST_F(GGUFTest, NotAFile) {
  ASSERT_FALSE(llvm::sys::fs::create_directory(path("model.gguf")));
  auto f = GGUFFile::open(path("model.gguf"));
  ASSERT_FALSE(bool(f));
  EXPECT_NE(llvm::toString(f.takeError()).find("not a regular file"),
            std::string::npos);
  auto g = GGUFFile::open(path("missing.gguf"));
  ASSERT_FALSE(bool(g));
  EXPECT_NE(llvm::toString(g.takeError()).find("missing.gguf: cannot open"),
            std::string::npos);
  auto h = GGUFFile::fromBuffer(nullptr, "x.gguf");
  ASSERT_FALSE(bool(h));
  EXPECT_EQ(llvm::toString(h.takeError()), "x.gguf: no buffer");
}

} // namespace
