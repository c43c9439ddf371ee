//===- ConfigFuzz.cpp - libFuzzer entry for config.json --------------------===//
//
// Run: scripts/fuzz.sh llmc-config-fuzz SECONDS (seeds: test/fuzz/config, the
//      fixtures' and the Llama 3 family's config.json files).
//
// Any input must give a LlamaConfig or an llvm::Error; a crash or sanitizer
// report is a bug, and so is an accepted config whose sizes break what the
// importer relies on (checked below).
//===----------------------------------------------------------------------===//

#include "compiler/frontend/HFConfig.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<llmc::LlamaConfig> c = llmc::parseLlamaConfig(text, "config.json");
  if (!c) {
    llvm::consumeError(c.takeError());
    return 0;
  }
  if (c->hiddenSize <= 0 || c->numHeads <= 0 || c->numKvHeads <= 0 ||
      c->numHeads % c->numKvHeads != 0 || c->headDim <= 0 || c->numLayers <= 0 ||
      c->vocabSize <= 0 || c->intermediateSize <= 0 || c->maxPositionEmbeddings <= 0)
    std::abort();
  return 0;
}
