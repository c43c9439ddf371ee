//===- Safetensors.h - Hardened safetensors / HF checkpoint reader -*- C++ -*-===//
//
// Reads Hugging Face safetensors files (one file, or a sharded checkpoint with
// model.safetensors.index.json) without trusting anything in them.
//
// Every count, length, offset and shape in a file is treated as hostile: a bad
// file yields one llvm::Error whose message names the file and, where it
// applies, the tensor. Nothing aborts, asserts or reads out of bounds on bad
// input. Tensor data is never copied: data() returns a view into the
// read-only mapping of the file.
//
// Validation performed by SafetensorsFile::open:
//  - the file holds at least the 8-byte little-endian header length;
//  - header length <= kMaxHeaderSize (100 MB) and <= file size - 8;
//  - the header is UTF-8, nests at most kMaxJSONDepth levels, parses as JSON
//    (trailing spaces, which the format uses as padding, are allowed), and is
//    an object with no duplicate keys at any level;
//  - "__metadata__", if present, is an object of strings;
//  - every other entry is an object with a known "dtype" string, a "shape"
//    array of non-negative integers and "data_offsets" [begin, end] of two
//    non-negative integers with begin <= end;
//  - product(shape) * dtypeSize(dtype) does not overflow and equals end-begin;
//  - [begin, end) lies within the data section (after the header);
//  - non-empty byte ranges of different tensors do not overlap. (Gaps are
//    tolerated; empty tensors may sit anywhere inside the data section.)
//
// Integers are JSON numbers with an exact integer value ("4" or "4.0").
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_SAFETENSORS_H
#define LLMC_COMPILER_FRONTEND_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm::json {
class Value;
} // namespace llvm::json

namespace llmc {

enum class DType {
  F64,
  F32,
  F16,
  BF16,
  I64,
  I32,
  I16,
  I8,
  U8,
  BOOL,
  F8_E4M3,
  F8_E5M2
};

/// The safetensors spelling of a dtype: "F32", "BF16", "F8_E4M3", ...
llvm::StringRef dtypeName(DType);
/// Bytes per element.
unsigned dtypeSize(DType);
/// Parses a safetensors dtype name; std::nullopt if it is not one we know.
std::optional<DType> parseDType(llvm::StringRef name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::string file; ///< path of the .safetensors file holding it
  uint64_t offset = 0; ///< ABSOLUTE byte offset of the data in that file
  uint64_t size = 0;   ///< bytes

  /// Number of elements (product of shape); validated not to overflow.
  uint64_t numElements() const;
};

/// One .safetensors file, memory-mapped read-only.
class SafetensorsFile {
public:
  /// Largest header accepted, in bytes.
  static constexpr uint64_t kMaxHeaderSize = 100ull * 1024 * 1024;
  /// Deepest JSON nesting accepted in a header or index (a valid header nests
  /// 3 levels). Guards llvm::json::parse, which recurses per level.
  static constexpr unsigned kMaxJSONDepth = 64;

  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(llvm::StringRef path);
  /// Same checks over bytes already in memory (tests, fuzzing); `path` is
  /// only used for messages and TensorInfo::file.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef path);

  const std::string &path() const { return path_; }
  /// All tensors of the file, sorted by name.
  llvm::ArrayRef<TensorInfo> tensors() const { return tensors_; }
  /// nullptr if the file has no tensor of that name.
  const TensorInfo *lookup(llvm::StringRef name) const;
  /// The bytes of a tensor inside the mapping (no copy). Returns an empty
  /// array if `t` does not describe a range of this file.
  llvm::ArrayRef<uint8_t> data(const TensorInfo &t) const;
  /// "__metadata__" (string values only); empty if absent.
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }
  /// Size of the whole file in bytes.
  uint64_t fileSize() const;

private:
  SafetensorsFile() = default;

  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  std::vector<TensorInfo> tensors_; // sorted by name
  std::map<std::string, std::string> metadata_;
};

/// A Hugging Face model directory: model.safetensors, or
/// model.safetensors.index.json plus the shards it names. When both exist,
/// model.safetensors is used (as transformers does).
///
/// For an index: "weight_map" must be an object of tensor name -> shard file
/// name; shard names must be plain file names inside the directory; every
/// shard must open and validate; every mapped tensor must be in the shard the
/// map names; a tensor in a shard but absent from the map, or in two shards,
/// is an error.
class Checkpoint {
public:
  static constexpr const char *kSingleFileName = "model.safetensors";
  static constexpr const char *kIndexFileName = "model.safetensors.index.json";
  /// Largest index file accepted, in bytes.
  static constexpr uint64_t kMaxIndexSize = 100ull * 1024 * 1024;

  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef dir);

  const TensorInfo *lookup(llvm::StringRef name) const;
  /// All tensors, sorted by name.
  std::vector<const TensorInfo *> tensors() const { return sorted_; }
  /// The bytes of a tensor (no copy); empty if `t` is not from this
  /// checkpoint's files.
  llvm::ArrayRef<uint8_t> data(const TensorInfo &t) const;
  /// Paths of the .safetensors files, sorted.
  llvm::ArrayRef<std::string> files() const { return files_; }
  /// The opened files, in the order of files().
  llvm::ArrayRef<std::unique_ptr<SafetensorsFile>> shards() const {
    return shards_;
  }

private:
  Checkpoint() = default;
  llvm::Error addShard(std::unique_ptr<SafetensorsFile> f);
  void finish();

  std::vector<std::string> files_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  llvm::StringMap<const SafetensorsFile *> byPath_;
  llvm::StringMap<const TensorInfo *> byName_;
  std::vector<const TensorInfo *> sorted_;
};

/// Checks JSON text before/after llvm::json::parse, neither of which it does
/// itself: nesting depth (parse recurses per level and would overflow the
/// stack on deep input) and duplicate keys in any object (parse silently keeps
/// the last). `what` prefixes error messages (e.g. the file name). Exposed for
/// tests and for other importers.
llvm::Error checkJSONDepth(llvm::StringRef text, unsigned maxDepth,
                           llvm::StringRef what);
/// `text` must already be valid JSON (parse succeeded). Top-level duplicate
/// keys are reported with `topLevelNoun` (e.g. "tensor name").
llvm::Error checkJSONDuplicateKeys(llvm::StringRef text, llvm::StringRef what,
                                   llvm::StringRef topLevelNoun);

/// Message helpers shared by the frontend readers: a string from a file,
/// escaped, quoted and cut to 200 bytes; and "an array", "a number", ... for
/// the kind of a JSON value.
std::string quotedForMessage(llvm::StringRef s);
/// A whole regular file, memory-mapped where LLVM decides it pays (large
/// files); errors name the path.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapRegularFile(llvm::StringRef path);
const char *jsonKindName(const llvm::json::Value &v);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_SAFETENSORS_H
