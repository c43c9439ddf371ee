/* llmc runtime: token sampling.
 *
 * A sampler turns one row of logits into a token id. The order of the steps
 * follows Hugging Face transformers' generate(): repetition penalty, then
 * temperature, then top-k, top-p and min-p filtering, then a draw from the
 * softmax of what is left. temperature <= 0 (or top_k == 1) is greedy.
 *
 * Safe at any temperature: the softmax is taken of (logit - max) / T, so a
 * tiny T is greedy and a huge one uniform, never an overflow. A NaN or
 * infinite logit is an error (LLMC_ERR_NON_FINITE), not a token.
 *
 * Cost per call: O(vocab) for the copy, the softmax and the draw, plus
 * O(k log k) for the k candidates top-k / top-p keep (a partial selection,
 * never a sort of the vocabulary), plus O(repeat_last_n) for the penalty.
 *
 * No allocation: the caller passes a scratch buffer of vocab_size
 * llmc_sampler_candidate entries. The RNG is a seeded xorshift64*, so a
 * seed reproduces a generation on every platform.
 *
 * Errors are llmc_status values, with llmc_last_error() saying why.
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
  int32_t repeat_last_n;    /* the penalty looks at the last n ids of the
                               history (llama.cpp's window); -1: all of it */
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

/* Defaults: greedy, no filters, a penalty window of 64, seed 0. */
LLMC_API llmc_sampler_params llmc_sampler_default_params(void);

/* LLMC_ERR_INVALID_ARGUMENT if a parameter is out of range (NaN or infinite
 * values, top_p outside (0, 1], min_p outside [0, 1], top_k < 0,
 * repetition_penalty <= 0, repeat_last_n < -1). */
LLMC_API llmc_status llmc_sampler_init(llmc_sampler *s,
                                       const llmc_sampler_params *params);

/* Picks a token from logits[0..vocab) into *out_id. `history` (may be NULL
 * when history_len is 0) holds the ids so far; the repetition penalty applies
 * to the last repeat_last_n of them. `scratch` must hold vocab entries.
 * `logits` is not modified. LLMC_ERR_NON_FINITE if a logit is NaN or
 * infinite; LLMC_ERR_INVALID_ARGUMENT on bad arguments. */
LLMC_API llmc_status llmc_sampler_sample(llmc_sampler *s, const float *logits,
                                         int32_t vocab, const int32_t *history,
                                         size_t history_len,
                                         llmc_sampler_candidate *scratch,
                                         int32_t *out_id);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_SAMPLER_H */
