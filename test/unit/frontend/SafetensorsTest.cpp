//===- SafetensorsTest.cpp - safetensors reader on valid and crafted files ===//
//
// Every bad file is crafted byte by byte here and written to a fresh temp dir;
// no binary fixtures live in the repository.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Safetensors.h"

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

/// 8-byte little-endian header length, header, data.
std::string makeST(StringRef header, StringRef data = "",
                   std::optional<uint64_t> headerLen = std::nullopt) {
  uint64_t n = headerLen ? *headerLen : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(header.data(), header.size());
  out.append(data.data(), data.size());
  return out;
}

std::string bytesOf(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(&s[0], v.begin(), s.size());
  return s;
}

/// One tensor entry of a header: "name":{dtype, shape, data_offsets}.
std::string entry(StringRef name, StringRef dtype, StringRef shape,
                  uint64_t begin, uint64_t end) {
  return ("\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
          ",\"data_offsets\":[" + std::to_string(begin) + "," +
          std::to_string(end) + "]}")
      .str();
}

class SafetensorsTest : public llmc::testing::TempDirTest {
protected:

  /// Writes `bytes` as model.safetensors and returns the open error ("" and a
  /// test failure if it opened).
  std::string openError(StringRef bytes, StringRef name = "model.safetensors") {
    std::string p = write(name, bytes);
    auto f = SafetensorsFile::open(p);
    if (f) {
      ADD_FAILURE() << "opened a bad file";
      return "";
    }
    return llvm::toString(f.takeError());
  }

  /// Expects the file to be rejected with a message containing each of
  /// `parts` and naming the file.
  void expectBad(StringRef bytes, std::initializer_list<const char *> parts) {
    std::string msg = openError(bytes);
    EXPECT_NE(msg.find(path("model.safetensors")), std::string::npos) << msg;
    for (const char *part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "missing '" << part << "' in: " << msg;
  }

  std::string ckError() {
    auto ck = Checkpoint::open(dir);
    if (ck) {
      ADD_FAILURE() << "opened a bad checkpoint";
      return "";
    }
    return llvm::toString(ck.takeError());
  }

  void expectBadCheckpoint(std::initializer_list<const char *> parts) {
    std::string msg = ckError();
    for (const char *part : parts)
      EXPECT_NE(msg.find(part), std::string::npos)
          << "missing '" << part << "' in: " << msg;
  }

};

std::string hdr(std::initializer_list<std::string> entries) {
  std::string s = "{";
  bool first = true;
  for (const std::string &e : entries) {
    if (!first)
      s += ",";
    s += e;
    first = false;
  }
  return s + "}";
}

//===----------------------------------------------------------------------===//
// Valid files
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, ValidSingleFile) {
  // w: F32 [2,2] at [0,16); h: F16 [3] at [16,22); b: BF16 [1] at [22,24);
  // e: F32 [0,5] (empty) at [24,24). Padded with trailing spaces.
  std::string header =
      hdr({"\"__metadata__\":{\"format\":\"pt\"}", entry("w", "F32", "[2,2]", 0, 16),
           entry("h", "F16", "[3]", 16, 22), entry("b", "BF16", "[1]", 22, 24),
           entry("e", "F32", "[0,5]", 24, 24)});
  header.append(7, ' ');
  std::string data = bytesOf({1.0f, 2.0f, 3.0f, 4.0f});
  data += std::string("\x00\x3c\x00\x40\x00\x42", 6); // F16 1, 2, 3
  data += std::string("\x80\x3f", 2);                  // BF16 1.0
  std::string p = write("model.safetensors", makeST(header, data));

  auto f = SafetensorsFile::open(p);
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  SafetensorsFile &sf = **f;
  EXPECT_EQ(sf.fileSize(), 8 + header.size() + data.size());

  // Sorted by name.
  ASSERT_EQ(sf.tensors().size(), 4u);
  EXPECT_EQ(sf.tensors()[0].name, "b");
  EXPECT_EQ(sf.tensors()[1].name, "e");
  EXPECT_EQ(sf.tensors()[2].name, "h");
  EXPECT_EQ(sf.tensors()[3].name, "w");

  const TensorInfo *w = sf.lookup("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(w->offset, 8 + header.size());
  EXPECT_EQ(w->size, 16u);
  EXPECT_EQ(w->file, p);
  EXPECT_EQ(w->numElements(), 4u);
  llvm::ArrayRef<uint8_t> wd = sf.data(*w);
  ASSERT_EQ(wd.size(), 16u);
  float fl[4];
  std::memcpy(fl, wd.data(), 16);
  EXPECT_EQ(fl[0], 1.0f);
  EXPECT_EQ(fl[3], 4.0f);

  const TensorInfo *h = sf.lookup("h");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->dtype, DType::F16);
  EXPECT_EQ(h->offset, 8 + header.size() + 16);
  llvm::ArrayRef<uint8_t> hd = sf.data(*h);
  ASSERT_EQ(hd.size(), 6u);
  EXPECT_EQ(hd[1], 0x3c);
  EXPECT_EQ(hd[5], 0x42);

  const TensorInfo *b = sf.lookup("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::BF16);
  llvm::ArrayRef<uint8_t> bd = sf.data(*b);
  ASSERT_EQ(bd.size(), 2u);
  EXPECT_EQ(bd[0], 0x80);
  EXPECT_EQ(bd[1], 0x3f);

  const TensorInfo *e = sf.lookup("e");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size, 0u);
  EXPECT_EQ(e->numElements(), 0u);
  EXPECT_TRUE(sf.data(*e).empty());

  EXPECT_EQ(sf.lookup("nope"), nullptr);
  EXPECT_EQ(sf.lookup(""), nullptr);
  ASSERT_EQ(sf.metadata().size(), 1u);
  EXPECT_EQ(sf.metadata().at("format"), "pt");

  // A TensorInfo that is not from this file gets no bytes.
  TensorInfo foreign = *w;
  foreign.file = "other.safetensors";
  EXPECT_TRUE(sf.data(foreign).empty());
  TensorInfo outside = *w;
  outside.offset = UINT64_MAX - 4;
  EXPECT_TRUE(sf.data(outside).empty());
  outside.offset = sf.fileSize();
  outside.size = 1;
  EXPECT_TRUE(sf.data(outside).empty());
}

TEST_F(SafetensorsTest, ValidEmptyHeaderAndScalars) {
  // No tensors at all.
  auto f = SafetensorsFile::open(write("model.safetensors", makeST("{}")));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_TRUE((*f)->tensors().empty());
  EXPECT_TRUE((*f)->metadata().empty());

  // A scalar (shape []) has one element; an integral double is an integer;
  // all the dtypes are known; empty tensors may sit inside another's range.
  std::string header = hdr(
      {entry("s", "F64", "[]", 0, 8), "\"d\":{\"dtype\":\"I8\",\"shape\":[2.0],"
                                      "\"data_offsets\":[8,10]}",
       entry("z", "BOOL", "[0]", 4, 4), entry("i64", "I64", "[1]", 10, 18),
       entry("i32", "I32", "[1]", 18, 22), entry("i16", "I16", "[1]", 22, 24),
       entry("u8", "U8", "[1]", 24, 25), entry("f8a", "F8_E4M3", "[1]", 25, 26),
       entry("f8b", "F8_E5M2", "[1]", 26, 27)});
  auto g = SafetensorsFile::open(
      write("model.safetensors", makeST(header, std::string(27, 'x'))));
  ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
  EXPECT_EQ((*g)->tensors().size(), 9u);
  EXPECT_EQ((*g)->lookup("s")->numElements(), 1u);
  EXPECT_EQ((*g)->lookup("d")->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ((*g)->lookup("f8b")->dtype, DType::F8_E5M2);
}

TEST_F(SafetensorsTest, DTypeNamesAndSizes) {
  EXPECT_EQ(dtypeName(DType::BF16), "BF16");
  EXPECT_EQ(dtypeName(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::BOOL), 1u);
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                  DType::I32, DType::I16, DType::I8, DType::U8, DType::BOOL,
                  DType::F8_E4M3, DType::F8_E5M2})
    EXPECT_EQ(parseDType(dtypeName(t)), t);
  EXPECT_EQ(parseDType("f32"), std::nullopt);
}

TEST_F(SafetensorsTest, LargeFileIsMapped) {
  // Big enough that LLVM maps the file instead of reading it.
  const uint64_t n = 1 << 20;
  std::string data(n, '\0');
  for (uint64_t i = 0; i < n; ++i)
    data[i] = static_cast<char>(i * 7);
  std::string header = hdr({entry("big", "U8", "[1024,1024]", 0, n)});
  auto f = SafetensorsFile::open(write("big.safetensors", makeST(header, data)));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  llvm::ArrayRef<uint8_t> d = (*f)->data(*(*f)->lookup("big"));
  ASSERT_EQ(d.size(), n);
  EXPECT_EQ(d[1], 7);
  EXPECT_EQ(d[n - 1], static_cast<uint8_t>((n - 1) * 7));
}

//===----------------------------------------------------------------------===//
// Header length
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, FileShorterThan8Bytes) {
  expectBad("", {"0 bytes, too short"});
  expectBad(std::string(7, '\0'), {"7 bytes, too short"});
}

TEST_F(SafetensorsTest, HeaderLengthOverCap) {
  expectBad(makeST("{}", "", 200ull * 1024 * 1024), {"exceeds the limit"});
  expectBad(makeST("{}", "", UINT64_MAX), {"exceeds the limit"});
}

TEST_F(SafetensorsTest, HeaderLengthOverFile) {
  expectBad(makeST("{}", "", 3), {"header length 3 exceeds the 2 bytes"});
  // Exactly the file is fine.
  auto f = SafetensorsFile::open(write("ok.safetensors", makeST("{}  ")));
  EXPECT_TRUE(bool(f)) << llvm::toString(f.takeError());
}

TEST_F(SafetensorsTest, NotAFile) {
  ASSERT_FALSE(llvm::sys::fs::create_directory(path("model.safetensors")));
  auto f = SafetensorsFile::open(path("model.safetensors"));
  ASSERT_FALSE(bool(f));
  EXPECT_NE(llvm::toString(f.takeError()).find("not a regular file"),
            std::string::npos);
  auto g = SafetensorsFile::open(path("missing.safetensors"));
  ASSERT_FALSE(bool(g));
  EXPECT_NE(llvm::toString(g.takeError()).find("missing.safetensors"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Header JSON
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, HeaderNotJSON) {
  expectBad(makeST("{\"a\":"), {"invalid JSON"});
  expectBad(makeST(""), {"invalid JSON"});
  expectBad(makeST(std::string("{}\0\0", 4)), {"invalid JSON"}); // NUL pad
  expectBad(makeST("{} x"), {"invalid JSON"});
}

TEST_F(SafetensorsTest, HeaderNotUTF8) {
  expectBad(makeST("{\"a\xff\":{}}"), {"not valid UTF-8"});
  expectBad(makeST("{\"\xc3\":{}}"), {"not valid UTF-8"}); // truncated seq
}

TEST_F(SafetensorsTest, HeaderNotObject) {
  expectBad(makeST("[1,2]"), {"header is an array, not a JSON object"});
  expectBad(makeST("\"x\""), {"header is a string"});
  expectBad(makeST("null"), {"header is null"});
}

TEST_F(SafetensorsTest, HeaderTooDeep) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  expectBad(makeST(deep), {"nests deeper than"});
  // Deep inside a string is fine for the depth check (still rejected later
  // for another reason: it is not an object of tensors).
  std::string s = "{\"" + std::string(1000, '[') + "\":1}";
  expectBad(makeST(s), {"entry is a number, not an object"});
}

TEST_F(SafetensorsTest, TensorEntryNotObject) {
  expectBad(makeST("{\"t\":5}"), {"tensor 't': entry is a number"});
  expectBad(makeST("{\"t\":[]}"), {"tensor 't': entry is an array"});
}

TEST_F(SafetensorsTest, EmptyTensorName) {
  expectBad(makeST(hdr({entry("", "F32", "[0]", 0, 0)})),
            {"empty tensor name"});
}

TEST_F(SafetensorsTest, BadDType) {
  expectBad(makeST("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "xxxx"),
            {"tensor 't': missing \"dtype\""});
  expectBad(makeST("{\"t\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
                   "xxxx"),
            {"\"dtype\" is a number, not a string"});
  expectBad(makeST(hdr({entry("t", "F128", "[1]", 0, 4)}), "xxxx"),
            {"tensor 't': unknown dtype 'F128'"});
  expectBad(makeST(hdr({entry("t", "f32", "[1]", 0, 4)}), "xxxx"),
            {"unknown dtype 'f32'"});
}

TEST_F(SafetensorsTest, BadShape) {
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "xxxx"),
            {"tensor 't': missing \"shape\""});
  expectBad(makeST(hdr({entry("t", "F32", "4", 0, 4)}), "xxxx"),
            {"\"shape\" is a number, not an array"});
  expectBad(makeST(hdr({entry("t", "F32", "[1,-4]", 0, 4)}), "xxxx"),
            {"shape dimension 1 is negative (-4)"});
  expectBad(makeST(hdr({entry("t", "F32", "[1.5]", 0, 4)}), "xxxx"),
            {"shape dimension 0 is not an integer"});
  expectBad(makeST(hdr({entry("t", "F32", "[\"4\"]", 0, 4)}), "xxxx"),
            {"shape dimension 0 is a string, not an integer"});
  expectBad(makeST(hdr({entry("t", "F32", "[null]", 0, 4)}), "xxxx"),
            {"shape dimension 0 is null"});
  expectBad(makeST(hdr({entry("t", "F32", "[true]", 0, 4)}), "xxxx"),
            {"shape dimension 0 is a boolean"});
  expectBad(makeST(hdr({entry("t", "F32", "[18446744073709551615]", 0, 4)}),
                   "xxxx"),
            {"shape dimension 0 (18446744073709551615) is too large"});
  expectBad(makeST(hdr({entry("t", "F32", "[1e300]", 0, 4)}), "xxxx"),
            {"shape dimension 0 is not an integer"});
}

TEST_F(SafetensorsTest, BadDataOffsets) {
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", "xxxx"),
            {"tensor 't': missing \"data_offsets\""});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":{}}}",
                   "xxxx"),
            {"\"data_offsets\" is an object, not an array"});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[0,4,8]}}",
                   "xxxx"),
            {"\"data_offsets\" has 3 elements, expected 2"});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[0]}}",
                   "xxxx"),
            {"\"data_offsets\" has 1 elements"});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[-4,0]}}",
                   "xxxx"),
            {"data_offsets begin is negative (-4)"});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[0,4.5]}}",
                   "xxxx"),
            {"data_offsets end is not an integer"});
  expectBad(makeST("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[0,\"4\"]}}",
                   "xxxx"),
            {"data_offsets end is a string"});
  expectBad(makeST(hdr({entry("t", "F32", "[1]", 8, 4)}), "xxxxxxxx"),
            {"data_offsets [8, 4) begin is after end"});
}

TEST_F(SafetensorsTest, SizeMismatch) {
  std::string msg = openError(
      makeST(hdr({entry("model.norm.weight", "F32", "[64]", 0, 100)}),
             std::string(100, 'x')));
  EXPECT_EQ(msg, path("model.safetensors") +
                     ": tensor 'model.norm.weight': data_offsets [0, 100) "
                     "hold 100 bytes but shape [64] x F32 needs 256");
  expectBad(makeST(hdr({entry("t", "BF16", "[2,3]", 0, 6)}), "xxxxxx"),
            {"hold 6 bytes but shape [2, 3] x BF16 needs 12"});
  // An empty tensor claiming bytes.
  expectBad(makeST(hdr({entry("t", "F32", "[0]", 0, 4)}), "xxxx"),
            {"hold 4 bytes but shape [0] x F32 needs 0"});
}

TEST_F(SafetensorsTest, ShapeOverflow) {
  // 2^32 * 2^32 elements.
  expectBad(makeST(hdr({entry("t", "F32", "[4294967296,4294967296]", 0, 0)})),
            {"tensor 't': byte size of shape", "overflows 64 bits"});
  // Elements fit, bytes (x4) do not; the wrapped size would be 0.
  expectBad(makeST(hdr({entry("t", "F32", "[4611686018427387904]", 0, 0)})),
            {"overflows 64 bits"});
  // A zero dim does not excuse huge others, whatever the order.
  expectBad(
      makeST(hdr({entry("t", "U8", "[4294967296,4294967296,0]", 0, 0)})),
      {"overflows 64 bits"});
  expectBad(
      makeST(hdr({entry("t", "U8", "[0,4294967296,4294967296]", 0, 0)})),
      {"overflows 64 bits"});
  // Huge but not overflowing: a size mismatch, not a crash.
  expectBad(makeST(hdr({entry("t", "U8", "[4294967296,4294967295]", 0, 4)}),
                   "xxxx"),
            {"needs 18446744069414584320"});
}

TEST_F(SafetensorsTest, DataOutsideDataSection) {
  expectBad(makeST(hdr({entry("t", "F32", "[4]", 0, 16)}), "xxxxxxxx"),
            {"tensor 't': data_offsets [0, 16) extend past the data section "
             "of 8 bytes"});
  expectBad(makeST(hdr({entry("t", "U8", "[1]", 8, 9)}), "xxxxxxxx"),
            {"data_offsets [8, 9) extend past"});
  // Near-UINT64_MAX offsets: end - begin matches, range is still outside.
  expectBad(makeST(hdr({entry("t", "U8", "[1]", 18446744073709551614ull,
                              18446744073709551615ull)}),
                   "x"),
            {"extend past the data section"});
  // An empty tensor just past the end.
  expectBad(makeST(hdr({entry("t", "U8", "[0]", 9, 9)}), "xxxxxxxx"),
            {"extend past"});
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  expectBad(makeST(hdr({entry("a", "F32", "[4]", 0, 16),
                        entry("b", "F32", "[4]", 8, 24)}),
                   std::string(24, 'x')),
            {"tensor 'b' (data_offsets [8, 24)) overlaps tensor 'a' "
             "(data_offsets [0, 16))"});
  // Same range twice.
  expectBad(makeST(hdr({entry("a", "F32", "[2]", 0, 8),
                        entry("b", "U8", "[8]", 0, 8)}),
                   std::string(8, 'x')),
            {"overlaps"});
  // One inside another.
  expectBad(makeST(hdr({entry("a", "U8", "[16]", 0, 16),
                        entry("b", "U8", "[2]", 4, 6)}),
                   std::string(16, 'x')),
            {"overlaps"});
  // Adjacent is fine, as are gaps.
  auto f = SafetensorsFile::open(write(
      "ok.safetensors", makeST(hdr({entry("a", "U8", "[4]", 0, 4),
                                    entry("b", "U8", "[4]", 4, 8),
                                    entry("c", "U8", "[4]", 12, 16)}),
                               std::string(16, 'x'))));
  EXPECT_TRUE(bool(f)) << llvm::toString(f.takeError());
}

TEST_F(SafetensorsTest, DuplicateTensorNames) {
  // llvm::json::parse silently keeps the last of duplicate keys; the reader
  // must reject them instead.
  expectBad(makeST(hdr({entry("a", "U8", "[4]", 0, 4),
                        entry("a", "U8", "[4]", 4, 8)}),
                   std::string(8, 'x')),
            {"duplicate tensor name 'a'"});
  // The same name spelled with an escape.
  expectBad(makeST(hdr({entry("ab", "U8", "[4]", 0, 4),
                        entry("\\u0061b", "U8", "[4]", 4, 8)}),
                   std::string(8, 'x')),
            {"duplicate tensor name 'ab'"});
  // Duplicate keys inside an entry: which dtype would a reader pick?
  expectBad(makeST("{\"t\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[4],"
                   "\"data_offsets\":[0,4]}}",
                   "xxxx"),
            {"duplicate key 'dtype'"});
  // Keys equal to values elsewhere, and escaped quotes, are not duplicates.
  auto f = SafetensorsFile::open(write(
      "ok.safetensors",
      makeST("{\"__metadata__\":{\"a\\\"\":\"t\",\"b\":\"a\\\"\"},"
             "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
             "x")));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_EQ((*f)->metadata().at("a\""), "t");
}

TEST_F(SafetensorsTest, BadMetadata) {
  expectBad(makeST("{\"__metadata__\":[]}"),
            {"__metadata__ is an array, not an object"});
  expectBad(makeST("{\"__metadata__\":{\"format\":1}}"),
            {"__metadata__ value for 'format' is a number, not a string"});
  expectBad(makeST("{\"__metadata__\":{\"x\":{}}}"),
            {"is an object, not a string"});
}

TEST_F(SafetensorsTest, FromBuffer) {
  auto f = SafetensorsFile::fromBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          makeST(hdr({entry("t", "U8", "[2]", 0, 2)}), "ab")),
      "mem");
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  llvm::ArrayRef<uint8_t> d = (*f)->data(*(*f)->lookup("t"));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], 'a');
  auto g = SafetensorsFile::fromBuffer(nullptr, "mem");
  EXPECT_FALSE(bool(g));
  llvm::consumeError(g.takeError());
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, CheckpointMissingFiles) {
  std::string msg = ckError();
  EXPECT_NE(msg.find(dir), std::string::npos) << msg;
  EXPECT_NE(msg.find("no model.safetensors or model.safetensors.index.json"),
            std::string::npos)
      << msg;

  auto ck = Checkpoint::open(path("nonexistent"));
  ASSERT_FALSE(bool(ck));
  EXPECT_NE(llvm::toString(ck.takeError()).find("nonexistent"),
            std::string::npos);

  std::string file = write("plain", "x");
  auto ck2 = Checkpoint::open(file);
  ASSERT_FALSE(bool(ck2));
  EXPECT_NE(llvm::toString(ck2.takeError()).find("not a directory"),
            std::string::npos);
}

TEST_F(SafetensorsTest, CheckpointSingleFile) {
  write("model.safetensors",
        makeST(hdr({entry("b", "F32", "[1]", 0, 4),
                    entry("a", "F32", "[1]", 4, 8)}),
               bytesOf({5.0f, 6.0f})));
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  ASSERT_EQ((*ck)->files().size(), 1u);
  EXPECT_EQ((*ck)->files()[0], path("model.safetensors"));
  std::vector<const TensorInfo *> ts = (*ck)->tensors();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0]->name, "a");
  EXPECT_EQ(ts[1]->name, "b");
  llvm::ArrayRef<uint8_t> d = (*ck)->data(*(*ck)->lookup("a"));
  ASSERT_EQ(d.size(), 4u);
  float v;
  std::memcpy(&v, d.data(), 4);
  EXPECT_EQ(v, 6.0f);
  EXPECT_EQ((*ck)->lookup("c"), nullptr);
}

TEST_F(SafetensorsTest, CheckpointSingleFileBad) {
  write("model.safetensors", "short");
  std::string msg = ckError();
  EXPECT_NE(msg.find(path("model.safetensors")), std::string::npos) << msg;
  EXPECT_NE(msg.find("too short"), std::string::npos) << msg;
}

class ShardedTest : public SafetensorsTest {
protected:
  void writeShards() {
    write("model-00001-of-00002.safetensors",
          makeST(hdr({entry("layers.0.w", "F32", "[2]", 0, 8),
                      entry("embed", "F16", "[2]", 8, 12)}),
                 bytesOf({1.0f, 2.0f}) + std::string("\x00\x3c\x00\x40", 4)));
    write("model-00002-of-00002.safetensors",
          makeST(hdr({entry("layers.1.w", "F32", "[1]", 0, 4),
                      entry("norm", "BF16", "[0]", 4, 4)}),
                 bytesOf({3.0f})));
  }
  std::string index(StringRef weightMapBody) {
    return write("model.safetensors.index.json",
                 ("{\"metadata\":{\"total_size\":16},\"weight_map\":{" +
                  weightMapBody + "}}")
                     .str());
  }
  static constexpr const char *kGoodMap =
      "\"layers.0.w\":\"model-00001-of-00002.safetensors\","
      "\"embed\":\"model-00001-of-00002.safetensors\","
      "\"layers.1.w\":\"model-00002-of-00002.safetensors\","
      "\"norm\":\"model-00002-of-00002.safetensors\"";
};

TEST_F(ShardedTest, Valid) {
  writeShards();
  index(kGoodMap);
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  Checkpoint &c = **ck;
  ASSERT_EQ(c.files().size(), 2u);
  EXPECT_EQ(c.files()[0], path("model-00001-of-00002.safetensors"));
  EXPECT_EQ(c.files()[1], path("model-00002-of-00002.safetensors"));
  std::vector<const TensorInfo *> ts = c.tensors();
  ASSERT_EQ(ts.size(), 4u);
  EXPECT_EQ(ts[0]->name, "embed");
  EXPECT_EQ(ts[1]->name, "layers.0.w");
  EXPECT_EQ(ts[2]->name, "layers.1.w");
  EXPECT_EQ(ts[3]->name, "norm");

  const TensorInfo *l1 = c.lookup("layers.1.w");
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->file, path("model-00002-of-00002.safetensors"));
  llvm::ArrayRef<uint8_t> d = c.data(*l1);
  ASSERT_EQ(d.size(), 4u);
  float v;
  std::memcpy(&v, d.data(), 4);
  EXPECT_EQ(v, 3.0f);

  const TensorInfo *e = c.lookup("embed");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, DType::F16);
  llvm::ArrayRef<uint8_t> ed = c.data(*e);
  ASSERT_EQ(ed.size(), 4u);
  EXPECT_EQ(ed[3], 0x40);
  EXPECT_TRUE(c.data(*c.lookup("norm")).empty());

  TensorInfo foreign = *e;
  foreign.file = path("elsewhere.safetensors");
  EXPECT_TRUE(c.data(foreign).empty());
}

TEST_F(ShardedTest, SymlinkedShards) {
  // The Hugging Face cache links shard names to blobs elsewhere; that is fine
  // as long as the names in the index are plain.
  ASSERT_FALSE(llvm::sys::fs::create_directory(path("blobs")));
  write("blobs/one", makeST(hdr({entry("a", "U8", "[1]", 0, 1)}), "a"));
  ASSERT_FALSE(llvm::sys::fs::create_link(path("blobs/one"),
                                          path("model-1.safetensors")));
  index("\"a\":\"model-1.safetensors\"");
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  ASSERT_NE((*ck)->lookup("a"), nullptr);
  EXPECT_EQ((*ck)->data(*(*ck)->lookup("a"))[0], 'a');
}

// model.safetensors and an index side by side: the index must describe the
// single file (a stale index of other shards was once ignored silently).
TEST_F(ShardedTest, SingleFileAndIndexMustAgree) {
  writeShards();
  index(kGoodMap);
  write("model.safetensors",
        makeST(hdr({entry("only", "U8", "[1]", 0, 1)}), "x"));
  expectBadCheckpoint({"both model.safetensors and model.safetensors.index.json are here",
                       "remove the one that does not belong"});
  index("\"only\":\"model.safetensors\"");
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(bool(ck)) << llvm::toString(ck.takeError());
  EXPECT_EQ((*ck)->tensors().size(), 1u);
  EXPECT_NE((*ck)->lookup("only"), nullptr);
  index("\"only\":\"model.safetensors\",\"other\":\"model.safetensors\"");
  expectBadCheckpoint({"weight_map puts tensor 'other' in shard 'model.safetensors', "
                       "which has no such tensor"});
}

TEST_F(ShardedTest, IndexNotJSON) {
  writeShards();
  write("model.safetensors.index.json", "{\"weight_map\":");
  expectBadCheckpoint({"model.safetensors.index.json: invalid JSON"});
  write("model.safetensors.index.json", "[]");
  expectBadCheckpoint({"is an array, not a JSON object"});
  write("model.safetensors.index.json", "{\"w\xff\":1}");
  expectBadCheckpoint({"not valid UTF-8"});
  write("model.safetensors.index.json",
        std::string(5000, '[') + std::string(5000, ']'));
  expectBadCheckpoint({"nests deeper"});
}

TEST_F(ShardedTest, IndexBadWeightMap) {
  writeShards();
  write("model.safetensors.index.json", "{\"metadata\":{}}");
  expectBadCheckpoint({"missing \"weight_map\""});
  write("model.safetensors.index.json", "{\"weight_map\":[]}");
  expectBadCheckpoint({"\"weight_map\" is an array, not an object"});
  index("");
  expectBadCheckpoint({"\"weight_map\" is empty"});
  index("\"embed\":1");
  expectBadCheckpoint(
      {"weight_map entry for tensor 'embed' is a number, not a string"});
  // The same tensor mapped twice (to different shards).
  index(std::string(kGoodMap) +
        ",\"embed\":\"model-00002-of-00002.safetensors\"");
  expectBadCheckpoint({"duplicate key 'embed'"});
}

TEST_F(ShardedTest, IndexPathEscape) {
  writeShards();
  for (const char *bad :
       {"../model-00001-of-00002.safetensors", "/etc/passwd", "sub/x.safetensors",
        "..", ".", "", "a\\\\b.safetensors", "c:x.safetensors"}) {
    index(std::string("\"embed\":\"") + bad + "\"");
    expectBadCheckpoint({"weight_map entry for tensor 'embed' names shard",
                         "not a plain file name"});
  }
}

TEST_F(ShardedTest, MissingShard) {
  writeShards();
  index(std::string(kGoodMap) + ",\"x\":\"model-00003-of-00002.safetensors\"");
  expectBadCheckpoint(
      {"shard 'model-00003-of-00002.safetensors' does not exist"});
}

TEST_F(ShardedTest, BadShard) {
  writeShards();
  write("model-00002-of-00002.safetensors",
        makeST(hdr({entry("layers.1.w", "F32", "[2]", 0, 4)}), "xxxx"));
  index(kGoodMap);
  std::string msg = ckError();
  EXPECT_NE(msg.find(path("model-00002-of-00002.safetensors") +
                     ": tensor 'layers.1.w'"),
            std::string::npos)
      << msg;
}

TEST_F(ShardedTest, TensorMissingFromItsShard) {
  writeShards();
  index(std::string(kGoodMap) +
        ",\"ghost\":\"model-00002-of-00002.safetensors\"");
  expectBadCheckpoint({"weight_map puts tensor 'ghost' in shard "
                       "'model-00002-of-00002.safetensors', which has no such "
                       "tensor"});
}

TEST_F(ShardedTest, TensorInShardButNotInMap) {
  writeShards();
  index("\"layers.0.w\":\"model-00001-of-00002.safetensors\","
        "\"layers.1.w\":\"model-00002-of-00002.safetensors\","
        "\"norm\":\"model-00002-of-00002.safetensors\"");
  expectBadCheckpoint({"tensor 'embed' is not in", "weight_map"});
}

TEST_F(ShardedTest, TensorInTwoShards) {
  writeShards();
  write("model-00002-of-00002.safetensors",
        makeST(hdr({entry("layers.1.w", "F32", "[1]", 0, 4),
                    entry("norm", "BF16", "[0]", 4, 4),
                    entry("embed", "F16", "[2]", 4, 8)}),
               bytesOf({3.0f, 4.0f})));
  index(kGoodMap);
  expectBadCheckpoint({"model-00002-of-00002.safetensors: tensor 'embed' is in "
                       "this shard but weight_map puts it in "
                       "'model-00001-of-00002.safetensors'"});
}

TEST_F(ShardedTest, MapPointsToWrongShard) {
  writeShards();
  index("\"layers.0.w\":\"model-00002-of-00002.safetensors\","
        "\"embed\":\"model-00001-of-00002.safetensors\","
        "\"layers.1.w\":\"model-00002-of-00002.safetensors\","
        "\"norm\":\"model-00002-of-00002.safetensors\"");
  expectBadCheckpoint({"tensor 'layers.0.w' is in this shard but weight_map "
                       "puts it in 'model-00002-of-00002.safetensors'"});
}

//===----------------------------------------------------------------------===//
// JSON helpers
//===----------------------------------------------------------------------===//

TEST(JSONChecks, DepthCountsOnlyOutsideStrings) {
  EXPECT_FALSE(bool(checkJSONDepth("[[[]]]", 3, "x")));
  llvm::Error e = checkJSONDepth("[[[[]]]]", 3, "x");
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("x: JSON nests deeper than 3"),
            std::string::npos);
  EXPECT_FALSE(bool(checkJSONDepth("[\"[[[[\\\"[[[[\"]", 3, "x")));
  // Garbage never reads out of bounds.
  EXPECT_FALSE(bool(checkJSONDepth("\"\\", 3, "x")));
  EXPECT_FALSE(bool(checkJSONDuplicateKeys("{\"a\\", "x", "key")));
  EXPECT_FALSE(bool(checkJSONDuplicateKeys("}}]]{", "x", "key")));
}

TEST(JSONChecks, DuplicateKeysPerObject) {
  // Same key in sibling objects is fine.
  EXPECT_FALSE(bool(checkJSONDuplicateKeys(
      "{\"a\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":1},{\"k\":2}]}", "x",
      "key")));
  llvm::Error e = checkJSONDuplicateKeys(
      "{\"a\":[{\"k\":1,\"k\":2}]}", "x", "key");
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("duplicate key 'k'"),
            std::string::npos);
}

} // namespace
