/* llmc runtime: token sampling.
 *
 * A sampler turns one row of logits into a token id. The order of the steps
 * follows Hugging Face transformers' generate(): repetition penalty, then
 * temperature, then top-k, top-p and min-p filtering, then a draw from the
 * softmax of what is left. temperature <= 0 (or top_k == 1) is greedy.
 *
 * No allocation: the caller passes a scratch buffer of vocab_size
 * llmc_sampler_candidate entries. The RNG is a seeded xorshift64*, so a
 * seed reproduces a generation on every platform.
 */
#ifndef LLMC_SAMPLER_H
#define LLMC_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "llmc.h" /* LLMC_API; same directory: works in-tree and for apps */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_sampler_params {
  float temperature;        /* <= 0: greedy */
  int32_t top_k;            /* <= 0: off */
  float top_p;              /* >= 1: off */
  float min_p;              /* <= 0: off; keep p >= min_p * p_max */
  float repetition_penalty; /* 1: off; HF semantics (CTRL paper) */
  uint64_t seed;
} llmc_sampler_params;

typedef struct llmc_sampler_candidate {
  int32_t id;
  float logit;
} llmc_sampler_candidate;

typedef struct llmc_sampler {
  llmc_sampler_params params;
  uint64_t state;
} llmc_sampler;

/* Defaults: greedy, no filters, seed 0. */
LLMC_API llmc_sampler_params llmc_sampler_default_params(void);

/* 0 on success, -1 if a parameter is out of range (NaN, top_p <= 0,
 * min_p > 1, repetition_penalty <= 0). */
LLMC_API int llmc_sampler_init(llmc_sampler *s, const llmc_sampler_params *params);

/* Picks a token from logits[0..vocab). `history` (may be NULL) holds the ids
 * the repetition penalty applies to. `scratch` must hold vocab entries.
 * Returns the id, or -1 on bad arguments. `logits` is not modified. */
LLMC_API int32_t llmc_sampler_sample(llmc_sampler *s, const float *logits,
                            int32_t vocab, const int32_t *history,
                            size_t history_len,
                            llmc_sampler_candidate *scratch);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_SAMPLER_H */
