//===- llmc-gguf-dump.cpp - Print what the GGUF reader sees in a file -----===//
//
// Usage: llmc-gguf-dump FILE.gguf
//
// Prints the header, every metadata key with its type (and its value, or the
// first elements of an array) and every tensor with its ggml type, dims (ggml
// order), absolute data offset and byte size. A bad file prints the reader's
// error to stderr and exits 1. Used by test/gguf/read-gguf.test, which also
// checks the offsets and sizes against gguf-py's GGUFReader.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUF.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace llmc;

namespace {

constexpr uint64_t kShownElements = 4;

void printString(raw_ostream &os, StringRef s) {
  os << '"';
  os.write_escaped(s.take_front(80));
  if (s.size() > 80)
    os << "...";
  os << '"';
}

void printScalar(raw_ostream &os, GGUFValueType t, std::optional<uint64_t> u,
                 std::optional<int64_t> i, std::optional<double> f,
                 std::optional<bool> b) {
  if (t == GGUFValueType::Bool && b)
    os << (*b ? "true" : "false");
  else if ((t == GGUFValueType::F32 || t == GGUFValueType::F64) && f)
    os << format("%g", *f);
  else if (i)
    os << *i;
  else if (u)
    os << *u;
  else
    os << '?';
}

void printValue(raw_ostream &os, const GGUFValue &v) {
  if (v.isString()) {
    printString(os, *v.asString());
    return;
  }
  if (!v.isArray()) {
    printScalar(os, v.type(), v.asUnsigned(), v.asSigned(), v.asFloat(),
                v.asBool());
    return;
  }
  os << '[';
  const uint64_t n = std::min<uint64_t>(v.size(), kShownElements);
  for (uint64_t k = 0; k < n; ++k) {
    if (k)
      os << ", ";
    switch (v.elementType()) {
    case GGUFValueType::String:
      printString(os, v.strings()[k]);
      break;
    case GGUFValueType::Array:
      printValue(os, v.arrays()[k]);
      break;
    default:
      printScalar(os, v.elementType(), v.unsignedAt(k), v.signedAt(k),
                  v.floatAt(k), v.boolAt(k));
      break;
    }
  }
  if (v.size() > n)
    os << ", ...";
  os << ']';
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (argc != 2) {
    errs() << "usage: llmc-gguf-dump FILE.gguf\n";
    return 2;
  }
  Expected<std::unique_ptr<GGUFFile>> f = GGUFFile::open(argv[1]);
  if (!f) {
    errs() << "llmc-gguf-dump: error: " << toString(f.takeError()) << "\n";
    return 1;
  }
  const GGUFFile &g = **f;
  raw_ostream &os = outs();
  os << "version: " << g.version() << "\n";
  os << "alignment: " << g.alignment() << "\n";
  os << "data_offset: " << g.dataOffset() << "\n";
  os << "file_size: " << g.fileSize() << "\n";
  os << "metadata: " << g.metadata().size() << "\n";
  for (const GGUFKeyValue &kv : g.metadata()) {
    const GGUFValue &v = kv.value;
    os << "  " << kv.key << ": ";
    if (v.isArray())
      os << "array of " << ggufValueTypeName(v.elementType()) << " ["
         << v.size() << "]";
    else
      os << ggufValueTypeName(v.type());
    os << " = ";
    printValue(os, v);
    os << "\n";
  }
  os << "tensors: " << g.tensors().size() << "\n";
  for (const GGUFTensorInfo &t : g.tensors()) {
    os << "  " << t.name << ": " << ggmlTypeName(t.type) << " [";
    interleave(t.dims, os, ", ");
    os << "] offset=" << t.offset << " size=" << t.size << "\n";
  }
  return 0;
}
