//===- TokenizeFuzz.cpp - libFuzzer entry for the runtime's tokenizer -----===//
//
// Run: scripts/fuzz.sh llmc-tokenize-fuzz SECONDS (seeds: test/fuzz/text).
//
// The input is text (any bytes) for the runtime's tokenizer, with the blob
// the compiler makes of test/fuzz/tokenizer-json/small.json (a Llama 3
// vocabulary cut to 300 tokens: every byte, some merges, the specials).
// Encoding and pre-tokenizing must succeed, with or without special tokens;
// ids must be in range; decoding them must give the input back whenever it
// is valid UTF-8 (a byte-level BPE loses nothing), and the streaming decoder
// must agree with the one-shot one.
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Tokenizer.h"
#include "runtime/include/llmc_tokenizer.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef LLMC_FUZZ_TOKENIZER_JSON
#error "LLMC_FUZZ_TOKENIZER_JSON names the tokenizer.json (CMake sets it)"
#endif

namespace {
void check(bool ok) {
  if (!ok)
    std::abort();
}

std::vector<uint8_t> gBlob;
llmc_tokenizer gTok;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  auto text = llvm::MemoryBuffer::getFile(LLMC_FUZZ_TOKENIZER_JSON);
  check(bool(text));
  auto blob = llmc::buildTokenizerBlobFromText((*text)->getBuffer(), "small.json", "", "", "", "");
  check(bool(blob));
  gBlob = std::move(*blob);
  check(llmc_tokenizer_init(gBlob.data(), gBlob.size(), &gTok) == LLMC_OK);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = reinterpret_cast<const char *>(data);
  const bool utf8 = llvm::json::isUTF8(llvm::StringRef(text, size));
  for (int special = 0; special < 2; ++special) {
    size_t n = 0, n2 = 0;
    llmc_status st = llmc_tokenize(&gTok, text, size, special, 0, nullptr, 0, &n);
    check(st == (n ? LLMC_ERR_BUFFER_TOO_SMALL : LLMC_OK));
    check((size == 0 || n > 0) && n <= size);
    std::vector<int32_t> ids(n + 1);
    check(llmc_tokenize(&gTok, text, size, special, 0, ids.data(), ids.size(), &n2) ==
              LLMC_OK &&
          n2 == n);
    for (size_t i = 0; i < n; ++i)
      check(ids[i] >= 0 && uint32_t(ids[i]) < llmc_tokenizer_vocab_size(&gTok));
    size_t k = 0, k2 = 0;
    st = llmc_detokenize(&gTok, ids.data(), n, 0, nullptr, 0, &k);
    check(st == (k ? LLMC_ERR_BUFFER_TOO_SMALL : LLMC_OK));
    std::string out(k, '\0');
    check(llmc_detokenize(&gTok, ids.data(), n, 0, out.data(), out.size(), &k2) == LLMC_OK &&
          k2 == k);
    if (utf8)
      check(out == std::string(text, size));
    // The streaming decoder gives the same text.
    llmc_detok_stream s = {};
    std::string streamed;
    std::vector<char> buf(LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(&gTok)));
    for (size_t i = 0; i < n; ++i) {
      size_t w = 0;
      check(llmc_detok_stream_push(&gTok, &s, ids[i], buf.data(), buf.size(), &w) == LLMC_OK);
      streamed.append(buf.data(), w);
    }
    size_t w = 0;
    check(llmc_detok_stream_flush(&s, buf.data(), buf.size(), &w) == LLMC_OK);
    streamed.append(buf.data(), w);
    check(streamed == out);
    std::vector<size_t> ends(size + 1);
    size_t pieces = 0;
    check(llmc_pretokenize(&gTok, text, size, special, ends.data(), ends.size(), &pieces) ==
          LLMC_OK);
  }
  return 0;
}
