//===- tokenizer_bench.cpp - throughput of the runtime tokenizer ----------===//
//
//   llmc-tokenizer-bench TOKENIZER_DIR TEXT_FILE [MB] [REPEATS]
//
// Builds the tokenizer blob from TOKENIZER_DIR (tokenizer.json, as `llmc
// build` does), makes a text of MB megabytes (default 1) by repeating
// TEXT_FILE, and times llmc_tokenize on it (parse_special on, no bos), best
// of REPEATS (default 5) runs; then llmc_detokenize of the ids. Prints MB/s
// and tokens/s. One thread.
//
// KJV text: `bible -l80 gen1:1-rev22:21 > kjv.txt` (Debian bible-kjv).
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Tokenizer.h"
#include "runtime/include/llmc_tokenizer.h"

#include "llvm/Support/MemoryBuffer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR TEXT_FILE [MB] [REPEATS]\n", argv[0]);
    return 2;
  }
  double mb = argc > 3 ? std::atof(argv[3]) : 1.0;
  int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  auto blob = llmc::buildTokenizerBlob(argv[1]);
  if (!blob) {
    std::fprintf(stderr, "%s\n", llvm::toString(blob.takeError()).c_str());
    return 1;
  }
  llmc_tokenizer t;
  double t0 = now();
  if (llmc_tokenizer_init(blob->data(), blob->size(), &t) != LLMC_OK) {
    std::fprintf(stderr, "init: %s\n", t.error);
    return 1;
  }
  double initMs = (now() - t0) * 1e3;
  auto file = llvm::MemoryBuffer::getFile(argv[2]);
  if (!file || (*file)->getBufferSize() == 0) {
    std::fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  size_t want = size_t(mb * 1024 * 1024);
  std::string text;
  while (text.size() < want)
    text += (*file)->getBuffer().str();
  text.resize(want);

  size_t n = 0;
  if (llmc_tokenize(&t, text.data(), text.size(), 1, 0, nullptr, 0, &n) !=
      LLMC_ERR_BUFFER_TOO_SMALL) {
    std::fprintf(stderr, "tokenize failed: %s\n", llmc_last_error());
    return 1;
  }
  std::vector<int32_t> ids(n);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double a = now();
    size_t m = 0;
    llmc_status st = llmc_tokenize(&t, text.data(), text.size(), 1, 0,
                                   ids.data(), ids.size(), &m);
    double s = now() - a;
    if (st != LLMC_OK || m != n)
      return 1;
    best = s < best ? s : best;
  }
  std::string out(text.size() + 16, '\0');
  double bestDec = 1e30;
  for (int r = 0; r < repeats; r++) {
    double a = now();
    size_t m = 0;
    llmc_status st = llmc_detokenize(&t, ids.data(), ids.size(), 0, out.data(),
                                     out.size(), &m);
    double s = now() - a;
    if (st != LLMC_OK)
      return 1;
    if (r == 0 && out.compare(0, m, text) != 0)
      std::fprintf(stderr, "warning: decode does not round-trip\n");
    bestDec = s < bestDec ? s : bestDec;
  }
  double mbs = double(text.size()) / (1024 * 1024);
  std::printf("tokenizer: vocab %u, blob %zu bytes, init %.2f ms\n",
              llmc_tokenizer_vocab_size(&t), blob->size(), initMs);
  std::printf("text: %zu bytes -> %lld tokens (%.2f bytes/token)\n", text.size(),
              (long long)n, double(text.size()) / double(n));
  std::printf("encode: %.2f MB/s, %.0f tokens/s (best of %d: %.1f ms)\n",
              mbs / best, double(n) / best, repeats, best * 1e3);
  std::printf("decode: %.1f MB/s, %.0f tokens/s (%.2f ms)\n", mbs / bestDec,
              double(n) / bestDec, bestDec * 1e3);
  return 0;
}
