/* A fake kernel payload: two kernels with the kernel ABI, launched by the
 * fake artifact's schedule (RuntimeTest.cpp's fakeDesc):
 *
 *   fake_fill    (arena; scalar n_tokens; grid FAKE_ARENA / 4): writes
 *                arena[i] = 10 i + n_tokens, one iteration per float, so a
 *                thread pool splits it;
 *   fake_forward (weights, arena, kv, tokens, logits; scalars n_tokens,
 *                start_pos, logit_rows; grid 1): checks fake_fill's result,
 *                then writes the deterministic logits of FakeModel.h so the
 *                tests can check the chunking, positions, KV cache
 *                persistence, weight pointer, arena and thread split. */
#include <stdint.h>
#include <string.h>

#include "runtime/include/llmc_kernel_abi.h"
#include "test/runtime/FakeModel.h"

#ifndef FAKE_TAG
#define FAKE_TAG 0 /* the nodelete variant is built with FAKE_TAG=1 */
#endif

#define EXPORT __attribute__((visibility("default")))

static float *kv_at(uint8_t *kv, int layer, int k_or_v, int64_t pos) {
  return (float *)kv + (((int64_t)layer * 2 + k_or_v) * FAKE_MAX_CONTEXT + pos) * FAKE_KV_DIM;
}

EXPORT void llmc_fake_fill(void *const *bindings, const int64_t *scalars, int64_t begin,
                           int64_t end) {
  float *arena = (float *)bindings[0];
  for (int64_t i = begin; i < end; ++i) arena[i] = (float)(10 * i + scalars[0]);
}

EXPORT void llmc_fake_forward(void *const *bindings, const int64_t *scalars, int64_t begin,
                              int64_t end) {
  const uint8_t *weights = (const uint8_t *)bindings[0];
  uint8_t *arena = (uint8_t *)bindings[1], *kv_cache = (uint8_t *)bindings[2];
  const int32_t *tokens = (const int32_t *)bindings[3];
  float *logits = (float *)bindings[4];
  const int64_t n_tokens = scalars[0], start_pos = scalars[1], rows = scalars[2];
  const int all_logits = rows == n_tokens;
  if (begin != 0 || end != 1) return; /* grid 1: a wrong split shows as no logits */
  int filled = 1;
  for (int64_t i = 0; i < FAKE_ARENA / 4; ++i)
    filled &= ((const float *)arena)[i] == (float)(10 * i + n_tokens);
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
    if (!filled) row[FAKE_ROW_FIXED + 1] = -1.0f;
  }
}
