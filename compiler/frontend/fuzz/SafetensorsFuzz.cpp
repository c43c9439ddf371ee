//===- SafetensorsFuzz.cpp - libFuzzer entry for the safetensors reader ---===//
//
// Build: cmake -G Ninja -B build-fuzz -DLLMC_FUZZ=ON \
//          -DCMAKE_CXX_COMPILER=/usr/lib/llvm-19/bin/clang++ \
//          -DCMAKE_C_COMPILER=/usr/lib/llvm-19/bin/clang
//        ninja -C build-fuzz llmc-safetensors-fuzz
// Run:   build-fuzz/bin/llmc-safetensors-fuzz -max_len=4096 CORPUS_DIR
//
// Any input must give either a validated file or an llvm::Error; a crash,
// sanitizer report or out-of-bounds data() view is a bug.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto f = llmc::SafetensorsFile::fromBuffer(
      llvm::MemoryBuffer::getMemBuffer(bytes, "fuzz.safetensors",
                                       /*RequiresNullTerminator=*/false),
      "fuzz.safetensors");
  if (!f) {
    llvm::consumeError(f.takeError());
    return 0;
  }
  // Touch every byte of every tensor: views must lie inside the input.
  unsigned sum = 0;
  for (const llmc::TensorInfo &t : (*f)->tensors()) {
    llvm::ArrayRef<uint8_t> d = (*f)->data(t);
    if (d.size() != t.size || (*f)->lookup(t.name) != &t)
      std::abort();
    for (uint8_t b : d)
      sum += b;
  }
  for (const auto &kv : (*f)->metadata())
    sum += kv.first.size() + kv.second.size();
  volatile unsigned sink = sum;
  (void)sink;
  return 0;
}
