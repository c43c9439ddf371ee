//===- Safetensors.cpp - Hardened safetensors / HF checkpoint reader ------===//
//
// See Safetensors.h for the format checks. Conventions here: every error is
// built by fail(), which prefixes the file; every size computation is
// overflow-checked; nothing indexes the mapping without a bounds check.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <set>

using namespace llvm;

namespace llmc {

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

namespace {
struct DTypeEntry {
  DType dtype;
  const char *name;
  unsigned size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8},         {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},         {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},           {DType::BOOL, "BOOL", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};
} // namespace

StringRef dtypeName(DType t) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == t)
      return e.name;
  return "?";
}

unsigned dtypeSize(DType t) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == t)
      return e.size;
  return 0;
}

std::optional<DType> parseDType(StringRef name) {
  for (const DTypeEntry &e : kDTypes)
    if (name == e.name)
      return e.dtype;
  return std::nullopt;
}

uint64_t TensorInfo::numElements() const {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return 0;
    uint64_t r;
    bool overflow = false;
    r = SaturatingMultiply(n, static_cast<uint64_t>(d), &overflow);
    if (overflow)
      return UINT64_MAX;
    n = r;
  }
  return n;
}

Expected<std::unique_ptr<MemoryBuffer>> mapRegularFile(StringRef path) {
  auto fail = [](const Twine &msg) {
    return createStringError(inconvertibleErrorCode(), msg);
  };
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return fail(path + ": cannot open: " + ec.message());
  if (st.type() != sys::fs::file_type::regular_file)
    return fail(path + ": not a regular file");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buf =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false,
                            /*IsVolatile=*/false);
  if (!buf)
    return fail(path + ": cannot open: " + buf.getError().message());
  return std::move(*buf);
}

std::string quotedForMessage(StringRef s) {
  constexpr size_t kMax = 200;
  std::string out;
  raw_string_ostream os(out);
  os << '\'';
  os.write_escaped(s.take_front(kMax));
  if (s.size() > kMax)
    os << "...";
  os << '\'';
  return os.str();
}

const char *jsonKindName(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

Error fail(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

std::string quoted(StringRef s) { return quotedForMessage(s); }
const char *kindName(const json::Value &v) { return jsonKindName(v); }

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string out;
  raw_string_ostream os(out);
  os << '[';
  llvm::interleave(shape, os, ", ");
  os << ']';
  return os.str();
}


/// Non-negative integer (int64 or uint64 JSON number with an exact integer
/// value), with a reason when it is not.
std::optional<uint64_t> asU64(const json::Value &v, std::string &why) {
  if (std::optional<uint64_t> u = v.getAsUINT64())
    return u;
  if (std::optional<int64_t> i = v.getAsInteger()) {
    if (*i >= 0)
      return static_cast<uint64_t>(*i);
    why = "negative (" + std::to_string(*i) + ")";
    return std::nullopt;
  }
  if (v.kind() == json::Value::Number)
    why = "not an integer";
  else
    why = std::string(kindName(v)) + ", not an integer";
  return std::nullopt;
}

Expected<std::unique_ptr<MemoryBuffer>> mapFile(StringRef path) {
  return mapRegularFile(path);
}

/// Validates that `text` is UTF-8, nests shallowly, parses and has no
/// duplicate keys; returns the parsed value.
Expected<json::Value> parseStrictJSON(StringRef text, StringRef what,
                                      StringRef topLevelNoun) {
  if (!json::isUTF8(text))
    return fail(what + ": not valid UTF-8");
  if (Error e =
          checkJSONDepth(text, SafetensorsFile::kMaxJSONDepth, what))
    return std::move(e);
  Expected<json::Value> v = json::parse(text);
  if (!v)
    return fail(what + ": invalid JSON: " + toString(v.takeError()));
  if (Error e = checkJSONDuplicateKeys(text, what, topLevelNoun))
    return std::move(e);
  return std::move(*v);
}

} // namespace

//===----------------------------------------------------------------------===//
// JSON pre/post checks
//===----------------------------------------------------------------------===//

Error checkJSONDepth(StringRef text, unsigned maxDepth, StringRef what) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, n = text.size(); i < n; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i; // skip the escaped character (bounds rechecked by the loop)
      else if (c == '"')
        inString = false;
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      break;
    case '{':
    case '[':
      if (++depth > maxDepth)
        return fail(what + ": JSON nests deeper than " + Twine(maxDepth) +
                    " levels");
      break;
    case '}':
    case ']':
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return Error::success();
}

Error checkJSONDuplicateKeys(StringRef text, StringRef what,
                             StringRef topLevelNoun) {
  struct Frame {
    bool isObject;
    bool expectKey;
    StringSet<> keys;
  };
  std::vector<Frame> stack;
  size_t i = 0, n = text.size();
  while (i < n) {
    char c = text[i];
    if (c == '"') {
      size_t k = i + 1;
      bool escaped = false;
      while (k < n && text[k] != '"') {
        if (text[k] == '\\') {
          escaped = true;
          ++k;
        }
        ++k;
      }
      if (k >= n)
        break; // unterminated; cannot happen for text that parsed
      StringRef raw = text.slice(i, k + 1);
      i = k + 1;
      if (stack.empty() || !stack.back().isObject || !stack.back().expectKey)
        continue;
      stack.back().expectKey = false;
      std::string key;
      if (!escaped) {
        key = raw.drop_front().drop_back().str();
      } else {
        // Decode escapes (e.g. "\u0061" == "a") with the real parser.
        Expected<json::Value> decoded = json::parse(raw);
        if (!decoded) {
          consumeError(decoded.takeError());
          key = raw.str();
        } else if (std::optional<StringRef> s = decoded->getAsString()) {
          key = s->str();
        } else {
          key = raw.str();
        }
      }
      if (!stack.back().keys.insert(key).second) {
        if (stack.size() == 1)
          return fail(what + ": duplicate " + topLevelNoun + " " +
                      quoted(key));
        return fail(what + ": duplicate key " + quoted(key));
      }
      continue;
    }
    switch (c) {
    case '{':
      stack.push_back(Frame{true, true, {}});
      break;
    case '[':
      stack.push_back(Frame{false, false, {}});
      break;
    case '}':
    case ']':
      if (!stack.empty())
        stack.pop_back();
      break;
    case ',':
      if (!stack.empty() && stack.back().isObject)
        stack.back().expectKey = true;
      break;
    default:
      break;
    }
    ++i;
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> buf = mapFile(path);
  if (!buf)
    return buf.takeError();
  return fromBuffer(std::move(*buf), path);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::fromBuffer(std::unique_ptr<MemoryBuffer> buffer,
                            StringRef path) {
  if (!buffer)
    return fail(path + ": no buffer");
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path.str();
  f->buffer_ = std::move(buffer);
  const StringRef bytes = f->buffer_->getBuffer();
  const uint64_t fileSize = bytes.size();

  // 1. Header length.
  if (fileSize < 8)
    return fail(path + ": file is " + Twine(fileSize) +
                " bytes, too short for the 8-byte header length");
  const uint64_t headerLen =
      support::endian::read64le(reinterpret_cast<const void *>(bytes.data()));
  if (headerLen > kMaxHeaderSize)
    return fail(path + ": header length " + Twine(headerLen) +
                " exceeds the limit of " + Twine(kMaxHeaderSize) + " bytes");
  if (headerLen > fileSize - 8)
    return fail(path + ": header length " + Twine(headerLen) +
                " exceeds the " + Twine(fileSize - 8) +
                " bytes that follow it in the file");
  const uint64_t dataStart = 8 + headerLen;
  const uint64_t dataSize = fileSize - dataStart;

  // 2. Header JSON (trailing spaces are valid JSON whitespace).
  Expected<json::Value> root =
      parseStrictJSON(bytes.substr(8, headerLen), (path + ": header").str(),
                      "tensor name");
  if (!root)
    return root.takeError();
  json::Object *obj = root->getAsObject();
  if (!obj)
    return fail(path + ": header is " + kindName(*root) +
                ", not a JSON object");

  // 3. Entries.
  for (auto &kv : *obj) {
    StringRef name = kv.first;
    const json::Value &value = kv.second;

    if (name == "__metadata__") {
      const json::Object *meta = value.getAsObject();
      if (!meta)
        return fail(path + ": __metadata__ is " + kindName(value) +
                    ", not an object");
      for (auto &m : *meta) {
        std::optional<StringRef> s = m.second.getAsString();
        if (!s)
          return fail(path + ": __metadata__ value for " +
                      quoted(m.first) + " is " + kindName(m.second) +
                      ", not a string");
        f->metadata_.emplace(m.first.str(), s->str());
      }
      continue;
    }

    const std::string where = (path + ": tensor " + quoted(name)).str();
    if (name.empty())
      return fail(path + ": empty tensor name");
    const json::Object *entry = value.getAsObject();
    if (!entry)
      return fail(where + ": entry is " + kindName(value) +
                  ", not an object");

    TensorInfo t;
    t.name = name.str();
    t.file = f->path_;

    // dtype
    const json::Value *dtypeV = entry->get("dtype");
    if (!dtypeV)
      return fail(where + ": missing \"dtype\"");
    std::optional<StringRef> dtypeS = dtypeV->getAsString();
    if (!dtypeS)
      return fail(where + ": \"dtype\" is " + kindName(*dtypeV) +
                  ", not a string");
    std::optional<DType> dtype = parseDType(*dtypeS);
    if (!dtype)
      return fail(where + ": unknown dtype " + quoted(*dtypeS));
    t.dtype = *dtype;

    // shape
    const json::Value *shapeV = entry->get("shape");
    if (!shapeV)
      return fail(where + ": missing \"shape\"");
    const json::Array *shapeA = shapeV->getAsArray();
    if (!shapeA)
      return fail(where + ": \"shape\" is " + kindName(*shapeV) +
                  ", not an array");
    uint64_t nonZeroProduct = 1;
    bool hasZeroDim = false;
    bool elementsOverflow = false;
    for (size_t d = 0; d < shapeA->size(); ++d) {
      std::string why;
      std::optional<uint64_t> dim = asU64((*shapeA)[d], why);
      if (!dim)
        return fail(where + ": shape dimension " + Twine(d) + " is " + why);
      if (*dim > static_cast<uint64_t>(INT64_MAX))
        return fail(where + ": shape dimension " + Twine(d) + " (" +
                    Twine(*dim) + ") is too large");
      t.shape.push_back(static_cast<int64_t>(*dim));
      // Overflow is judged on the non-zero dims, so [0, 2^62, 2^62] is
      // rejected like [2^62, 2^62, 0]: later stride arithmetic must not wrap.
      if (*dim != 0) {
        bool ov = false;
        nonZeroProduct = SaturatingMultiply(nonZeroProduct, *dim, &ov);
        elementsOverflow |= ov;
      } else {
        hasZeroDim = true;
      }
    }
    const uint64_t elements = hasZeroDim ? 0 : nonZeroProduct;

    // data_offsets
    const json::Value *offV = entry->get("data_offsets");
    if (!offV)
      return fail(where + ": missing \"data_offsets\"");
    const json::Array *offA = offV->getAsArray();
    if (!offA)
      return fail(where + ": \"data_offsets\" is " + kindName(*offV) +
                  ", not an array");
    if (offA->size() != 2)
      return fail(where + ": \"data_offsets\" has " + Twine(offA->size()) +
                  " elements, expected 2 ([begin, end])");
    std::string why;
    std::optional<uint64_t> begin = asU64((*offA)[0], why);
    if (!begin)
      return fail(where + ": data_offsets begin is " + why);
    std::optional<uint64_t> end = asU64((*offA)[1], why);
    if (!end)
      return fail(where + ": data_offsets end is " + why);
    if (*begin > *end)
      return fail(where + ": data_offsets [" + Twine(*begin) + ", " +
                  Twine(*end) + ") begin is after end");

    // size = product(shape) * dtype size, checked.
    const uint64_t span = *end - *begin;
    const std::string need =
        shapeString(t.shape) + " x " + dtypeName(t.dtype).str();
    bool ov = elementsOverflow;
    uint64_t needBytes = 0;
    if (!ov) {
      // Also require the non-zero product in bytes to fit.
      (void)SaturatingMultiply(nonZeroProduct, uint64_t(dtypeSize(t.dtype)),
                               &ov);
      needBytes = elements * uint64_t(dtypeSize(t.dtype)); // <= the above
    }
    if (ov)
      return fail(where + ": byte size of shape " + need +
                  " overflows 64 bits");
    if (needBytes != span)
      return fail(where + ": data_offsets [" + Twine(*begin) + ", " +
                  Twine(*end) + ") hold " + Twine(span) + " bytes but shape " +
                  need + " needs " + Twine(needBytes));

    // Inside the data section.
    if (*end > dataSize)
      return fail(where + ": data_offsets [" + Twine(*begin) + ", " +
                  Twine(*end) + ") extend past the data section of " +
                  Twine(dataSize) + " bytes");
    t.offset = dataStart + *begin; // <= fileSize, cannot overflow
    t.size = span;
    f->tensors_.push_back(std::move(t));
  }

  // 4. Overlaps among non-empty ranges.
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &t : f->tensors_)
    if (t.size != 0)
      byOffset.push_back(&t);
  llvm::sort(byOffset, [](const TensorInfo *a, const TensorInfo *b) {
    if (a->offset != b->offset)
      return a->offset < b->offset;
    if (a->size != b->size)
      return a->size < b->size;
    return a->name < b->name;
  });
  for (size_t k = 1; k < byOffset.size(); ++k) {
    const TensorInfo *prev = byOffset[k - 1], *cur = byOffset[k];
    if (cur->offset < prev->offset + prev->size)
      return fail(path + ": tensor " + quoted(cur->name) + " (data_offsets [" +
                  Twine(cur->offset - dataStart) + ", " +
                  Twine(cur->offset - dataStart + cur->size) +
                  ")) overlaps tensor " + quoted(prev->name) +
                  " (data_offsets [" + Twine(prev->offset - dataStart) + ", " +
                  Twine(prev->offset - dataStart + prev->size) + "))");
  }

  llvm::sort(f->tensors_, [](const TensorInfo &a, const TensorInfo &b) {
    return a.name < b.name;
  });
  return std::move(f);
}

const TensorInfo *SafetensorsFile::lookup(StringRef name) const {
  auto it = llvm::partition_point(
      tensors_, [&](const TensorInfo &t) { return StringRef(t.name) < name; });
  if (it == tensors_.end() || it->name != name)
    return nullptr;
  return &*it;
}

ArrayRef<uint8_t> SafetensorsFile::data(const TensorInfo &t) const {
  const uint64_t n = buffer_->getBufferSize();
  if (t.file != path_ || t.offset > n || t.size > n - t.offset)
    return {};
  const auto *base =
      reinterpret_cast<const uint8_t *>(buffer_->getBufferStart());
  return ArrayRef<uint8_t>(base + t.offset, static_cast<size_t>(t.size));
}

uint64_t SafetensorsFile::fileSize() const {
  return buffer_->getBufferSize();
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

namespace {

/// A shard named by the index must be a plain file name in the model
/// directory: nothing that could leave it.
bool isPlainFileName(StringRef name) {
  if (name.empty() || name == "." || name == "..")
    return false;
  for (char c : name)
    if (c == '/' || c == '\\' || c == ':' || c == '\0' ||
        static_cast<unsigned char>(c) < 0x20)
      return false;
  return !sys::path::is_absolute(name);
}

std::string joinPath(StringRef dir, StringRef name) {
  SmallString<256> p(dir);
  sys::path::append(p, name);
  return std::string(p.str());
}

} // namespace

Error Checkpoint::addShard(std::unique_ptr<SafetensorsFile> f) {
  for (const TensorInfo &t : f->tensors()) {
    auto [it, inserted] = byName_.try_emplace(t.name, &t);
    if (!inserted)
      return fail("tensor " + quoted(t.name) + " is in both " +
                  it->second->file + " and " + t.file);
  }
  files_.push_back(f->path());
  byPath_[f->path()] = f.get();
  shards_.push_back(std::move(f));
  return Error::success();
}

void Checkpoint::finish() {
  sorted_.clear();
  sorted_.reserve(byName_.size());
  for (auto &kv : byName_)
    sorted_.push_back(kv.second);
  llvm::sort(sorted_, [](const TensorInfo *a, const TensorInfo *b) {
    return a->name < b->name;
  });
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef dir) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(dir, st))
    return fail(dir + ": cannot open model directory: " + ec.message());
  if (st.type() != sys::fs::file_type::directory_file)
    return fail(dir + ": not a directory");

  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  const std::string single = joinPath(dir, kSingleFileName);
  const std::string index = joinPath(dir, kIndexFileName);

  // Both files: the index must describe exactly the single file (it is
  // checked below like any index); an index for other shards, or a broken
  // one, is an error rather than silently ignored.
  const bool hasSingle = sys::fs::exists(single);
  if (hasSingle && !sys::fs::exists(index)) {
    Expected<std::unique_ptr<SafetensorsFile>> f =
        SafetensorsFile::open(single);
    if (!f)
      return f.takeError();
    if (Error e = ck->addShard(std::move(*f)))
      return std::move(e);
    ck->finish();
    return std::move(ck);
  }

  if (!sys::fs::exists(index))
    return fail(dir + ": no " + kSingleFileName + " or " + kIndexFileName +
                " in the model directory");

  // Index.
  Expected<std::unique_ptr<MemoryBuffer>> buf = mapFile(index);
  if (!buf)
    return buf.takeError();
  StringRef text = (*buf)->getBuffer();
  if (text.size() > kMaxIndexSize)
    return fail(index + ": " + Twine(text.size()) +
                " bytes exceeds the limit of " + Twine(kMaxIndexSize));
  Expected<json::Value> root = parseStrictJSON(text, index, "key");
  if (!root)
    return root.takeError();
  const json::Object *obj = root->getAsObject();
  if (!obj)
    return fail(index + ": is " + kindName(*root) + ", not a JSON object");
  const json::Value *wmV = obj->get("weight_map");
  if (!wmV)
    return fail(index + ": missing \"weight_map\"");
  const json::Object *wm = wmV->getAsObject();
  if (!wm)
    return fail(index + ": \"weight_map\" is " + kindName(*wmV) +
                ", not an object");
  if (wm->empty())
    return fail(index + ": \"weight_map\" is empty");

  std::map<std::string, std::string> weightMap; // sorted: stable errors
  for (auto &kv : *wm) {
    std::optional<StringRef> shard = kv.second.getAsString();
    if (!shard)
      return fail(index + ": weight_map entry for tensor " + quoted(kv.first) +
                  " is " + kindName(kv.second) + ", not a string");
    weightMap.emplace(kv.first.str(), shard->str());
  }
  std::set<std::string> shardNames;
  for (auto &kv : weightMap) {
    if (!isPlainFileName(kv.second))
      return fail(index + ": weight_map entry for tensor " + quoted(kv.first) +
                  " names shard " + quoted(kv.second) +
                  ", which is not a plain file name in the model directory");
    shardNames.insert(kv.second);
  }
  if (hasSingle && (shardNames.size() != 1 || *shardNames.begin() != kSingleFileName))
    return fail(dir + ": both " + kSingleFileName + " and " + kIndexFileName +
                " are here, and the index names other shards (" +
                quoted(*shardNames.begin()) +
                (shardNames.size() > 1 ? ", ..." : "") +
                "): remove the one that does not belong");
  buf->reset(); // the index text is no longer needed

  std::map<std::string, const SafetensorsFile *> byShardName;
  for (const std::string &name : shardNames) {
    const std::string path = joinPath(dir, name);
    if (!sys::fs::exists(path))
      return fail(index + ": shard " + quoted(name) + " does not exist (" +
                  path + ")");
    Expected<std::unique_ptr<SafetensorsFile>> f = SafetensorsFile::open(path);
    if (!f)
      return f.takeError();
    const SafetensorsFile *raw = f->get();
    // Every tensor in the shard must be mapped to this shard.
    for (const TensorInfo &t : raw->tensors()) {
      auto it = weightMap.find(t.name);
      if (it == weightMap.end())
        return fail(path + ": tensor " + quoted(t.name) + " is not in " +
                    index + " weight_map");
      if (it->second != name) {
        // Either it really is in two shards, or the map points elsewhere.
        return fail(path + ": tensor " + quoted(t.name) +
                    " is in this shard but weight_map puts it in " +
                    quoted(it->second));
      }
    }
    if (Error e = ck->addShard(std::move(*f)))
      return std::move(e);
    byShardName[name] = raw;
  }

  // Every mapped tensor must be in the shard the map names.
  for (auto &kv : weightMap) {
    const SafetensorsFile *f = byShardName[kv.second];
    if (!f || !f->lookup(kv.first))
      return fail(index + ": weight_map puts tensor " + quoted(kv.first) +
                  " in shard " + quoted(kv.second) +
                  ", which has no such tensor");
  }

  ck->finish();
  return std::move(ck);
}

const TensorInfo *Checkpoint::lookup(StringRef name) const {
  return byName_.lookup(name);
}

ArrayRef<uint8_t> Checkpoint::data(const TensorInfo &t) const {
  const SafetensorsFile *f = byPath_.lookup(t.file);
  if (!f)
    return {};
  return f->data(t);
}

} // namespace llmc
