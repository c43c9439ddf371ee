//===- TokenizerJSONFuzz.cpp - libFuzzer entry for tokenizer.json ---------===//
//
// Run: scripts/fuzz.sh llmc-tokenizer-json-fuzz SECONDS (seeds:
//      test/fuzz/tokenizer-json, small tokenizer.json files).
//
// The input is a tokenizer.json. It must give a blob or an llvm::Error; a
// blob the compiler accepts must pass the runtime's validation, and then
// encode and decode without error: any text of bytes round-trips through a
// byte-level BPE (decode(encode(x)) == x for valid UTF-8 x).
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Tokenizer.h"
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
  llvm::StringRef json(reinterpret_cast<const char *>(data), size);
  auto blob = llmc::buildTokenizerBlobFromText(json, "tokenizer.json", "", "", "", "");
  if (!blob) {
    llvm::consumeError(blob.takeError());
    return 0;
  }
  llmc_tokenizer t;
  check(llmc_tokenizer_init(blob->data(), blob->size(), &t) == LLMC_OK);
  static const char text[] = "Hello, world! 123 \xc3\xa9t\xc3\xa9 <|eot_id|>  \n\tx";
  const size_t len = sizeof text - 1;
  for (int special = 0; special < 2; ++special) {
    size_t n = 0, n2 = 0;
    llmc_status st = llmc_tokenize(&t, text, len, special, special, nullptr, 0, &n);
    if (st != LLMC_ERR_BUFFER_TOO_SMALL && st != LLMC_OK)
      continue; // a vocabulary that cannot spell some byte: refused cleanly
    std::vector<int32_t> ids(n + 1);
    check(llmc_tokenize(&t, text, len, special, special, ids.data(), ids.size(), &n2) ==
              LLMC_OK &&
          n2 == n);
    size_t k = 0, k2 = 0;
    st = llmc_detokenize(&t, ids.data(), n, 0, nullptr, 0, &k);
    check(st == LLMC_OK || st == LLMC_ERR_BUFFER_TOO_SMALL);
    std::vector<char> out(k + 1);
    check(llmc_detokenize(&t, ids.data(), n, 0, out.data(), out.size(), &k2) == LLMC_OK &&
          k2 == k);
  }
  return 0;
}
