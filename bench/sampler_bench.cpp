// llmc-sampler-bench [VOCAB] [DECODE_MS]: what sampling costs per token at a
// Llama 3 vocabulary (128 256), greedy and with each filter, beside the
// time of one decode step (DECODE_MS: by default the 1B q4_g32 decode step
// of docs/benchmarks.md, 2 threads). Logits are drawn like a model's: a
// normal spread with a few strong candidates; the history for the
// repetition penalty is 4096 earlier ids. Prints one line per setting.
#include "runtime/include/llmc_sampler.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  int32_t vocab = argc > 1 ? std::atoi(argv[1]) : 128256;
  double decodeMs = argc > 2 ? std::atof(argv[2]) : 21.0;
  if (vocab <= 0 || decodeMs <= 0) {
    std::fprintf(stderr, "usage: llmc-sampler-bench [VOCAB] [DECODE_MS]\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> spread(0.0f, 2.5f);
  const int rows = 16;
  std::vector<std::vector<float>> logits(rows, std::vector<float>(vocab));
  for (auto &row : logits) {
    for (float &l : row)
      l = spread(rng);
    for (int i = 0; i < 8; ++i) // a few likely next tokens
      row[rng() % vocab] = 12.0f + i;
  }
  std::vector<int32_t> history(4096);
  for (int32_t &id : history)
    id = int32_t(rng() % vocab);
  std::vector<llmc_sampler_candidate> scratch(vocab);

  struct Setting {
    const char *name;
    float temp;
    int32_t topK;
    float topP, minP, penalty;
    int32_t lastN;
  };
  const Setting settings[] = {
      {"greedy", 0, 0, 1, 0, 1, 64},
      {"temp 0.8", 0.8f, 0, 1, 0, 1, 64},
      {"temp 0.8, top-k 40", 0.8f, 40, 1, 0, 1, 64},
      {"temp 0.8, top-p 0.95", 0.8f, 0, 0.95f, 0, 1, 64},
      {"temp 0.8, min-p 0.05", 0.8f, 0, 1, 0.05f, 1, 64},
      {"llama.cpp defaults (top-k 40, top-p 0.95, min-p 0.05, temp 0.8, "
       "repeat 1.1 over 64)",
       0.8f, 40, 0.95f, 0.05f, 1.1f, 64},
      {"repeat 1.1 over all 4096 ids, temp 0.8", 0.8f, 0, 1, 0, 1.1f, -1},
      {"temp 1e-38 (greedy by the softmax)", 1e-38f, 0, 1, 0, 1, 64},
  };
  std::printf("sampler, vocab %d, against a %.1f ms decode step\n", vocab,
              decodeMs);
  std::printf("  %10s %12s %9s  %s\n", "us/token", "tokens/s", "of step",
              "setting");
  double greedyUs = 0, worstUs = 0;
  for (const Setting &set : settings) {
    llmc_sampler_params p = llmc_sampler_default_params();
    p.temperature = set.temp;
    p.top_k = set.topK;
    p.top_p = set.topP;
    p.min_p = set.minP;
    p.repetition_penalty = set.penalty;
    p.repeat_last_n = set.lastN;
    p.seed = 3;
    llmc_sampler s;
    if (llmc_sampler_init(&s, &p) != LLMC_OK) {
      std::fprintf(stderr, "%s: %s\n", set.name, llmc_last_error());
      return 1;
    }
    int calls = 0;
    long sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    double secs = 0;
    while (secs < 0.5 || calls < 20) {
      int32_t id = 0;
      if (llmc_sampler_sample(&s, logits[calls % rows].data(), vocab,
                              history.data(), history.size(), scratch.data(),
                              &id) != LLMC_OK) {
        std::fprintf(stderr, "%s: %s\n", set.name, llmc_last_error());
        return 1;
      }
      sink += id;
      ++calls;
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                 .count();
    }
    double us = secs * 1e6 / calls;
    if (set.temp == 0)
      greedyUs = us;
    worstUs = us > worstUs ? us : worstUs;
    std::printf("  %10.1f %12.0f %8.2f%%  %s\n", us, 1e6 / us,
                100.0 * us / (decodeMs * 1e3), set.name);
    if (sink == -1)
      std::puts("");
  }
  std::printf("greedy %.1f us/token; the costliest setting adds %.2f%% to a "
              "%.1f ms decode step\n",
              greedyUs, 100.0 * (worstUs - greedyUs) / (decodeMs * 1e3),
              decodeMs);
  return 0;
}
