//===- GGUF.h - Hardened GGUF (llama.cpp model file) reader -----*- C++ -*-===//
//
// Reads GGUF files (the format of llama.cpp / ggml, versions 2 and 3) without
// trusting anything in them. This is the parser only: it validates the
// header, the metadata and the tensor table and gives zero-copy views of the
// tensor bytes; turning a model into `llm` IR is the importer's job.
//
// Every count, length, offset, type tag and shape in a file is treated as
// hostile (the GGUF CVEs of 2024-2026 were overflowing counts and string
// lengths, unchecked type indices and huge allocations). A bad file yields
// one llvm::Error whose message names the file and, where it applies, the
// metadata key or the tensor, e.g.
//   model.gguf: tensor 'blk.0.attn_q.weight': type 99 is not a known ggml type
// Nothing aborts, asserts, reads out of bounds or allocates memory in
// proportion to an unchecked count. Metadata strings, arrays of scalars and
// tensor data are never copied: they are views into the read-only mapping.
//
// Layout (all little-endian):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count |
//   kv_count x (string key, u32 value type, value) |
//   tensor_count x (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type,
//                   u64 offset relative to the data section) |
//   padding to `alignment` | data section.
//   string = u64 length + bytes (no NUL); array = u32 element type + u64
//   count + elements.
//
// Validation performed by GGUFFile::open / fromBuffer:
//  - magic "GGUF"; version 3 or 2 (same layout; 2 predates big-endian
//    support only). Version 1 (32-bit counts) is refused with a hint to
//    re-convert; a byte-swapped version is reported as a big-endian file
//    (unsupported); anything else is "newer than this reader".
//  - tensor_count <= kMaxTensors and kv_count <= kMaxKeyValues, and together
//    they fit the bytes left (each kv takes >= 14 bytes, each tensor info
//    >= 33) BEFORE anything is reserved.
//  - every string length <= kMaxStringLength and <= the bytes left; keys are
//    1..kMaxKeyLength printable ASCII bytes; tensor names are
//    1..kMaxTensorNameLength bytes. String values are not checked for UTF-8
//    (a consumer that needs text must check).
//  - value type tags are 0..12; an array's element count fits the bytes left
//    (count x element size for scalars, count x 8 for strings, count x 12 for
//    arrays); arrays of arrays nest at most kMaxArrayNesting levels; the
//    strings and arrays held inside arrays number at most kMaxArrayObjects
//    in the whole file (they are the only metadata that costs memory per
//    element).
//  - no duplicate keys; no duplicate tensor names.
//  - `general.alignment`, if present, is a u32 power of two (default 32).
//  - per tensor: n_dims is 1..4; every dim is >= 1 (ggml tensors have no
//    empty dimension, and llama.cpp's own element-count check divides by the
//    dims); the element count does not exceed INT64_MAX (ggml's int64 ne);
//    the type is a known ggml type (refused by number otherwise); dims[0] is
//    a multiple of the type's block size (every row is whole blocks, as ggml
//    requires); size = count / block size x type size does not overflow.
//  - the data section starts at the end of the tensor table rounded up to
//    `alignment`; every tensor offset is a multiple of `alignment`; every
//    tensor's bytes lie inside the file; no two tensors' bytes overlap. Gaps
//    between tensors are tolerated.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_GGUF_H
#define LLMC_COMPILER_FRONTEND_GGUF_H

#include "dialects/llm/GGMLBlocks.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmc {

/// The known type with this number, or std::nullopt.
std::optional<GGMLType> toGGMLType(uint32_t value);
/// ggml's name of a type: "F32", "Q4_K", "BF16", ...; "?" if unknown.
llvm::StringRef ggmlTypeName(GGMLType);
/// Elements per block (1 for plain types, 32 for Q8_0, 256 for K-quants);
/// 0 for a value that is not a known type.
unsigned ggmlBlockSize(GGMLType);
/// Bytes per block (4 for F32, 34 for Q8_0, ...); 0 for an unknown value.
/// Q8_1 is 36 as in ggml (gguf-py's table says 40; nothing stores Q8_1).
unsigned ggmlTypeSize(GGMLType);

/// GGUF metadata value types, with the file's numbers.
enum class GGUFValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

/// "u8", "i32", "f32", "bool", "string", "array", ...
llvm::StringRef ggufValueTypeName(GGUFValueType);
/// Bytes of a scalar in the file (1 for bool); 0 for string and array.
unsigned ggufScalarSize(GGUFValueType);

/// One metadata value. Strings and arrays of scalars are views into the
/// mapping of the file they came from: a GGUFValue lives as long as its
/// GGUFFile.
class GGUFValue {
public:
  GGUFValueType type() const { return type_; }
  bool isInteger() const;
  bool isFloat() const {
    return type_ == GGUFValueType::F32 || type_ == GGUFValueType::F64;
  }
  bool isString() const { return type_ == GGUFValueType::String; }
  bool isArray() const { return type_ == GGUFValueType::Array; }

  // Scalars: std::nullopt when the value has another type (or, for the
  // integer accessors, does not fit).
  /// Any integer type with a value >= 0.
  std::optional<uint64_t> asUnsigned() const;
  /// Any integer type with a value that fits int64.
  std::optional<int64_t> asSigned() const;
  /// F32 or F64.
  std::optional<double> asFloat() const;
  std::optional<bool> asBool() const;
  std::optional<llvm::StringRef> asString() const;

  // Arrays (size() is 0 and the accessors return nothing for a non-array).
  GGUFValueType elementType() const { return elemType_; }
  uint64_t size() const { return isArray() ? count_ : 0; }
  /// Element `i` of an array of integers / floats / bools, as above.
  std::optional<uint64_t> unsignedAt(uint64_t i) const;
  std::optional<int64_t> signedAt(uint64_t i) const;
  std::optional<double> floatAt(uint64_t i) const;
  std::optional<bool> boolAt(uint64_t i) const;
  /// The elements of an array of strings (empty otherwise).
  llvm::ArrayRef<llvm::StringRef> strings() const { return strings_; }
  /// The elements of an array of arrays (empty otherwise).
  llvm::ArrayRef<GGUFValue> arrays() const { return arrays_; }
  /// The raw little-endian bytes of an array of scalars (empty otherwise).
  llvm::StringRef rawElements() const {
    return isArray() && ggufScalarSize(elemType_) ? raw_ : llvm::StringRef();
  }

private:
  friend class GGUFParser;
  static std::optional<uint64_t> toUnsigned(GGUFValueType, uint64_t bits);
  static std::optional<int64_t> toSigned(GGUFValueType, uint64_t bits);
  static std::optional<double> toFloat(GGUFValueType, uint64_t bits);
  std::optional<uint64_t> bitsAt(uint64_t i) const;

  GGUFValueType type_ = GGUFValueType::U8;
  GGUFValueType elemType_ = GGUFValueType::U8; ///< arrays only
  uint64_t bits_ = 0;  ///< scalars: the value's bits, zero-extended
  uint64_t count_ = 0; ///< arrays: number of elements
  llvm::StringRef raw_; ///< string bytes, or scalar array bytes
  std::vector<llvm::StringRef> strings_;
  std::vector<GGUFValue> arrays_;
};

struct GGUFKeyValue {
  llvm::StringRef key; ///< view into the file's mapping
  GGUFValue value;
};

struct GGUFTensorInfo {
  std::string name;
  /// ggml order: dims[0] varies fastest (the reverse of a PyTorch shape).
  std::vector<uint64_t> dims;
  GGMLType type = GGMLType::F32;
  uint64_t offset = 0; ///< ABSOLUTE byte offset of the data in the file
  uint64_t size = 0;   ///< bytes

  /// Product of dims (validated to fit int64).
  uint64_t numElements() const;
};

/// One .gguf file, memory-mapped read-only.
class GGUFFile {
public:
  static constexpr uint64_t kMaxTensors = 1ull << 20;
  static constexpr uint64_t kMaxKeyValues = 1ull << 20;
  /// Longest string accepted anywhere in the file.
  static constexpr uint64_t kMaxStringLength = 64ull * 1024 * 1024;
  /// Longest metadata key (the GGUF spec's limit, 2^16 - 1).
  static constexpr uint64_t kMaxKeyLength = 65535;
  /// Longest tensor name (the GGUF spec's limit).
  static constexpr uint64_t kMaxTensorNameLength = 64;
  /// Deepest array nesting: an array of scalars is 1, an array of arrays 2.
  static constexpr unsigned kMaxArrayNesting = 4;
  /// Most strings-inside-arrays plus arrays-inside-arrays in one file (a
  /// Llama 3 vocabulary and merge list hold ~410k).
  static constexpr uint64_t kMaxArrayObjects = 1ull << 22;
  static constexpr unsigned kMaxDims = 4;
  static constexpr uint32_t kDefaultAlignment = 32;

  static llvm::Expected<std::unique_ptr<GGUFFile>> open(llvm::StringRef path);
  /// Same checks over bytes already in memory (tests, fuzzing); `name` is
  /// only used in messages.
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  const std::string &path() const { return path_; }
  uint32_t version() const { return version_; }
  /// `general.alignment`, or 32.
  uint64_t alignment() const { return alignment_; }
  /// Absolute offset of the data section: the end of the tensor table
  /// rounded up to alignment(). A file without tensors needs no padding, so
  /// for one this may lie past fileSize().
  uint64_t dataOffset() const { return dataOffset_; }
  uint64_t fileSize() const;

  /// All metadata, in file order.
  llvm::ArrayRef<GGUFKeyValue> metadata() const { return kvs_; }
  /// nullptr if the key is absent.
  const GGUFValue *lookup(llvm::StringRef key) const;

  // Typed metadata getters. The error names the file and the key: missing,
  // wrong type, or value out of range.
  /// A string value (a view into the mapping).
  llvm::Expected<llvm::StringRef> getString(llvm::StringRef key) const;
  /// Any integer type whose value fits.
  llvm::Expected<uint32_t> getU32(llvm::StringRef key) const;
  llvm::Expected<uint64_t> getU64(llvm::StringRef key) const;
  llvm::Expected<int64_t> getI64(llvm::StringRef key) const;
  /// F32, or F64 within float's range.
  llvm::Expected<float> getF32(llvm::StringRef key) const;
  llvm::Expected<bool> getBool(llvm::StringRef key) const;
  /// An array of strings (views into the mapping).
  llvm::Expected<llvm::ArrayRef<llvm::StringRef>>
  getStringArray(llvm::StringRef key) const;
  /// An array of any integer type whose elements all fit int32.
  llvm::Expected<std::vector<int32_t>> getI32Array(llvm::StringRef key) const;
  /// An array of F32 (or F64 within float's range).
  llvm::Expected<std::vector<float>> getF32Array(llvm::StringRef key) const;

  /// All tensors, in file order.
  llvm::ArrayRef<GGUFTensorInfo> tensors() const { return tensors_; }
  /// nullptr if the file has no tensor of that name.
  const GGUFTensorInfo *tensor(llvm::StringRef name) const;
  /// The bytes of a tensor inside the mapping (no copy). Empty if `t` does
  /// not describe a range of this file.
  llvm::ArrayRef<uint8_t> data(const GGUFTensorInfo &t) const;

private:
  friend class GGUFParser;
  GGUFFile() = default;
  llvm::Expected<const GGUFValue *> need(llvm::StringRef key,
                                         llvm::StringRef expected) const;
  llvm::Error typeError(llvm::StringRef key, const GGUFValue &v,
                        llvm::StringRef expected) const;

  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t dataOffset_ = 0;
  std::vector<GGUFKeyValue> kvs_;
  llvm::StringMap<size_t> kvIndex_;
  std::vector<GGUFTensorInfo> tensors_;
  llvm::StringMap<size_t> tensorIndex_;
};

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_GGUF_H
