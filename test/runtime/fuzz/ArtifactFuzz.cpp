//===- ArtifactFuzz.cpp - libFuzzer entry for the artifact loader --------===//
//
// Run: scripts/fuzz.sh llmc-artifact-fuzz SECONDS. Seeds: real artifacts,
//      built by scripts/fuzz.sh from the test fixtures (they must match this
//      build's format, so they are made, not committed).
//
// The input is an artifact. The harness recomputes the metadata checksum in
// its header (anyone can), so mutations reach the verifier, the loader's
// checks and the code record's comparison instead of stopping at the hash,
// then opens it from memory with LLMC_OPEN_METADATA_ONLY (a fuzzed payload is
// never loaded as code) and reads everything the API hands out: info, every
// dispatch, the tokenizer (encode and decode). A crash, sanitizer report or
// hang is a bug; every failure must be a status with a message.
//===----------------------------------------------------------------------===//

#include "runtime/include/llmc.h"
#include "runtime/include/llmc_format.h"
#include "runtime/include/llmc_tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
void check(bool ok) {
  if (!ok)
    std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // 64-byte aligned, as the runtime requires of memory it maps.
  void *p = std::aligned_alloc(64, (size + 64) / 64 * 64);
  std::memcpy(p, data, size);
  uint8_t *bytes = static_cast<uint8_t *>(p);
  if (size >= LLMC_HEADER_SIZE) {
    llmc_file_header h;
    llmc_header_decode(bytes, &h);
    if (h.flatbuffer_offset <= size && h.flatbuffer_size <= size - h.flatbuffer_offset) {
      h.flatbuffer_checksum = llmc_hash64(bytes + h.flatbuffer_offset, h.flatbuffer_size);
      llmc_header_encode(&h, bytes);
    }
  }
  llmc_model *m = nullptr;
  llmc_status st = llmc_model_open_memory(
      p, size, LLMC_OPEN_METADATA_ONLY | LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM, &m);
  if (st != LLMC_OK) {
    check(m == nullptr && llmc_last_error()[0] != '\0');
  } else {
    llmc_model_info info;
    check(llmc_model_get_info(m, &info) == LLMC_OK);
    for (uint32_t i = 0; i < info.num_dispatches; ++i) {
      llmc_dispatch_info d;
      check(llmc_model_get_dispatch_info(m, i, 1, 0, &d) == LLMC_OK);
      check(llmc_model_get_dispatch_info(m, i, info.prefill_chunk,
                                         info.max_context - info.prefill_chunk, &d) == LLMC_OK);
    }
    const llmc_tokenizer *t = nullptr;
    if (llmc_model_get_tokenizer(m, &t) == LLMC_OK) {
      static const char text[] = "In the beginning <|eot_id|> \xf0\x9f\x99\x82";
      int32_t ids[64];
      size_t n = 0, k = 0;
      if (llmc_tokenize(t, text, sizeof text - 1, 1, 1, ids, 64, &n) == LLMC_OK) {
        char out[256];
        llmc_status st = llmc_detokenize(t, ids, n, 0, out, sizeof out, &k);
        check(st == LLMC_OK || st == LLMC_ERR_BUFFER_TOO_SMALL);
      }
    }
    check(llmc_model_close(m) == LLMC_OK);
  }
  std::free(p);
  return 0;
}
