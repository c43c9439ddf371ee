/* llmc runtime: token sampling (see llmc_sampler.h for the contract). */

#include "runtime/include/llmc_sampler.h"

#include <stdint.h>
#include <string.h>

#include "runtime/hal/llmc_hal.h"

/* No libm (an app embedding the runtime need not link it): finiteness from
 * the bits, exp from its own series below. */
static int is_finite(float x) {
  uint32_t b;
  memcpy(&b, &x, sizeof b);
  return (b & 0x7f800000u) != 0x7f800000u;
}

llmc_sampler_params llmc_sampler_default_params(void) {
  llmc_sampler_params p;
  p.temperature = 0.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repetition_penalty = 1.0f;
  p.repeat_last_n = 64; /* llama.cpp's default window */
  p.seed = 0;
  return p;
}

llmc_status llmc_sampler_init(llmc_sampler *s, const llmc_sampler_params *p) {
  if (!s || !p)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "sampler: NULL argument");
  if (!is_finite(p->temperature) || !is_finite(p->top_p) ||
      !(p->top_p > 0.0f && p->top_p <= 1.0f) || !is_finite(p->min_p) ||
      !(p->min_p >= 0.0f && p->min_p <= 1.0f) || p->top_k < 0 ||
      !is_finite(p->repetition_penalty) || !(p->repetition_penalty > 0.0f) ||
      p->repeat_last_n < -1)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT,
                         "sampler: parameter out of range (need finite values, "
                         "top_p in (0, 1], min_p in [0, 1], top_k >= 0, "
                         "repetition_penalty > 0, repeat_last_n >= -1)");
  s->params = *p;
  /* xorshift64* must not start at 0; mix the seed (splitmix64 step). */
  uint64_t z = p->seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  s->state = z ? z : 0x2545F4914F6CDD1Dull;
  return LLMC_OK;
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

/* The passes over the whole vocabulary (the scan, the copy, the softmax, the
 * sums) take four lanes at a time in the compilers' vector types, SSE2 on
 * x86-64 and NEON on aarch64: the runtime is built for size (-Oz), where
 * the loop vectorizer stays off, and at 128k ids these passes are most of a
 * sampler call (scalar, they made it 2-3x slower). A tail of fewer than 4
 * goes through the same code on a padded copy, so every element gets the
 * same arithmetic wherever it sits. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* The 4 logits (or ids) of c[0..4), and storing 4 weights back beside
 * their ids. */
static v4i lanes4(const llmc_sampler_candidate *c, int odd) {
  v4i lo, hi;
  memcpy(&lo, c, 16);
  memcpy(&hi, c + 2, 16);
  return odd ? __builtin_shufflevector(lo, hi, 1, 3, 5, 7)
             : __builtin_shufflevector(lo, hi, 0, 2, 4, 6);
}
static v4f logits4(const llmc_sampler_candidate *c) { return (v4f)lanes4(c, 1); }
static void store4(llmc_sampler_candidate *c, v4i ids, v4f w) {
  v4i lo = __builtin_shufflevector(ids, (v4i)w, 0, 4, 1, 5);
  v4i hi = __builtin_shufflevector(ids, (v4i)w, 2, 6, 3, 7);
  memcpy(c, &lo, 16);
  memcpy(c + 2, &hi, 16);
}

/* Softmax weights of 4 candidates, in place: e^((logit - max) * inv_t).
 * The maximum comes out first, so every exponent is <= 0 and nothing
 * overflows at any temperature. e^x: x = k ln2 + r with |r| <= ln2/2, e^r by
 * a degree-6 polynomial (relative error about 1e-7, the float weights'
 * own), 2^k in the exponent bits; exactly 0 below -87, where the weight is
 * under 2^-125 of the best token's, so such a token is never drawn. No
 * libm, no branches. */
static void softmax4(llmc_sampler_candidate *c, float max, float inv_t) {
  v4f x = (logits4(c) - max) * inv_t;
  v4i keep = x > -87.0f; /* false for -inf too */
  x = (v4f)((v4i)x & keep);
  v4i k = __builtin_convertvector(x * 1.44269504f - 0.5f, v4i);
  v4f kf = __builtin_convertvector(k, v4f);
  v4f r = (x - kf * 0.693145752f) - kf * 1.42860677e-6f;
  v4f e = r * (1.0f / 720.0f) + 1.0f / 120.0f;
  e = e * r + 1.0f / 24.0f;
  e = e * r + 1.0f / 6.0f;
  e = e * r + 0.5f;
  e = e * r + 1.0f;
  e = e * r + 1.0f;
  v4f w = e * (v4f)((k + 127) << 23);
  store4(c, lanes4(c, 0), (v4f)((v4i)w & keep));
}

static void softmax_weights(llmc_sampler_candidate *c, int32_t n, float max,
                            float inv_t) {
  int32_t i = 0;
  for (; n - i >= 4; i += 4)
    softmax4(c + i, max, inv_t);
  if (i < n) {
    llmc_sampler_candidate t[4];
    for (int32_t k = 0; k < 4; ++k)
      t[k] = i + k < n ? c[i + k] : (llmc_sampler_candidate){0, max};
    softmax4(t, max, inv_t);
    for (int32_t k = 0; i + k < n; ++k)
      c[i + k] = t[k];
  }
}

/* Sum of a block of weights in float, 4 lanes then across them; the same
 * block always gives the same sum. */
#define LLMC_SAMPLER_BLOCK 256
static float block_sum(const llmc_sampler_candidate *c, int32_t n) {
  v4f acc = {0.0f, 0.0f, 0.0f, 0.0f};
  int32_t i = 0;
  for (; n - i >= 4; i += 4)
    acc += logits4(c + i);
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i)
    sum += c[i].logit;
  return sum;
}

/* Candidate order: higher value first, ties by lower id, so results never
 * depend on where the selection moved them. */
/* Inlined: at -Oz it was a call per comparison of the heap. */
__attribute__((always_inline)) static inline int
before(const llmc_sampler_candidate *a, const llmc_sampler_candidate *b) {
  return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static void swap(llmc_sampler_candidate *a, llmc_sampler_candidate *b) {
  llmc_sampler_candidate t = *a;
  *a = *b;
  *b = t;
}

/* c[0..n) as a heap whose top c[0] is the candidate that sorts last. */
static void sift_down(llmc_sampler_candidate *c, int32_t root, int32_t n) {
  for (;;) {
    int32_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && before(&c[child], &c[child + 1])) ++child;
    if (!before(&c[root], &c[child])) return;
    swap(&c[root], &c[child]);
    root = child;
  }
}

/* The k best of c[0..n), sorted, into c[0..k); the rest stay in c[k..n).
 * One pass with a heap of the k best so far: most candidates lose to the
 * heap's worst with one comparison, so this is O(n) in practice and
 * O(n log k) at worst, never a sort of the vocabulary. */
static void best_sorted(llmc_sampler_candidate *c, int32_t n, int32_t k) {
  for (int32_t i = k / 2; i-- > 0;)
    sift_down(c, i, k);
  for (int32_t i = k; i < n; ++i) {
    if (c[i].logit < c[0].logit || !before(&c[i], &c[0]))
      continue;
    swap(&c[i], &c[0]);
    sift_down(c, 0, k);
  }
  for (int32_t end = k - 1; end > 0; --end) {
    swap(&c[0], &c[end]);
    sift_down(c, 0, end);
  }
}

llmc_status llmc_sampler_sample(llmc_sampler *s, const float *logits,
                                int32_t vocab, const int32_t *history,
                                size_t history_len, llmc_sampler_candidate *c,
                                int32_t *out_id) {
  if (!s || !logits || vocab <= 0 || !c || (history_len && !history) || !out_id)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT,
                         "sampler: NULL argument or vocab <= 0");
  const llmc_sampler_params *p = &s->params;
  /* One pass: finiteness from the bits, and the maximum. Finite floats
   * order as the integers b ^ (sign ? 0x7fffffff : 0) do: an integer
   * maximum is exact where a float one (NaN rules) is not. A tail is
   * padded with logits[0]. */
  v4i special = {0, 0, 0, 0}, max_key = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
  for (int32_t i = 0; i < vocab; i += 4) {
    v4i b;
    if (vocab - i >= 4)
      memcpy(&b, logits + i, 16);
    else
      for (int32_t k = 0; k < 4; ++k)
        memcpy((char *)&b + 4 * k, &logits[i + k < vocab ? i + k : 0], 4);
    special |= (b & 0x7f800000) == 0x7f800000;
    v4i key = b ^ ((b >> 31) & 0x7fffffff);
    v4i more = key > max_key;
    max_key = (key & more) | (max_key & ~more);
  }
  int32_t mk = max_key[0];
  for (int k = 1; k < 4; ++k)
    mk = max_key[k] > mk ? max_key[k] : mk;
  uint32_t max_bits = (uint32_t)mk ^ ((uint32_t)(mk >> 31) & 0x7fffffffu);
  float max_logit;
  memcpy(&max_logit, &max_bits, sizeof max_logit);
  int any_special = (special[0] | special[1] | special[2] | special[3]) != 0;
  int32_t best = 0;
  while (!any_special && logits[best] != max_logit)
    ++best;
  if (any_special) {
    int32_t i = 0;
    while (is_finite(logits[i])) ++i;
    return llmc_hal_fail(LLMC_ERR_NON_FINITE, "sampler: logit %d is %s", i,
                         logits[i] != logits[i] ? "NaN" : "infinite");
  }
  int greedy = p->temperature <= 0.0f || p->top_k == 1;
  int penalty = p->repetition_penalty != 1.0f && history_len > 0;
  if (greedy && !penalty) {
    *out_id = best;
    return LLMC_OK;
  }
  {
    int32_t i = 0;
    for (v4i ids = {0, 1, 2, 3}; vocab - i >= 4; i += 4, ids += 4) {
      v4f l;
      memcpy(&l, logits + i, 16);
      store4(c + i, ids, l);
    }
    for (; i < vocab; ++i)
      c[i] = (llmc_sampler_candidate){i, logits[i]};
  }

  /* Repetition penalty over the window, once per distinct id (as HF's
   * gather-then-scatter): a penalized candidate is marked by a negative id
   * and the marks are undone after, so the cost is O(window), not
   * O(window^2). Only penalized logits change, so the maximum is the old
   * one unless it was penalized itself. */
  if (penalty) {
    size_t n = history_len;
    if (p->repeat_last_n >= 0 && (size_t)p->repeat_last_n < n)
      n = (size_t)p->repeat_last_n;
    const int32_t *window = history + (history_len - n);
    int best_hit = 0;
    for (size_t h = 0; h < n; ++h) {
      int32_t id = window[h];
      if (id < 0 || id >= vocab || c[id].id < 0)
        continue;
      float l = c[id].logit;
      c[id].logit = l > 0 ? l / p->repetition_penalty
                          : l * p->repetition_penalty;
      c[id].id = -1 - id;
      best_hit |= id == best;
    }
    for (size_t h = 0; h < n; ++h) {
      int32_t id = window[h];
      if (id >= 0 && id < vocab) {
        c[id].id = id;
        best = c[id].logit > c[best].logit ||
                       (c[id].logit == c[best].logit && id < best)
                   ? id
                   : best;
      }
    }
    if (best_hit || p->repetition_penalty < 1.0f)
      for (int32_t i = 0; i < vocab; ++i)
        best = c[i].logit > c[best].logit ? i : best;
    if (greedy) {
      *out_id = best;
      return LLMC_OK;
    }
  }

  /* 1/T capped at 1e30: below T = 1e-30 every distinct float logit is
   * already 100 binades below the best, so the cap changes no weight and
   * 1/T never overflows. */
  double inv = 1.0 / (double)p->temperature;
  float inv_t = inv > 1e30 ? 1e30f : (float)inv;
  max_logit = c[best].logit;
  int32_t n = vocab, sorted = 0;
  if (p->top_k > 0 && p->top_k < n) {
    best_sorted(c, n, p->top_k); /* on logits: the order weights have */
    n = p->top_k;
    sorted = 1;
  }
  softmax_weights(c, n, max_logit, inv_t);
  if (p->top_p < 1.0f) {
    /* Top-p needs the best candidates in order until their mass reaches
     * top_p of the whole: select and sort a few and, only if their mass
     * falls short, 4x more (top-k has sorted its k already). */
    double total = 0.0;
    for (int32_t b = 0; b < n; b += LLMC_SAMPLER_BLOCK)
      total += block_sum(c + b, n - b < LLMC_SAMPLER_BLOCK ? n - b
                                                          : LLMC_SAMPLER_BLOCK);
    double goal = (double)p->top_p * total;
    int32_t k = sorted || n < 64 ? n : 64;
    for (;;) {
      if (!sorted)
        best_sorted(c, n, k);
      double mass = 0.0;
      int32_t keep = 0;
      while (keep < k && mass < goal)
        mass += c[keep++].logit;
      if (mass >= goal || k == n) {
        n = keep;
        break;
      }
      k = k > n / 4 ? n : k * 4;
    }
  }

  /* min-p keeps w >= min_p * w_max, and w_max is 1 (the best candidate
   * survives every filter above). Compaction keeps the candidates' order,
   * so a seed gives the same draw. */
  int32_t kept = n;
  if (p->min_p > 0.0f) {
    kept = 0;
    for (int32_t i = 0; i < n; ++i)
      if (c[i].logit >= p->min_p)
        c[kept++] = c[i];
  }

  /* The draw: the total by blocks (each summed by one vectorized function,
   * so the scan below sees the same block sums), then a scan over blocks
   * and one block: O(vocab) without a serial chain of 128k additions. */
  double total = 0.0;
  for (int32_t b = 0; b < kept; b += LLMC_SAMPLER_BLOCK)
    total += block_sum(c + b, kept - b < LLMC_SAMPLER_BLOCK ? kept - b
                                                            : LLMC_SAMPLER_BLOCK);
  double r = next_uniform(s) * total;
  int32_t last = -1; /* the last candidate with weight seen */
  for (int32_t b = 0; b < kept; b += LLMC_SAMPLER_BLOCK) {
    int32_t len = kept - b < LLMC_SAMPLER_BLOCK ? kept - b : LLMC_SAMPLER_BLOCK;
    float bs = block_sum(c + b, len);
    if (bs <= 0.0f)
      continue;
    if (r - bs >= 0.0) {
      r -= bs;
      for (int32_t i = b + len; i-- > b;)
        if (c[i].logit > 0.0f) {
          last = i;
          break;
        }
      continue;
    }
    /* Zero weights are never drawn: r only goes below 0 on a positive
     * one; rounding between the block's float sum and this double scan
     * ends on its last weighted candidate. */
    for (int32_t i = b; i < b + len; ++i) {
      if (c[i].logit <= 0.0f)
        continue;
      last = i;
      r -= c[i].logit;
      if (r < 0.0)
        break;
    }
    break;
  }
  if (last >= 0) {
    *out_id = c[last].id;
    return LLMC_OK;
  }
  *out_id = best;
  return LLMC_OK;
}
