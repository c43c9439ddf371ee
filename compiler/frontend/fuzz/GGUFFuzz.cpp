//===- GGUFFuzz.cpp - libFuzzer entry for the GGUF reader -----------------===//
//
// Build: cmake -G Ninja -B build-fuzz -DLLMC_FUZZ=ON \
//          -DCMAKE_CXX_COMPILER=/usr/lib/llvm-19/bin/clang++ \
//          -DCMAKE_C_COMPILER=/usr/lib/llvm-19/bin/clang
//        ninja -C build-fuzz llmc-gguf-fuzz
// Run:   scripts/fuzz.sh llmc-gguf-fuzz SECONDS (seeds: test/fuzz/gguf, small
//        .gguf files from test/gguf/make_gguf.py, with and without a
//        tokenizer)
//
// Any input must give either a validated file or an llvm::Error; a crash,
// sanitizer report, out-of-bounds data() view, or a validated file that
// breaks one of the header's promises (checked below) is a bug.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUF.h"
#include "compiler/frontend/GGUFTokenizer.h"
#include "runtime/include/llmc_tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

/// Walks a value; everything reachable must be consistent and in bounds.
unsigned walk(const llmc::GGUFValue &v, unsigned depth) {
  check(depth <= llmc::GGUFFile::kMaxArrayNesting);
  unsigned sum = 0;
  if (std::optional<llvm::StringRef> s = v.asString())
    for (char c : *s)
      sum += static_cast<unsigned char>(c);
  if (!v.isArray())
    return sum + static_cast<unsigned>(v.asUnsigned().value_or(0));
  switch (v.elementType()) {
  case llmc::GGUFValueType::String:
    check(v.strings().size() == v.size());
    for (llvm::StringRef s : v.strings())
      sum += s.size() ? static_cast<unsigned char>(s.back()) : 0;
    break;
  case llmc::GGUFValueType::Array:
    check(v.arrays().size() == v.size());
    for (const llmc::GGUFValue &e : v.arrays())
      sum += walk(e, depth + 1);
    break;
  default:
    check(v.rawElements().size() ==
          v.size() * llmc::ggufScalarSize(v.elementType()));
    if (v.size()) {
      // First and last element decode through the checked accessors.
      check(v.unsignedAt(0) || v.signedAt(0) || v.floatAt(0) || v.boolAt(0));
      check(v.unsignedAt(v.size() - 1) || v.signedAt(v.size() - 1) ||
            v.floatAt(v.size() - 1) || v.boolAt(v.size() - 1));
    }
    check(!v.unsignedAt(v.size()) && !v.floatAt(v.size()));
    break;
  }
  return sum;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto f = llmc::GGUFFile::fromBuffer(
      llvm::MemoryBuffer::getMemBuffer(bytes, "fuzz.gguf",
                                       /*RequiresNullTerminator=*/false),
      "fuzz.gguf");
  if (!f) {
    llvm::consumeError(f.takeError());
    return 0;
  }
  const llmc::GGUFFile &g = **f;
  unsigned sum = 0;
  check(g.version() == 2 || g.version() == 3);
  check(g.alignment() != 0 && (g.alignment() & (g.alignment() - 1)) == 0);
  for (const llmc::GGUFKeyValue &kv : g.metadata()) {
    check(g.lookup(kv.key) == &kv.value);
    sum += walk(kv.value, 0);
    // The typed getters must answer (value or error) without crashing.
    if (auto s = g.getString(kv.key); !s)
      llvm::consumeError(s.takeError());
    if (auto u = g.getU32(kv.key); !u)
      llvm::consumeError(u.takeError());
    if (auto i = g.getI64(kv.key); !i)
      llvm::consumeError(i.takeError());
    if (auto x = g.getF32(kv.key); !x)
      llvm::consumeError(x.takeError());
    if (auto a = g.getStringArray(kv.key); !a)
      llvm::consumeError(a.takeError());
    if (auto a = g.getI32Array(kv.key); !a)
      llvm::consumeError(a.takeError());
    if (auto a = g.getF32Array(kv.key); !a)
      llvm::consumeError(a.takeError());
  }
  // Touch every byte of every tensor: views must lie inside the input.
  for (const llmc::GGUFTensorInfo &t : g.tensors()) {
    llvm::ArrayRef<uint8_t> d = g.data(t);
    check(d.size() == t.size && t.size > 0 && g.tensor(t.name) == &t);
    check(t.offset % g.alignment() == 0 && t.offset >= g.dataOffset());
    check(!t.dims.empty() && t.dims.size() <= llmc::GGUFFile::kMaxDims);
    check(t.numElements() / llmc::ggmlBlockSize(t.type) *
              llmc::ggmlTypeSize(t.type) ==
          t.size);
    for (uint8_t b : d)
      sum += b;
  }
  // The tokenizer metadata: a blob or an error; a blob the compiler makes
  // must pass the runtime's own validation.
  auto blob = llmc::buildGGUFTokenizerBlob(g, "fuzz.gguf");
  if (!blob) {
    llvm::consumeError(blob.takeError());
  } else if (*blob) {
    llmc_tokenizer t;
    check(llmc_tokenizer_init((*blob)->data(), (*blob)->size(), &t) == LLMC_OK);
  }
  volatile unsigned sink = sum;
  (void)sink;
  return 0;
}
