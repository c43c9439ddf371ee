//===- GGUF.cpp - Hardened GGUF (llama.cpp model file) reader -------------===//
//
// See GGUF.h for the format and the checks. Conventions here: every error is
// built by fail() from a context string that already names the file (and the
// key or tensor); every read goes through Reader, which checks the bytes
// left first; every count is checked against the bytes left (and a cap)
// before anything is reserved; every size computation is overflow-checked.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUF.h"

#include "compiler/frontend/Safetensors.h" // quotedForMessage

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cfloat>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace llmc {

//===----------------------------------------------------------------------===//
// ggml types
//===----------------------------------------------------------------------===//

namespace {
struct GGMLTypeEntry {
  GGMLType type;
  const char *name;
  unsigned blockSize; // elements per block
  unsigned typeSize;  // bytes per block
};
// ggml's type traits (block layouts of ggml-common.h; QK_K = 256).
constexpr GGMLTypeEntry kGGMLTypes[] = {
    {GGMLType::F32, "F32", 1, 4},
    {GGMLType::F16, "F16", 1, 2},
    {GGMLType::Q4_0, "Q4_0", 32, 18},
    {GGMLType::Q4_1, "Q4_1", 32, 20},
    {GGMLType::Q5_0, "Q5_0", 32, 22},
    {GGMLType::Q5_1, "Q5_1", 32, 24},
    {GGMLType::Q8_0, "Q8_0", 32, 34},
    {GGMLType::Q8_1, "Q8_1", 32, 36},
    {GGMLType::Q2_K, "Q2_K", 256, 84},
    {GGMLType::Q3_K, "Q3_K", 256, 110},
    {GGMLType::Q4_K, "Q4_K", 256, 144},
    {GGMLType::Q5_K, "Q5_K", 256, 176},
    {GGMLType::Q6_K, "Q6_K", 256, 210},
    {GGMLType::Q8_K, "Q8_K", 256, 292},
    {GGMLType::IQ2_XXS, "IQ2_XXS", 256, 66},
    {GGMLType::IQ2_XS, "IQ2_XS", 256, 74},
    {GGMLType::IQ3_XXS, "IQ3_XXS", 256, 98},
    {GGMLType::IQ1_S, "IQ1_S", 256, 50},
    {GGMLType::IQ4_NL, "IQ4_NL", 32, 18},
    {GGMLType::IQ3_S, "IQ3_S", 256, 110},
    {GGMLType::IQ2_S, "IQ2_S", 256, 82},
    {GGMLType::IQ4_XS, "IQ4_XS", 256, 136},
    {GGMLType::I8, "I8", 1, 1},
    {GGMLType::I16, "I16", 1, 2},
    {GGMLType::I32, "I32", 1, 4},
    {GGMLType::I64, "I64", 1, 8},
    {GGMLType::F64, "F64", 1, 8},
    {GGMLType::IQ1_M, "IQ1_M", 256, 56},
    {GGMLType::BF16, "BF16", 1, 2},
    {GGMLType::TQ1_0, "TQ1_0", 256, 54},
    {GGMLType::TQ2_0, "TQ2_0", 256, 66},
    {GGMLType::MXFP4, "MXFP4", 32, 17},
    {GGMLType::NVFP4, "NVFP4", 64, 36},
    {GGMLType::Q1_0, "Q1_0", 128, 18},
};

const GGMLTypeEntry *findGGMLType(uint32_t value) {
  for (const GGMLTypeEntry &e : kGGMLTypes)
    if (static_cast<uint32_t>(e.type) == value)
      return &e;
  return nullptr;
}
} // namespace

std::optional<GGMLType> toGGMLType(uint32_t value) {
  if (const GGMLTypeEntry *e = findGGMLType(value))
    return e->type;
  return std::nullopt;
}

StringRef ggmlTypeName(GGMLType t) {
  const GGMLTypeEntry *e = findGGMLType(static_cast<uint32_t>(t));
  return e ? e->name : "?";
}

unsigned ggmlBlockSize(GGMLType t) {
  const GGMLTypeEntry *e = findGGMLType(static_cast<uint32_t>(t));
  return e ? e->blockSize : 0;
}

unsigned ggmlTypeSize(GGMLType t) {
  const GGMLTypeEntry *e = findGGMLType(static_cast<uint32_t>(t));
  return e ? e->typeSize : 0;
}

//===----------------------------------------------------------------------===//
// Value types
//===----------------------------------------------------------------------===//

namespace {
constexpr uint32_t kNumValueTypes = 13;
constexpr const char *kValueTypeNames[kNumValueTypes] = {
    "u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
    "bool", "string", "array", "u64", "i64", "f64"};
constexpr unsigned kValueTypeSizes[kNumValueTypes] = {1, 1, 2, 2, 4, 4, 4,
                                                      1, 0, 0, 8, 8, 8};
} // namespace

StringRef ggufValueTypeName(GGUFValueType t) {
  uint32_t i = static_cast<uint32_t>(t);
  return i < kNumValueTypes ? kValueTypeNames[i] : "?";
}

unsigned ggufScalarSize(GGUFValueType t) {
  uint32_t i = static_cast<uint32_t>(t);
  return i < kNumValueTypes ? kValueTypeSizes[i] : 0;
}

//===----------------------------------------------------------------------===//
// GGUFValue
//===----------------------------------------------------------------------===//

static bool isIntegerType(GGUFValueType t) {
  switch (t) {
  case GGUFValueType::U8:
  case GGUFValueType::I8:
  case GGUFValueType::U16:
  case GGUFValueType::I16:
  case GGUFValueType::U32:
  case GGUFValueType::I32:
  case GGUFValueType::U64:
  case GGUFValueType::I64:
    return true;
  default:
    return false;
  }
}

static bool isSignedType(GGUFValueType t) {
  return t == GGUFValueType::I8 || t == GGUFValueType::I16 ||
         t == GGUFValueType::I32 || t == GGUFValueType::I64;
}

/// Sign-extends the zero-extended bits of a signed scalar.
static int64_t signExtend(GGUFValueType t, uint64_t bits) {
  switch (t) {
  case GGUFValueType::I8:
    return static_cast<int8_t>(static_cast<uint8_t>(bits));
  case GGUFValueType::I16:
    return static_cast<int16_t>(static_cast<uint16_t>(bits));
  case GGUFValueType::I32:
    return static_cast<int32_t>(static_cast<uint32_t>(bits));
  default:
    return static_cast<int64_t>(bits);
  }
}

bool GGUFValue::isInteger() const { return isIntegerType(type_); }

std::optional<uint64_t> GGUFValue::toUnsigned(GGUFValueType t, uint64_t bits) {
  if (!isIntegerType(t))
    return std::nullopt;
  if (isSignedType(t)) {
    int64_t v = signExtend(t, bits);
    if (v < 0)
      return std::nullopt;
    return static_cast<uint64_t>(v);
  }
  return bits;
}

std::optional<int64_t> GGUFValue::toSigned(GGUFValueType t, uint64_t bits) {
  if (!isIntegerType(t))
    return std::nullopt;
  if (isSignedType(t))
    return signExtend(t, bits);
  if (bits > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return static_cast<int64_t>(bits);
}

std::optional<double> GGUFValue::toFloat(GGUFValueType t, uint64_t bits) {
  if (t == GGUFValueType::F32) {
    uint32_t b = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
  }
  if (t == GGUFValueType::F64) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  return std::nullopt;
}

std::optional<uint64_t> GGUFValue::asUnsigned() const {
  return toUnsigned(type_, bits_);
}
std::optional<int64_t> GGUFValue::asSigned() const {
  return toSigned(type_, bits_);
}
std::optional<double> GGUFValue::asFloat() const {
  return toFloat(type_, bits_);
}
std::optional<bool> GGUFValue::asBool() const {
  if (type_ != GGUFValueType::Bool)
    return std::nullopt;
  return bits_ != 0;
}
std::optional<StringRef> GGUFValue::asString() const {
  if (type_ != GGUFValueType::String)
    return std::nullopt;
  return raw_;
}

std::optional<uint64_t> GGUFValue::bitsAt(uint64_t i) const {
  const unsigned s = ggufScalarSize(elemType_);
  if (!isArray() || s == 0 || i >= count_ || raw_.size() / s != count_)
    return std::nullopt;
  const char *p = raw_.data() + i * s; // i * s < raw_.size(): no overflow
  switch (s) {
  case 1:
    return static_cast<uint8_t>(*p);
  case 2:
    return support::endian::read16le(p);
  case 4:
    return support::endian::read32le(p);
  default:
    return support::endian::read64le(p);
  }
}

std::optional<uint64_t> GGUFValue::unsignedAt(uint64_t i) const {
  std::optional<uint64_t> b = bitsAt(i);
  return b ? toUnsigned(elemType_, *b) : std::nullopt;
}
std::optional<int64_t> GGUFValue::signedAt(uint64_t i) const {
  std::optional<uint64_t> b = bitsAt(i);
  return b ? toSigned(elemType_, *b) : std::nullopt;
}
std::optional<double> GGUFValue::floatAt(uint64_t i) const {
  std::optional<uint64_t> b = bitsAt(i);
  return b ? toFloat(elemType_, *b) : std::nullopt;
}
std::optional<bool> GGUFValue::boolAt(uint64_t i) const {
  if (elemType_ != GGUFValueType::Bool)
    return std::nullopt;
  std::optional<uint64_t> b = bitsAt(i);
  if (!b)
    return std::nullopt;
  return *b != 0;
}

uint64_t GGUFTensorInfo::numElements() const {
  uint64_t n = 1;
  for (uint64_t d : dims) {
    bool overflow = false;
    n = SaturatingMultiply(n, d, &overflow);
    if (overflow)
      return UINT64_MAX;
  }
  return n;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

std::string quoted(StringRef s) { return quotedForMessage(s); }

std::string dimsString(ArrayRef<uint64_t> dims) {
  std::string out;
  raw_string_ostream os(out);
  os << '[';
  llvm::interleave(dims, os, ", ");
  os << ']';
  return os.str();
}

/// "u32", "array of string", "array of array".
std::string describe(const GGUFValue &v) {
  if (!v.isArray())
    return ggufValueTypeName(v.type()).str();
  return ("array of " + ggufValueTypeName(v.elementType())).str();
}

Expected<std::unique_ptr<MemoryBuffer>> mapFile(StringRef path) {
  return mapRegularFile(path);
}

/// Bounds-checked little-endian cursor over the file.
class Reader {
public:
  explicit Reader(StringRef bytes) : bytes_(bytes) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  /// `ctx` names the file (and key / tensor); `what` the field.
  Error need(uint64_t n, const Twine &ctx, const Twine &what) const {
    if (n <= remaining())
      return Error::success();
    return fail(ctx + ": truncated file: " + what + " at offset " +
                Twine(pos_) + " needs " + Twine(n) + " bytes, only " +
                Twine(remaining()) + " left");
  }

  Expected<uint32_t> u32(const Twine &ctx, const Twine &what) {
    if (Error e = need(4, ctx, what))
      return std::move(e);
    uint32_t v = support::endian::read32le(bytes_.data() + pos_);
    pos_ += 4;
    return v;
  }

  Expected<uint64_t> u64(const Twine &ctx, const Twine &what) {
    if (Error e = need(8, ctx, what))
      return std::move(e);
    uint64_t v = support::endian::read64le(bytes_.data() + pos_);
    pos_ += 8;
    return v;
  }

  /// `n` bytes, already checked with need().
  StringRef take(uint64_t n) {
    StringRef s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  /// A GGUF string: u64 length (<= cap and <= the bytes left) + bytes.
  Expected<StringRef> string(const Twine &ctx, const Twine &what,
                             uint64_t cap) {
    Expected<uint64_t> len = u64(ctx, what + " length");
    if (!len)
      return len.takeError();
    if (*len > cap)
      return fail(ctx + ": " + what + " length " + Twine(*len) +
                  " exceeds the limit of " + Twine(cap) + " bytes");
    if (*len > remaining())
      return fail(ctx + ": " + what + " length " + Twine(*len) +
                  " exceeds the " + Twine(remaining()) +
                  " bytes left in the file");
    return take(*len);
  }

private:
  StringRef bytes_;
  uint64_t pos_ = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// GGUFParser
//===----------------------------------------------------------------------===//

/// Fills a GGUFFile from its buffer (a friend of GGUFFile and GGUFValue).
class GGUFParser {
public:
  explicit GGUFParser(GGUFFile &f)
      : f_(f), path_(f.path_), r_(f.buffer_->getBuffer()) {}

  Error parse();

private:
  Error parseHeader(uint64_t &tensorCount, uint64_t &kvCount);
  Error parseKeyValues(uint64_t kvCount);
  Error parseValue(GGUFValueType type, unsigned level, const std::string &ctx,
                   GGUFValue &out);
  Error parseArray(unsigned level, const std::string &ctx, GGUFValue &out);
  Expected<GGUFValueType> valueType(const std::string &ctx,
                                    const Twine &what);
  Error checkAlignment();
  Error parseTensorInfos(uint64_t tensorCount);
  Error placeTensors();

  GGUFFile &f_;
  const std::string &path_;
  Reader r_;
  /// Strings and arrays held in arrays so far (bounded by kMaxArrayObjects).
  uint64_t arrayObjects_ = 0;
  /// Offsets relative to the data section, parallel to f_.tensors_.
  std::vector<uint64_t> relOffsets_;
};

Error GGUFParser::parseHeader(uint64_t &tensorCount, uint64_t &kvCount) {
  const StringRef bytes = f_.buffer_->getBuffer();
  if (bytes.size() < 4)
    return fail(path_ + ": file is " + Twine(bytes.size()) +
                " bytes, too short for the GGUF magic");
  if (bytes.substr(0, 4) != "GGUF")
    return fail(path_ + ": not a GGUF file (magic " +
                quoted(bytes.substr(0, 4)) + ", expected 'GGUF')");
  r_.take(4);

  Expected<uint32_t> version = r_.u32(path_, "the version");
  if (!version)
    return version.takeError();
  f_.version_ = *version;
  if (*version == 1)
    return fail(path_ + ": GGUF version 1 is not supported (it has 32-bit "
                        "counts and lengths); re-convert the model with a "
                        "current llama.cpp");
  if (*version == 0)
    return fail(path_ + ": GGUF version 0 is not a valid version");
  if ((*version & 0xffffu) == 0)
    return fail(path_ + ": GGUF version " + Twine(*version) + " (0x" +
                Twine::utohexstr(*version) +
                ") looks byte-swapped: big-endian GGUF files are not "
                "supported");
  if (*version > 3)
    return fail(path_ + ": GGUF version " + Twine(*version) +
                " is newer than this reader supports (2 and 3)");

  Expected<uint64_t> tc = r_.u64(path_, "the tensor count");
  if (!tc)
    return tc.takeError();
  Expected<uint64_t> kc = r_.u64(path_, "the metadata count");
  if (!kc)
    return kc.takeError();
  tensorCount = *tc;
  kvCount = *kc;
  if (tensorCount > GGUFFile::kMaxTensors)
    return fail(path_ + ": tensor count " + Twine(tensorCount) +
                " exceeds the limit of " + Twine(GGUFFile::kMaxTensors));
  if (kvCount > GGUFFile::kMaxKeyValues)
    return fail(path_ + ": metadata count " + Twine(kvCount) +
                " exceeds the limit of " + Twine(GGUFFile::kMaxKeyValues));
  // Smallest encodings: a kv is a key length (8), a 1-byte key, a type (4)
  // and a 1-byte value; a tensor info is a name length (8), a 1-byte name,
  // n_dims (4), one dim (8), a type (4) and an offset (8). Both counts are
  // <= 2^20, so the products cannot overflow.
  constexpr uint64_t kMinKV = 8 + 1 + 4 + 1;
  constexpr uint64_t kMinTensorInfo = 8 + 1 + 4 + 8 + 4 + 8;
  const uint64_t minBytes = kvCount * kMinKV + tensorCount * kMinTensorInfo;
  if (minBytes > r_.remaining())
    return fail(path_ + ": " + Twine(kvCount) + " metadata entries and " +
                Twine(tensorCount) + " tensor infos need at least " +
                Twine(minBytes) + " bytes, only " + Twine(r_.remaining()) +
                " left in the file");
  return Error::success();
}

Expected<GGUFValueType> GGUFParser::valueType(const std::string &ctx,
                                              const Twine &what) {
  Expected<uint32_t> t = r_.u32(ctx, what);
  if (!t)
    return t.takeError();
  if (*t >= kNumValueTypes)
    return fail(ctx + ": " + what + " " + Twine(*t) +
                " is not a GGUF value type (0..12)");
  return static_cast<GGUFValueType>(*t);
}

Error GGUFParser::parseValue(GGUFValueType type, unsigned level,
                             const std::string &ctx, GGUFValue &out) {
  out.type_ = type;
  if (type == GGUFValueType::String) {
    Expected<StringRef> s =
        r_.string(ctx, "string", GGUFFile::kMaxStringLength);
    if (!s)
      return s.takeError();
    out.raw_ = *s;
    return Error::success();
  }
  if (type == GGUFValueType::Array)
    return parseArray(level + 1, ctx, out);

  const unsigned size = ggufScalarSize(type);
  if (Error e = r_.need(size, ctx, Twine("the ") +
                                       ggufValueTypeName(type) + " value"))
    return e;
  StringRef b = r_.take(size);
  switch (size) {
  case 1:
    out.bits_ = static_cast<uint8_t>(b[0]);
    break;
  case 2:
    out.bits_ = support::endian::read16le(b.data());
    break;
  case 4:
    out.bits_ = support::endian::read32le(b.data());
    break;
  default:
    out.bits_ = support::endian::read64le(b.data());
    break;
  }
  if (type == GGUFValueType::Bool && out.bits_ > 1)
    return fail(ctx + ": bool value " + Twine(out.bits_) +
                " is neither 0 nor 1");
  return Error::success();
}

Error GGUFParser::parseArray(unsigned level, const std::string &ctx,
                             GGUFValue &out) {
  out.type_ = GGUFValueType::Array;
  if (level > GGUFFile::kMaxArrayNesting)
    return fail(ctx + ": arrays nest deeper than " +
                Twine(GGUFFile::kMaxArrayNesting) + " levels");
  Expected<GGUFValueType> elem = valueType(ctx, "array element type");
  if (!elem)
    return elem.takeError();
  Expected<uint64_t> count = r_.u64(ctx, "the array length");
  if (!count)
    return count.takeError();
  out.elemType_ = *elem;
  out.count_ = *count;
  const uint64_t left = r_.remaining();
  const StringRef elemName = ggufValueTypeName(*elem);

  if (const unsigned size = ggufScalarSize(*elem)) {
    // Scalars: a view of count * size bytes, checked without overflow.
    if (*count > left / size)
      return fail(ctx + ": array of " + Twine(*count) + " " + elemName +
                  " (" + Twine(size) + " bytes each) exceeds the " +
                  Twine(left) + " bytes left in the file");
    out.raw_ = r_.take(*count * size);
    if (*elem == GGUFValueType::Bool)
      for (size_t i = 0; i < out.raw_.size(); ++i)
        if (unsigned byte = static_cast<uint8_t>(out.raw_[i]); byte > 1)
          return fail(ctx + ": bool element " + Twine(i) + " is " +
                      Twine(byte) + ", neither 0 nor 1");
    return Error::success();
  }

  // Strings (>= 8 bytes each) and arrays (>= 12 bytes each) cost memory per
  // element: check the bytes left and the file-wide budget, then reserve.
  const uint64_t minSize = *elem == GGUFValueType::String ? 8 : 12;
  if (*elem == GGUFValueType::Array && level + 1 > GGUFFile::kMaxArrayNesting)
    return fail(ctx + ": arrays nest deeper than " +
                Twine(GGUFFile::kMaxArrayNesting) + " levels");
  if (*count > left / minSize)
    return fail(ctx + ": array of " + Twine(*count) + " " + elemName +
                " (at least " + Twine(minSize) + " bytes each) exceeds the " +
                Twine(left) + " bytes left in the file");
  if (*count > GGUFFile::kMaxArrayObjects - arrayObjects_)
    return fail(ctx + ": array of " + Twine(*count) + " " + elemName +
                " exceeds the limit of " + Twine(GGUFFile::kMaxArrayObjects) +
                " strings and arrays held in arrays per file");
  arrayObjects_ += *count;

  if (*elem == GGUFValueType::String) {
    out.strings_.reserve(*count);
    for (uint64_t i = 0; i < *count; ++i) {
      Expected<StringRef> s = r_.string(ctx, "string element " + Twine(i),
                                        GGUFFile::kMaxStringLength);
      if (!s)
        return s.takeError();
      out.strings_.push_back(*s);
    }
    return Error::success();
  }
  out.arrays_.reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    out.arrays_.emplace_back();
    if (Error e = parseArray(level + 1, ctx, out.arrays_.back()))
      return e;
  }
  return Error::success();
}

Error GGUFParser::parseKeyValues(uint64_t kvCount) {
  f_.kvs_.reserve(kvCount); // checked against the bytes left in parseHeader
  for (uint64_t i = 0; i < kvCount; ++i) {
    const std::string entryCtx =
        (path_ + ": metadata entry " + Twine(i)).str();
    Expected<StringRef> key =
        r_.string(entryCtx, "key", GGUFFile::kMaxKeyLength);
    if (!key)
      return key.takeError();
    if (key->empty())
      return fail(entryCtx + ": empty key");
    for (char c : *key)
      if (c < 0x20 || c > 0x7e)
        return fail(entryCtx + ": key " + quoted(*key) +
                    " is not printable ASCII");
    const std::string ctx = path_ + ": key " + quoted(*key);
    if (!f_.kvIndex_.try_emplace(*key, f_.kvs_.size()).second)
      return fail(path_ + ": duplicate key " + quoted(*key));
    Expected<GGUFValueType> type = valueType(ctx, "value type");
    if (!type)
      return type.takeError();
    f_.kvs_.push_back(GGUFKeyValue{*key, GGUFValue()});
    if (Error e = parseValue(*type, 0, ctx, f_.kvs_.back().value))
      return e;
  }
  return Error::success();
}

Error GGUFParser::checkAlignment() {
  const GGUFValue *v = f_.lookup("general.alignment");
  if (!v)
    return Error::success();
  if (v->type() != GGUFValueType::U32)
    return fail(path_ + ": key 'general.alignment' is " + describe(*v) +
                ", expected u32");
  const uint64_t a = *v->asUnsigned();
  if (!isPowerOf2_64(a))
    return fail(path_ + ": key 'general.alignment' value " + Twine(a) +
                " is not a power of two");
  f_.alignment_ = a;
  return Error::success();
}

Error GGUFParser::parseTensorInfos(uint64_t tensorCount) {
  // Checked against the bytes left in parseHeader (and the kvs only
  // consumed bytes since).
  f_.tensors_.reserve(tensorCount);
  relOffsets_.reserve(tensorCount);
  for (uint64_t i = 0; i < tensorCount; ++i) {
    const std::string infoCtx = (path_ + ": tensor info " + Twine(i)).str();
    Expected<StringRef> name =
        r_.string(infoCtx, "tensor name", GGUFFile::kMaxTensorNameLength);
    if (!name)
      return name.takeError();
    if (name->empty())
      return fail(infoCtx + ": empty tensor name");
    const std::string ctx = path_ + ": tensor " + quoted(*name);
    if (!f_.tensorIndex_.try_emplace(*name, f_.tensors_.size()).second)
      return fail(path_ + ": duplicate tensor " + quoted(*name));

    GGUFTensorInfo t;
    t.name = name->str();
    Expected<uint32_t> nDims = r_.u32(ctx, "n_dims");
    if (!nDims)
      return nDims.takeError();
    if (*nDims < 1 || *nDims > GGUFFile::kMaxDims)
      return fail(ctx + ": n_dims " + Twine(*nDims) + " is not in 1.." +
                  Twine(GGUFFile::kMaxDims));
    for (uint32_t d = 0; d < *nDims; ++d) {
      Expected<uint64_t> dim = r_.u64(ctx, "dimension " + Twine(d));
      if (!dim)
        return dim.takeError();
      t.dims.push_back(*dim);
    }
    Expected<uint32_t> type = r_.u32(ctx, "the type");
    if (!type)
      return type.takeError();
    Expected<uint64_t> offset = r_.u64(ctx, "the data offset");
    if (!offset)
      return offset.takeError();

    // Shape.
    uint64_t elements = 1;
    for (size_t d = 0; d < t.dims.size(); ++d) {
      if (t.dims[d] == 0)
        return fail(ctx + ": dims " + dimsString(t.dims) + ": dimension " +
                    Twine(d) + " is 0 (every dimension must be >= 1)");
      bool ov = false;
      elements = SaturatingMultiply(elements, t.dims[d], &ov);
      if (ov || elements > static_cast<uint64_t>(INT64_MAX))
        return fail(ctx + ": dims " + dimsString(t.dims) +
                    ": element count overflows int64");
    }

    // Type and byte size.
    std::optional<GGMLType> gt = toGGMLType(*type);
    if (!gt)
      return fail(ctx + ": type " + Twine(*type) +
                  " is not a known ggml type");
    t.type = *gt;
    const uint64_t blck = ggmlBlockSize(*gt), tsize = ggmlTypeSize(*gt);
    if (t.dims[0] % blck != 0)
      return fail(ctx + ": dims " + dimsString(t.dims) + ": dimension 0 (" +
                  Twine(t.dims[0]) + ") is not a multiple of the " +
                  ggmlTypeName(*gt) + " block size " + Twine(blck));
    bool ov = false;
    t.size = SaturatingMultiply(elements / blck, tsize, &ov);
    if (ov)
      return fail(ctx + ": dims " + dimsString(t.dims) + " x " +
                  ggmlTypeName(*gt) + ": byte size overflows 64 bits");

    relOffsets_.push_back(*offset);
    f_.tensors_.push_back(std::move(t));
  }
  return Error::success();
}

Error GGUFParser::placeTensors() {
  const uint64_t fileSize = f_.buffer_->getBufferSize();
  const uint64_t a = f_.alignment_;
  // Round the end of the tensor table up to the alignment (a power of two
  // <= 2^31; pos <= fileSize, so this cannot overflow on a real buffer).
  const uint64_t headerEnd = r_.pos();
  if (headerEnd > UINT64_MAX - (a - 1))
    return fail(path_ + ": data section offset overflows");
  f_.dataOffset_ = alignTo(headerEnd, a);
  if (f_.tensors_.empty())
    return Error::success();
  if (f_.dataOffset_ > fileSize)
    return fail(path_ + ": the data section (at offset " +
                Twine(f_.dataOffset_) + ", the tensor table end " +
                Twine(headerEnd) + " aligned to " + Twine(a) +
                ") starts past the end of the file (" + Twine(fileSize) +
                " bytes)");
  const uint64_t dataSize = fileSize - f_.dataOffset_;

  for (size_t i = 0; i < f_.tensors_.size(); ++i) {
    GGUFTensorInfo &t = f_.tensors_[i];
    const uint64_t rel = relOffsets_[i];
    const std::string ctx = path_ + ": tensor " + quoted(t.name);
    if (rel % a != 0)
      return fail(ctx + ": data offset " + Twine(rel) +
                  " is not a multiple of the alignment " + Twine(a));
    if (rel > dataSize || t.size > dataSize - rel)
      return fail(ctx + ": " + Twine(t.size) + " bytes at data offset " +
                  Twine(rel) + " extend past the end of the file (the data "
                               "section holds " +
                  Twine(dataSize) + " bytes)");
    t.offset = f_.dataOffset_ + rel; // <= fileSize: no overflow
  }

  // Overlaps (every tensor has >= 1 byte).
  std::vector<const GGUFTensorInfo *> byOffset;
  byOffset.reserve(f_.tensors_.size());
  for (const GGUFTensorInfo &t : f_.tensors_)
    byOffset.push_back(&t);
  llvm::sort(byOffset, [](const GGUFTensorInfo *x, const GGUFTensorInfo *y) {
    if (x->offset != y->offset)
      return x->offset < y->offset;
    if (x->size != y->size)
      return x->size < y->size;
    return x->name < y->name;
  });
  for (size_t k = 1; k < byOffset.size(); ++k) {
    const GGUFTensorInfo *prev = byOffset[k - 1], *cur = byOffset[k];
    if (cur->offset < prev->offset + prev->size)
      return fail(path_ + ": tensor " + quoted(cur->name) + " (data [" +
                  Twine(cur->offset - f_.dataOffset_) + ", " +
                  Twine(cur->offset - f_.dataOffset_ + cur->size) +
                  ")) overlaps tensor " + quoted(prev->name) + " (data [" +
                  Twine(prev->offset - f_.dataOffset_) + ", " +
                  Twine(prev->offset - f_.dataOffset_ + prev->size) + "))");
  }
  return Error::success();
}

Error GGUFParser::parse() {
  uint64_t tensorCount = 0, kvCount = 0;
  if (Error e = parseHeader(tensorCount, kvCount))
    return e;
  if (Error e = parseKeyValues(kvCount))
    return e;
  if (Error e = checkAlignment())
    return e;
  if (Error e = parseTensorInfos(tensorCount))
    return e;
  return placeTensors();
}

//===----------------------------------------------------------------------===//
// GGUFFile
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> buf = mapFile(path);
  if (!buf)
    return buf.takeError();
  return fromBuffer(std::move(*buf), path);
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::fromBuffer(std::unique_ptr<MemoryBuffer> buffer, StringRef name) {
  if (!buffer)
    return fail(name + ": no buffer");
  std::unique_ptr<GGUFFile> f(new GGUFFile());
  f->path_ = name.str();
  f->buffer_ = std::move(buffer);
  GGUFParser parser(*f);
  if (Error e = parser.parse())
    return std::move(e);
  return std::move(f);
}

uint64_t GGUFFile::fileSize() const { return buffer_->getBufferSize(); }

const GGUFValue *GGUFFile::lookup(StringRef key) const {
  auto it = kvIndex_.find(key);
  if (it == kvIndex_.end())
    return nullptr;
  return &kvs_[it->second].value;
}

const GGUFTensorInfo *GGUFFile::tensor(StringRef name) const {
  auto it = tensorIndex_.find(name);
  if (it == tensorIndex_.end())
    return nullptr;
  return &tensors_[it->second];
}

ArrayRef<uint8_t> GGUFFile::data(const GGUFTensorInfo &t) const {
  const uint64_t n = buffer_->getBufferSize();
  if (t.offset > n || t.size > n - t.offset)
    return {};
  const auto *base =
      reinterpret_cast<const uint8_t *>(buffer_->getBufferStart());
  return ArrayRef<uint8_t>(base + t.offset, static_cast<size_t>(t.size));
}

Expected<const GGUFValue *> GGUFFile::need(StringRef key,
                                           StringRef expected) const {
  if (const GGUFValue *v = lookup(key))
    return v;
  return fail(path_ + ": key " + quoted(key) + " is missing (expected " +
              expected + ")");
}

Error GGUFFile::typeError(StringRef key, const GGUFValue &v,
                          StringRef expected) const {
  return fail(path_ + ": key " + quoted(key) + " is " + describe(v) +
              ", expected " + expected);
}

Expected<StringRef> GGUFFile::getString(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "string");
  if (!v)
    return v.takeError();
  if (std::optional<StringRef> s = (*v)->asString())
    return *s;
  return typeError(key, **v, "string");
}

namespace {
/// The value of an integer, for messages.
std::string intString(const GGUFValue &v) {
  if (std::optional<int64_t> s = v.asSigned())
    return std::to_string(*s);
  if (std::optional<uint64_t> u = v.asUnsigned())
    return std::to_string(*u);
  return "?";
}
} // namespace

Expected<uint32_t> GGUFFile::getU32(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "an integer");
  if (!v)
    return v.takeError();
  if (!(*v)->isInteger())
    return typeError(key, **v, "an integer");
  std::optional<uint64_t> u = (*v)->asUnsigned();
  if (!u || *u > UINT32_MAX)
    return fail(path_ + ": key " + quoted(key) + " value " +
                intString(**v) + " does not fit in u32");
  return static_cast<uint32_t>(*u);
}

Expected<uint64_t> GGUFFile::getU64(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "an integer");
  if (!v)
    return v.takeError();
  if (!(*v)->isInteger())
    return typeError(key, **v, "an integer");
  std::optional<uint64_t> u = (*v)->asUnsigned();
  if (!u)
    return fail(path_ + ": key " + quoted(key) + " value " +
                intString(**v) + " does not fit in u64");
  return *u;
}

Expected<int64_t> GGUFFile::getI64(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "an integer");
  if (!v)
    return v.takeError();
  if (!(*v)->isInteger())
    return typeError(key, **v, "an integer");
  std::optional<int64_t> s = (*v)->asSigned();
  if (!s)
    return fail(path_ + ": key " + quoted(key) + " value " +
                intString(**v) + " does not fit in i64");
  return *s;
}

namespace {
bool fitsFloat(double d) {
  return !std::isfinite(d) || std::fabs(d) <= static_cast<double>(FLT_MAX);
}

std::string floatString(double d) {
  std::string out;
  raw_string_ostream os(out);
  os << format("%g", d);
  return os.str();
}
} // namespace

Expected<float> GGUFFile::getF32(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "f32");
  if (!v)
    return v.takeError();
  std::optional<double> d = (*v)->asFloat();
  if (!d)
    return typeError(key, **v, "f32");
  if (!fitsFloat(*d))
    return fail(path_ + ": key " + quoted(key) + " value " + floatString(*d) +
                " does not fit in f32");
  return static_cast<float>(*d);
}

Expected<bool> GGUFFile::getBool(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "bool");
  if (!v)
    return v.takeError();
  if (std::optional<bool> b = (*v)->asBool())
    return *b;
  return typeError(key, **v, "bool");
}

Expected<ArrayRef<StringRef>> GGUFFile::getStringArray(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "array of string");
  if (!v)
    return v.takeError();
  if (!(*v)->isArray() || (*v)->elementType() != GGUFValueType::String)
    return typeError(key, **v, "array of string");
  return (*v)->strings();
}

Expected<std::vector<int32_t>> GGUFFile::getI32Array(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "array of integers");
  if (!v)
    return v.takeError();
  const GGUFValue &a = **v;
  if (!a.isArray() || !isIntegerType(a.elementType()))
    return typeError(key, a, "array of integers");
  std::vector<int32_t> out;
  out.reserve(a.size()); // the elements are in the mapping: size is checked
  for (uint64_t i = 0; i < a.size(); ++i) {
    std::optional<int64_t> s = a.signedAt(i);
    if (!s || *s < INT32_MIN || *s > INT32_MAX) {
      std::optional<uint64_t> u = a.unsignedAt(i);
      std::string shown = s ? std::to_string(*s)
                            : u ? std::to_string(*u) : std::string("?");
      return fail(path_ + ": key " + quoted(key) + " element " + Twine(i) +
                  " value " + shown + " does not fit in i32");
    }
    out.push_back(static_cast<int32_t>(*s));
  }
  return std::move(out);
}

Expected<std::vector<float>> GGUFFile::getF32Array(StringRef key) const {
  Expected<const GGUFValue *> v = need(key, "array of f32");
  if (!v)
    return v.takeError();
  const GGUFValue &a = **v;
  if (!a.isArray() || (a.elementType() != GGUFValueType::F32 &&
                       a.elementType() != GGUFValueType::F64))
    return typeError(key, a, "array of f32");
  std::vector<float> out;
  out.reserve(a.size());
  for (uint64_t i = 0; i < a.size(); ++i) {
    double d = a.floatAt(i).value_or(0.0);
    if (!fitsFloat(d))
      return fail(path_ + ": key " + quoted(key) + " element " + Twine(i) +
                  " value " + floatString(d) + " does not fit in f32");
    out.push_back(static_cast<float>(d));
  }
  return std::move(out);
}

} // namespace llmc
