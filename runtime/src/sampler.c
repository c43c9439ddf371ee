/* llmc runtime: token sampling (see llmc_sampler.h for the contract). */

#include "runtime/include/llmc_sampler.h"

#include <math.h> /* isnan, a macro: no libm */
#include <stdlib.h>
#include <string.h>

llmc_sampler_params llmc_sampler_default_params(void) {
  llmc_sampler_params p;
  p.temperature = 0.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repetition_penalty = 1.0f;
  p.seed = 0;
  return p;
}

int llmc_sampler_init(llmc_sampler *s, const llmc_sampler_params *p) {
  if (!s || !p)
    return -1;
  if (isnan(p->temperature) || isnan(p->top_p) || !(p->top_p > 0.0f) ||
      isnan(p->min_p) || p->min_p > 1.0f || !(p->repetition_penalty > 0.0f))
    return -1;
  s->params = *p;
  /* xorshift64* must not start at 0; mix the seed (splitmix64 step). */
  uint64_t z = p->seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  s->state = z ? z : 0x2545F4914F6CDD1Dull;
  return 0;
}

static double next_uniform(llmc_sampler *s) {
  uint64_t x = s->state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->state = x;
  uint64_t r = x * 0x2545F4914F6CDD1Dull;
  return (double)(r >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

/* e^x for x <= 0, without libm (an app embedding the runtime need not link
 * it): x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^13
 * (relative error below 1e-15), 2^k in the exponent bits; 0 below -708,
 * where the result would be subnormal and the token's probability nil. */
static double exp_nonpositive(double x) {
  if (!(x > -708.0)) return 0.0;
  int k = (int)(x * 1.4426950408889634 - 0.5);
  double r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 13; ++i) {
    term *= r / i;
    sum += term;
  }
  uint64_t bits = (uint64_t)(k + 1023) << 52;
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return sum * scale;
}

static int by_logit_desc(const void *a, const void *b) {
  float la = ((const llmc_sampler_candidate *)a)->logit;
  float lb = ((const llmc_sampler_candidate *)b)->logit;
  if (la > lb)
    return -1;
  if (la < lb)
    return 1;
  /* Ties: lower id first, so results do not depend on qsort's order. */
  return ((const llmc_sampler_candidate *)a)->id -
         ((const llmc_sampler_candidate *)b)->id;
}

int32_t llmc_sampler_sample(llmc_sampler *s, const float *logits,
                            int32_t vocab, const int32_t *history,
                            size_t history_len,
                            llmc_sampler_candidate *c) {
  if (!s || !logits || vocab <= 0 || !c || (history_len && !history))
    return -1;
  const llmc_sampler_params *p = &s->params;
  for (int32_t i = 0; i < vocab; ++i) {
    c[i].id = i;
    c[i].logit = logits[i];
  }
  /* Repetition penalty, once per distinct id (HF gathers, then scatters). */
  if (p->repetition_penalty != 1.0f)
    for (size_t h = 0; h < history_len; ++h) {
      int32_t id = history[h];
      if (id < 0 || id >= vocab)
        continue;
      int seen = 0;
      for (size_t e = 0; e < h && !seen; ++e)
        seen = history[e] == id;
      if (seen)
        continue;
      float l = c[id].logit;
      c[id].logit = l > 0 ? l / p->repetition_penalty
                          : l * p->repetition_penalty;
    }

  if (p->temperature <= 0.0f || p->top_k == 1) {
    int32_t best = 0;
    for (int32_t i = 1; i < vocab; ++i)
      if (c[i].logit > c[best].logit)
        best = i;
    return best;
  }

  for (int32_t i = 0; i < vocab; ++i)
    c[i].logit /= p->temperature;
  qsort(c, (size_t)vocab, sizeof(*c), by_logit_desc);
  int32_t n = vocab;
  if (p->top_k > 0 && p->top_k < n)
    n = p->top_k;

  /* Probabilities of the kept candidates, in place of the logits. */
  float max_logit = c[0].logit;
  double sum = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    double e = exp_nonpositive((double)c[i].logit - max_logit);
    c[i].logit = (float)e;
    sum += e;
  }
  for (int32_t i = 0; i < n; ++i)
    c[i].logit = (float)(c[i].logit / sum);

  if (p->top_p < 1.0f) {
    /* Smallest prefix whose mass reaches top_p (at least one token). */
    double mass = 0.0;
    int32_t keep = 0;
    while (keep < n) {
      mass += c[keep].logit;
      ++keep;
      if (mass >= p->top_p)
        break;
    }
    n = keep;
  }
  if (p->min_p > 0.0f) {
    float floor_p = p->min_p * c[0].logit;
    int32_t keep = 1;
    while (keep < n && c[keep].logit >= floor_p)
      ++keep;
    n = keep;
  }

  double total = 0.0;
  for (int32_t i = 0; i < n; ++i)
    total += c[i].logit;
  double r = next_uniform(s) * total;
  for (int32_t i = 0; i < n; ++i) {
    r -= c[i].logit;
    if (r < 0.0)
      return c[i].id;
  }
  return c[n - 1].id;
}
