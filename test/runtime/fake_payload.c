/* A fake kernel payload: exports llmc_forward with the kernel ABI and writes
 * deterministic logits (see FakeModel.h) so the tests can check the chunking,
 * positions, KV cache persistence, weight pointer and arena. */
#include <stdint.h>
#include <string.h>

#include "runtime/include/llmc_kernel_abi.h"
#include "test/runtime/FakeModel.h"

#ifndef FAKE_TAG
#define FAKE_TAG 0 /* the nodelete variant is built with FAKE_TAG=1 */
#endif

static float *kv_at(uint8_t *kv, int layer, int k_or_v, int64_t pos) {
  return (float *)kv + (((int64_t)layer * 2 + k_or_v) * FAKE_MAX_CONTEXT + pos) * FAKE_KV_DIM;
}

__attribute__((visibility("default"))) void
llmc_forward(const uint8_t *weights, uint8_t *arena, uint8_t *kv_cache,
             const int32_t *tokens, int64_t n_tokens, int64_t start_pos,
             float *logits, int64_t all_logits) {
  memset(arena, 0xAB, FAKE_ARENA); /* the whole arena must be writable */
  for (int64_t i = 0; i < n_tokens; ++i) {
    int64_t p = start_pos + i;
    for (int l = 0; l < FAKE_LAYERS; ++l)
      for (int kv = 0; kv < 2; ++kv)
        for (int d = 0; d < FAKE_KV_DIM; ++d)
          kv_at(kv_cache, l, kv, p)[d] = (float)tokens[i];
  }
  float w0, w1;
  memcpy(&w0, weights, sizeof w0);
  memcpy(&w1, weights + FAKE_W1_OFFSET, sizeof w1);
  for (int64_t i = 0; i < n_tokens; ++i) {
    if (!all_logits && i != n_tokens - 1) continue;
    float *row = logits + (all_logits ? i * FAKE_VOCAB : 0);
    int64_t p = start_pos + i;
    float sum = 0;
    for (int64_t q = 0; q <= p; ++q) sum += kv_at(kv_cache, FAKE_LAYERS - 1, 1, q)[FAKE_KV_DIM - 1];
    row[0] = (float)(tokens[i] * 1000 + p + 1);
    row[1] = sum;
    row[2] = (float)n_tokens;
    row[3] = w0;
    row[4] = (float)start_pos;
    row[5] = w1;
    for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) row[v] = (float)v * 0.5f;
    row[FAKE_ROW_FIXED] += FAKE_TAG;
  }
}
