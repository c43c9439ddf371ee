//===- ukernels.c - integer-dot microkernels of the CPU back end ----------===//
//
// The quantized linears' inner loops, written once in C and compiled by
// clang into LLVM bitcode for each instruction set (x86-64 AVX-512 VNNI,
// x86-64 AVX2, AArch64 dotprod, AArch64 dotprod + i8mm, and plain C for the
// rest); the CPU back end links the
// variant its target's features allow into the generated kernels' module
// and inlines it, as IREE does with its C ukernels. The generated code
// around them (loops over output panels, the epilogues: residual, SwiGLU,
// RoPE and the KV cache writes) stays compiled from the dispatch level.
//
// The scheme is ggml's: each activation row is quantized on the fly to
// int8 in blocks of 32 (scale amax / 127), and the products of int8 (or
// int4) weights with int8 activations are summed exactly in int32 by the
// CPU's integer dot-product instructions, one float multiply-add per block.
//
// Freestanding: no libc, no libm; pointers come in as integers (the
// dispatch level passes buffer addresses as index values).
//
//===----------------------------------------------------------------------===//
//
// Quantized activations (`xq`), one record per row, `ldq` bytes apart
// (llmc_uk_xq_stride): int8 q[K], then f32 d[K/32] (the blocks' scales),
// then int32 s[K/32] (each block's sum of q, for the weights' zero offset),
// then int32 h[K/16] (each half block's sum, for weights in groups of 16).
//
// Packed weights ("panels", QuantLayout.h): output rows in panels of 16.
// int8: per panel, per 4 consecutive k ("quad"), 64 bytes, byte 4r+i =
// q[row r][k+i] (two's complement). int4: per panel, per 8 consecutive k,
// 64 bytes, byte 4r+i = q[r][k+i] | q[r][k+4+i] << 4 (codes 0..15, value
// code - 8). int6: per panel, per 32 consecutive k, 384 bytes: the codes'
// low nibbles as int4 packs them (4 x 64 bytes), then two 64-byte vectors
// of top bits, vector v byte 4r+i holding (bit 0 up) those of k = 16v+i,
// 16v+4+i, 16v+8+i, 16v+12+i (codes 0..63, value code - 32). Scales: per
// panel, per group, 16 values (f16 or f32); asymmetric int4 (a non-null
// `mins`, value code * scale + min, codes 0..15; int6 likewise, codes
// 0..63) has its mins the same way.
// Rows past the weight's end are zero.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>

/* Round to nearest, ties to even, for |x| <= 2^22 (here |x| <= 127): adding
 * and subtracting 1.5 * 2^23 leaves the rounded value, as rintf does in the
 * default rounding mode, but without a libm call on a CPU that has no
 * rounding instruction (x86-64 before SSE4.1). */
static inline int32_t round_even(float x) {
  const float magic = 12582912.0f; /* IEEE arithmetic: (x + m) - m is not folded */
  return (int32_t)((x + magic) - magic);
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define LLMC_UK_AVX512VNNI 1
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#define LLMC_UK_AVX2 1
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#define LLMC_UK_NEON_DOT 1
#include <arm_neon.h>
#if defined(__ARM_FEATURE_MATMUL_INT8)
#define LLMC_UK_NEON_I8MM 1
#endif
#endif

#define INLINE static inline __attribute__((always_inline))
// The entry points inline into each generated kernel, where the weight's
// bits, group and scale type and the row length are constants.
#define ENTRY __attribute__((always_inline))
#define PANEL 16
#define QBLOCK 32

typedef int64_t idx_t;

INLINE float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else { // subnormal: renormalize
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400u));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

INLINE int32_t load_i32(const void *p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

/// A panel's scales (or mins) by `scale_kind` (QuantLayout.h,
/// Layout::scaleKind): 0 f16 and 1 f32, [group][16 rows]; n >= 2 (a power
/// of two), per run of n groups the 16 rows' f32 multipliers, then per
/// group the 16 rows' int8 sub-scales (ggml's K-quants, exactly). The run
/// holding index i = group * 16 + row:
INLINE const uint8_t *scale_run(const void *scales, idx_t kind, idx_t i) {
  return (const uint8_t *)scales +
         (i / PANEL >> __builtin_ctzll((unsigned long long)kind)) * PANEL * (4 + kind);
}
/// ... and the int8 sub-scale of index i in it.
INLINE const int8_t *scale_sub(const uint8_t *run, idx_t kind, idx_t i) {
  return (const int8_t *)run + PANEL * 4 + (i / PANEL & (kind - 1)) * PANEL + i % PANEL;
}

INLINE float scale_at(const void *scales, idx_t scale_kind, idx_t i) {
  if (scale_kind == 1)
    return ((const float *)scales)[i];
  if (scale_kind == 0)
    return half_to_float(((const uint16_t *)scales)[i]);
  const uint8_t *run = scale_run(scales, scale_kind, i);
  float d;
  __builtin_memcpy(&d, run + i % PANEL * 4, 4);
  return (float)*scale_sub(run, scale_kind, i) * d;
}

/// Bytes of one panel's scales (or mins).
INLINE idx_t panel_scale_bytes(idx_t K, idx_t group, idx_t scale_kind) {
  if (scale_kind >= 2)
    return K / group / scale_kind * PANEL * (4 + scale_kind);
  return K / group * PANEL * (scale_kind ? 4 : 2);
}

/// Bytes of one quantized activation row of K elements (64-byte multiple).
INLINE idx_t xq_stride(idx_t K) { return (K + K / QBLOCK * 16 + 63) / 64 * 64; }

idx_t llmc_uk_xq_stride(idx_t K) { return xq_stride(K); }

//===----------------------------------------------------------------------===//
// Activations: (optionally) RMS-normalize, then quantize rows [t0, t1)
//===----------------------------------------------------------------------===//

/// Rows t0..t1-1 of x (f32, `ldx` floats apart) to xq. `eps` >= 0 first
/// divides each row by its RMS (x / sqrt(mean(x^2) + eps), as transformers'
/// LlamaRMSNorm in float32); a non-zero `gamma` then multiplies by the norm's
/// vector.
ENTRY void llmc_uk_quantize_rows(idx_t x_addr, idx_t ldx, idx_t K, idx_t t0,
                           idx_t t1, float eps, idx_t gamma_addr,
                           idx_t xq_addr, idx_t ldq) {
  const float *gamma = (const float *)gamma_addr;
  for (idx_t t = t0; t < t1; ++t) {
    const float *x = (const float *)x_addr + t * ldx;
    int8_t *q = (int8_t *)xq_addr + t * ldq;
    float *d = (float *)(q + K);
    int32_t *s = (int32_t *)(d + K / QBLOCK);
    float inv = 1.0f;
    if (eps >= 0) {
      // 16 partial sums: a vector reduction without reassociating floats
      // behind the compiler's back.
      float part[16] = {0};
      idx_t k = 0;
      for (; k + 16 <= K; k += 16)
        for (int i = 0; i < 16; ++i)
          part[i] += x[k + i] * x[k + i];
      for (; k < K; ++k)
        part[0] += x[k] * x[k];
      float ss = 0;
      for (int i = 0; i < 16; ++i)
        ss += part[i];
      inv = 1.0f / __builtin_sqrtf(ss / (float)K + eps);
    }
    for (idx_t b = 0; b < K / QBLOCK; ++b) {
      float v[QBLOCK], amax = 0;
      for (int i = 0; i < QBLOCK; ++i) {
        float y = x[b * QBLOCK + i] * inv;
        if (gamma)
          y = gamma[b * QBLOCK + i] * y;
        v[i] = y;
        float a = __builtin_fabsf(y);
        amax = a > amax ? a : amax;
      }
      float scale = amax / 127.0f;
      float id = scale != 0.0f ? 1.0f / scale : 0.0f;
      int32_t half[2] = {0, 0};
      for (int i = 0; i < QBLOCK; ++i) {
        int32_t c = round_even(v[i] * id);
        q[b * QBLOCK + i] = (int8_t)c;
        half[i / 16] += c;
      }
      d[b] = scale;
      s[b] = half[0] + half[1];
      s[K / QBLOCK + 2 * b] = half[0];
      s[K / QBLOCK + 2 * b + 1] = half[1];
    }
  }
}

//===----------------------------------------------------------------------===//
// One panel of 16 output rows against n activation rows
//===----------------------------------------------------------------------===//

#if LLMC_UK_AVX512VNNI

/// 16 rows' scales (f32, or f16 widened exactly).
INLINE __m512 avx512_scales(const void *scales, idx_t scale_kind, idx_t i) {
  if (scale_kind == 1)
    return _mm512_loadu_ps((const float *)scales + i);
  if (scale_kind == 0)
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)scales + i)));
  const uint8_t *run = scale_run(scales, scale_kind, i);
  __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
      _mm_loadu_si128((const __m128i *)scale_sub(run, scale_kind, i))));
  return _mm512_mul_ps(q, _mm512_loadu_ps((const float *)run + i % PANEL));
}

/// The int4 or int6 codes of 16 rows x k 8u..8u+7 of the block at `wb`
/// (the panel layout): *lo holds k 0..3 and *hi k 4..7, 4 per row; int6
/// ORs its top bits in (16-bit shifts are safe: the mask keeps each
/// byte's own bits).
INLINE void avx512_codes(const uint8_t *wb, int u, int bits, __m512i *lo, __m512i *hi) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i raw = _mm512_loadu_si512(wb + u * 64);
  *lo = _mm512_and_si512(raw, low4);
  *hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
  if (bits == 6) {
    // The top bits of this u's 8 k (2 bits each) moved to bits 4..5.
    const __m512i top2 = _mm512_set1_epi8(0x30);
    __m512i top = _mm512_loadu_si512(wb + 256 + (u / 2) * 64);
    __m512i tlo = u % 2 ? top : _mm512_slli_epi16(top, 4);
    __m512i thi = u % 2 ? _mm512_srli_epi16(top, 2) : _mm512_slli_epi16(top, 2);
    *lo = _mm512_or_si512(*lo, _mm512_and_si512(tlo, top2));
    *hi = _mm512_or_si512(*hi, _mm512_and_si512(thi, top2));
  }
}

/// T rows of xq (starting at `xq`) times one panel: out[t][0..15].
INLINE void panel_tile_avx512(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                              int bits, const uint8_t *w,
                              const void *scales, const void *mins,
                              idx_t scale_kind, idx_t group, float *out,
                              idx_t ldo) {
  __m512 accf[8];
  for (int t = 0; t < T; ++t)
    accf[t] = _mm512_setzero_ps();
  const idx_t nb = K / QBLOCK;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  // int8 weights go in as unsigned (q + 128), int4 codes are 0..15 and
  // int6 ones 0..63: the instruction wants one unsigned operand; the offset
  // comes back out through the block sums of the activations.
  // Asymmetric int4 codes are the values' own (code * scale + min): no
  // offset; the min comes in times the block's activation sum.
  const int32_t offset = mins ? 0 : bits == 8 ? 128 : bits == 6 ? 32 : 8;
  for (idx_t b = 0; b < nb; ++b) {
    __m512i acci[8];
    for (int t = 0; t < T; ++t) {
      const int32_t *s = (const int32_t *)(xq + t * ldq + K + nb * 4);
      acci[t] = _mm512_set1_epi32(-offset * s[b]);
    }
    const uint8_t *xb = xq + b * QBLOCK;
    if (bits == 8) {
      const uint8_t *wb = w + b * (QBLOCK * PANEL);
      for (int u = 0; u < QBLOCK / 4; ++u) {
        __m512i wv = _mm512_xor_si512(_mm512_loadu_si512(wb + u * 64), flip);
        for (int t = 0; t < T; ++t)
          acci[t] = _mm512_dpbusd_epi32(
              acci[t], wv, _mm512_set1_epi32(load_i32(xb + t * ldq + u * 4)));
      }
    } else {
      const uint8_t *wb = w + b * (QBLOCK * PANEL * bits / 8);
      for (int u = 0; u < QBLOCK / 8; ++u) {
        __m512i lo, hi;
        avx512_codes(wb, u, bits, &lo, &hi);
        for (int t = 0; t < T; ++t) {
          const uint8_t *xt = xb + t * ldq + u * 8;
          acci[t] = _mm512_dpbusd_epi32(acci[t], lo,
                                        _mm512_set1_epi32(load_i32(xt)));
          acci[t] = _mm512_dpbusd_epi32(acci[t], hi,
                                        _mm512_set1_epi32(load_i32(xt + 4)));
        }
      }
    }
    idx_t g = b * QBLOCK / group;
    __m512 ws = avx512_scales(scales, scale_kind, g * PANEL);
    for (int t = 0; t < T; ++t) {
      const float *d = (const float *)(xq + t * ldq + K);
      accf[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acci[t]),
                                _mm512_mul_ps(ws, _mm512_set1_ps(d[b])), accf[t]);
    }
    if (mins) {
      __m512 wm = avx512_scales(mins, scale_kind, g * PANEL);
      for (int t = 0; t < T; ++t) {
        const float *d = (const float *)(xq + t * ldq + K);
        const int32_t *sum = (const int32_t *)(d + nb);
        accf[t] = _mm512_fmadd_ps(wm, _mm512_set1_ps(d[b] * (float)sum[b]), accf[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    _mm512_storeu_ps(out + t * ldo, accf[t]);
}
#define PANEL_TILE panel_tile_avx512
#define TILE_MAX 8

/// int6 weights in groups of 16 (ggml's Q3_K and Q6_K kept): each half of
/// a 32-element activation block has its own weight scale, so the integer
/// sums stay apart per half, and the codes' offset (0..63 for -32..31)
/// comes back through the half blocks' sums.
INLINE void panel_tile16_avx512(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                                const uint8_t *w, const void *scales,
                                idx_t scale_kind, float *out, idx_t ldo) {
  __m512 accf[4];
  for (int t = 0; t < T; ++t)
    accf[t] = _mm512_setzero_ps();
  const idx_t nb = K / QBLOCK;
  for (idx_t b = 0; b < nb; ++b) {
    __m512i acc[4][2];
    for (int t = 0; t < T; ++t) {
      const int32_t *h = (const int32_t *)(xq + t * ldq + K + nb * 8);
      acc[t][0] = _mm512_set1_epi32(-32 * h[2 * b]);
      acc[t][1] = _mm512_set1_epi32(-32 * h[2 * b + 1]);
    }
    const uint8_t *xb = xq + b * QBLOCK;
    // As panel_tile_avx512's int6: u covers k 8u..8u+7, so u / 2 is the
    // half block.
    const uint8_t *wb = w + b * (QBLOCK * PANEL * 6 / 8);
    for (int u = 0; u < QBLOCK / 8; ++u) {
      __m512i lo, hi;
      avx512_codes(wb, u, 6, &lo, &hi);
      for (int t = 0; t < T; ++t) {
        const uint8_t *xt = xb + t * ldq + u * 8;
        acc[t][u / 2] = _mm512_dpbusd_epi32(acc[t][u / 2], lo,
                                            _mm512_set1_epi32(load_i32(xt)));
        acc[t][u / 2] = _mm512_dpbusd_epi32(acc[t][u / 2], hi,
                                            _mm512_set1_epi32(load_i32(xt + 4)));
      }
    }
    for (int half = 0; half < 2; ++half) {
      idx_t g = 2 * b + half;
      __m512 ws = avx512_scales(scales, scale_kind, g * PANEL);
      for (int t = 0; t < T; ++t) {
        const float *d = (const float *)(xq + t * ldq + K);
        accf[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t][half]),
                                  _mm512_mul_ps(ws, _mm512_set1_ps(d[b])), accf[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    _mm512_storeu_ps(out + t * ldo, accf[t]);
}
#define PANEL_TILE16 panel_tile16_avx512
#define TILE16_MAX 4

#elif LLMC_UK_AVX2

/// acc + the int8 weights' (`wv`, their magnitudes `aw`) products with 4
/// activation codes at `x`, per row: |w| against x with w's sign, as
/// vpmaddubsw wants one unsigned operand and its int16 pairs cannot hold
/// 255 x 127 x 2.
INLINE __m256i avx2_i8_dot(__m256i acc, __m256i aw, __m256i wv, const uint8_t *x) {
  __m256i xv = _mm256_set1_epi32(load_i32(x));
  __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wv));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/// T tokens' 16 outputs, each as two 8-row halves.
INLINE void avx2_store(float *out, idx_t ldo, int T, __m256 accf[][2]) {
  for (int t = 0; t < T; ++t) {
    _mm256_storeu_ps(out + t * ldo, accf[t][0]);
    _mm256_storeu_ps(out + t * ldo + 8, accf[t][1]);
  }
}

/// 8 rows' scales (f32, or f16 widened exactly).
INLINE __m256 avx2_scales(const void *scales, idx_t scale_kind, idx_t i) {
  if (scale_kind == 1)
    return _mm256_loadu_ps((const float *)scales + i);
  if (scale_kind == 0)
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)scales + i)));
  const uint8_t *run = scale_run(scales, scale_kind, i);
  __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
      _mm_loadl_epi64((const __m128i *)scale_sub(run, scale_kind, i))));
  return _mm256_mul_ps(q, _mm256_loadu_ps((const float *)run + i % PANEL));
}

/// The int4 or int6 codes of 8 rows (the half of the panel at `wb`, as
/// avx512_codes with the same offsets) x k 8u..8u+7.
INLINE void avx2_codes(const uint8_t *wb, int u, int bits, __m256i *lo, __m256i *hi) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i raw = _mm256_loadu_si256((const __m256i *)(wb + u * 64));
  *lo = _mm256_and_si256(raw, low4);
  *hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
  if (bits == 6) {
    const __m256i top2 = _mm256_set1_epi8(0x30);
    __m256i top = _mm256_loadu_si256((const __m256i *)(wb + 256 + (u / 2) * 64));
    __m256i tlo = u % 2 ? top : _mm256_slli_epi16(top, 4);
    __m256i thi = u % 2 ? _mm256_srli_epi16(top, 2) : _mm256_slli_epi16(top, 2);
    *lo = _mm256_or_si256(*lo, _mm256_and_si256(tlo, top2));
    *hi = _mm256_or_si256(*hi, _mm256_and_si256(thi, top2));
  }
}

/// As the AVX-512 tile, in two 8-row halves. No VNNI: vpmaddubsw (unsigned
/// x signed bytes to saturating int16 pairs) then vpmaddwd. Its int16
/// cannot hold 255 x 127 x 2, so int8 weights stay signed and go in as
/// |w| against the activation with w's sign (ggml's trick); int4 codes
/// (0..15) go in as they are.
INLINE void panel_tile_avx2(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                            int bits, const uint8_t *w, const void *scales,
                            const void *mins, idx_t scale_kind, idx_t group,
                            float *out, idx_t ldo) {
  __m256 accf[2][2];
  for (int t = 0; t < T; ++t)
    accf[t][0] = accf[t][1] = _mm256_setzero_ps();
  const idx_t nb = K / QBLOCK;
  const __m256i ones = _mm256_set1_epi16(1);
  for (idx_t b = 0; b < nb; ++b) {
    __m256i acci[2][2];
    for (int t = 0; t < T; ++t) {
      const int32_t *s = (const int32_t *)(xq + t * ldq + K + nb * 4);
      acci[t][0] = acci[t][1] = _mm256_set1_epi32(
          bits == 8 || mins ? 0 : (bits == 6 ? -32 : -8) * s[b]);
    }
    const uint8_t *xb = xq + b * QBLOCK;
    if (bits == 8) {
      const uint8_t *wb = w + b * (QBLOCK * PANEL);
      for (int u = 0; u < QBLOCK / 4; ++u) {
        for (int h = 0; h < 2; ++h) {
          __m256i wv = _mm256_loadu_si256((const __m256i *)(wb + u * 64 + h * 32));
          __m256i aw = _mm256_abs_epi8(wv);
          for (int t = 0; t < T; ++t)
            acci[t][h] = avx2_i8_dot(acci[t][h], aw, wv, xb + t * ldq + u * 4);
        }
      }
    } else {
      // int6 codes (0..63) keep vpmaddubsw's int16 sums in range: 4 x 63 x
      // 127 < 32767.
      const uint8_t *wb = w + b * (QBLOCK * PANEL * bits / 8);
      for (int u = 0; u < QBLOCK / 8; ++u) {
        for (int h = 0; h < 2; ++h) {
          __m256i lo, hi;
          avx2_codes(wb + h * 32, u, bits, &lo, &hi);
          for (int t = 0; t < T; ++t) {
            const uint8_t *xt = xb + t * ldq + u * 8;
            __m256i p = _mm256_add_epi16(
                _mm256_maddubs_epi16(lo, _mm256_set1_epi32(load_i32(xt))),
                _mm256_maddubs_epi16(hi, _mm256_set1_epi32(load_i32(xt + 4))));
            acci[t][h] = _mm256_add_epi32(acci[t][h], _mm256_madd_epi16(p, ones));
          }
        }
      }
    }
    idx_t g = b * QBLOCK / group;
    for (int h = 0; h < 2; ++h) {
      __m256 ws = avx2_scales(scales, scale_kind, g * PANEL + h * 8);
      for (int t = 0; t < T; ++t) {
        const float *d = (const float *)(xq + t * ldq + K);
        accf[t][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acci[t][h]),
                                     _mm256_mul_ps(ws, _mm256_set1_ps(d[b])),
                                     accf[t][h]);
      }
      if (mins) {
        __m256 wm = avx2_scales(mins, scale_kind, g * PANEL + h * 8);
        for (int t = 0; t < T; ++t) {
          const float *d = (const float *)(xq + t * ldq + K);
          const int32_t *sum = (const int32_t *)(d + nb);
          accf[t][h] = _mm256_fmadd_ps(wm, _mm256_set1_ps(d[b] * (float)sum[b]),
                                       accf[t][h]);
        }
      }
    }
  }
  avx2_store(out, ldo, T, accf);
}
#define PANEL_TILE panel_tile_avx2
#define TILE_MAX 2

/// int6 weights in groups of 16: as the AVX-512 variant, in two 8-row
/// halves, the codes as panel_tile_avx2 takes int6's.
INLINE void panel_tile16_avx2(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                              const uint8_t *w, const void *scales,
                              idx_t scale_kind, float *out, idx_t ldo) {
  __m256 accf[2][2];
  for (int t = 0; t < T; ++t)
    accf[t][0] = accf[t][1] = _mm256_setzero_ps();
  const idx_t nb = K / QBLOCK;
  const __m256i ones = _mm256_set1_epi16(1);
  for (idx_t b = 0; b < nb; ++b) {
    __m256i acc[2][2][2]; // token, half block, 8-row half
    for (int t = 0; t < T; ++t) {
      const int32_t *hs = (const int32_t *)(xq + t * ldq + K + nb * 8);
      for (int s = 0; s < 2; ++s)
        acc[t][s][0] = acc[t][s][1] = _mm256_set1_epi32(-32 * hs[2 * b + s]);
    }
    const uint8_t *xb = xq + b * QBLOCK;
    const uint8_t *wb = w + b * (QBLOCK * PANEL * 6 / 8);
    for (int u = 0; u < QBLOCK / 8; ++u)
      for (int h = 0; h < 2; ++h) {
        __m256i lo, hi;
        avx2_codes(wb + h * 32, u, 6, &lo, &hi);
        for (int t = 0; t < T; ++t) {
          const uint8_t *xt = xb + t * ldq + u * 8;
          __m256i p = _mm256_add_epi16(
              _mm256_maddubs_epi16(lo, _mm256_set1_epi32(load_i32(xt))),
              _mm256_maddubs_epi16(hi, _mm256_set1_epi32(load_i32(xt + 4))));
          acc[t][u / 2][h] = _mm256_add_epi32(acc[t][u / 2][h], _mm256_madd_epi16(p, ones));
        }
      }
    for (int s = 0; s < 2; ++s) {
      idx_t g = 2 * b + s;
      for (int h = 0; h < 2; ++h) {
        __m256 ws = avx2_scales(scales, scale_kind, g * PANEL + h * 8);
        for (int t = 0; t < T; ++t) {
          const float *d = (const float *)(xq + t * ldq + K);
          accf[t][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t][s][h]),
                                       _mm256_mul_ps(ws, _mm256_set1_ps(d[b])),
                                       accf[t][h]);
        }
      }
    }
  }
  avx2_store(out, ldo, T, accf);
}
#define PANEL_TILE16 panel_tile16_avx2
#define TILE16_MAX 2

#elif LLMC_UK_NEON_DOT

/// One quad of int8 weights: 16 rows x 4 codes, 4 rows a register.
INLINE void load_quad(int8x16_t wv[4], const int8_t *p) {
  for (int v = 0; v < 4; ++v)
    wv[v] = vld1q_s8(p + v * 16);
}

/// acc[v] (rows 4v..4v+3) += one quad of int8 weights (`wv`, 16 rows x 4
/// codes) times the 4 activation codes at `x`.
INLINE void sdot_quad(int32x4_t acc[4], const int8x16_t wv[4], const uint8_t *x) {
  int8x16_t xv = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(x)));
  for (int v = 0; v < 4; ++v)
    acc[v] = vdotq_s32(acc[v], wv[v], xv);
}

/// The int4 or int6 codes of 4 rows (the quarter of the panel at `wb`, as
/// avx512_codes with the same offsets) x k 8u..8u+7, as sdot's operands.
INLINE void neon_codes(const uint8_t *wb, int u, int bits, int8x16_t *lo, int8x16_t *hi) {
  uint8x16_t raw = vld1q_u8(wb + u * 64);
  uint8x16_t l4 = vandq_u8(raw, vdupq_n_u8(0x0f)), h4 = vshrq_n_u8(raw, 4);
  if (bits == 6) {
    const uint8x16_t top2 = vdupq_n_u8(0x30);
    uint8x16_t top = vld1q_u8(wb + 256 + (u / 2) * 64);
    uint8x16_t tlo = u % 2 ? top : vshlq_n_u8(top, 4);
    uint8x16_t thi = u % 2 ? vshrq_n_u8(top, 2) : vshlq_n_u8(top, 2);
    l4 = vorrq_u8(l4, vandq_u8(tlo, top2));
    h4 = vorrq_u8(h4, vandq_u8(thi, top2));
  }
  *lo = vreinterpretq_s8_u8(l4);
  *hi = vreinterpretq_s8_u8(h4);
}

/// Four rows' scales (f32, or f16 widened exactly).
INLINE float32x4_t neon_scales(const void *scales, idx_t scale_kind, idx_t i) {
  if (scale_kind == 1)
    return vld1q_f32((const float *)scales + i);
  if (scale_kind == 0)
    return vcvt_f32_f16(
        vreinterpret_f16_u16(vld1_u16((const uint16_t *)scales + i)));
  const uint8_t *run = scale_run(scales, scale_kind, i);
  // Four int8 sub-scales (a 4-byte load: the last run ends the buffer).
  int16x8_t q16 = vmovl_s8(vreinterpret_s8_s32(
      vdup_n_s32(load_i32(scale_sub(run, scale_kind, i)))));
  float32x4_t q = vcvtq_f32_s32(vmovl_s16(vget_low_s16(q16)));
  return vmulq_f32(q, vld1q_f32((const float *)run + i % PANEL));
}

/// T (1 or 2) rows of xq times one panel with `sdot`: the panel's quad
/// layout is sdot's operand as it is (4 rows x 4 bytes per register), and
/// both int8 operands are signed, so int8 weights need no offset; int4
/// codes (0..15) are corrected by -8 x the block's activation sum. Two
/// tokens are the most that keep their 2 x 16 accumulators (int32 and f32)
/// in the 32 vector registers beside the weights.
INLINE void panel_tile_sdot(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                            int bits, const uint8_t *w, const void *scales,
                            const void *mins, idx_t scale_kind, idx_t group,
                            float *out, idx_t ldo) {
  float32x4_t accf[2][4];
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 4; ++v)
      accf[t][v] = vdupq_n_f32(0.0f);
  const idx_t nb = K / QBLOCK;
  for (idx_t b = 0; b < nb; ++b) {
    int32x4_t acci[2][4];
    for (int t = 0; t < T; ++t) {
      const int32_t *s = (const int32_t *)(xq + t * ldq + K + nb * 4);
      int32x4_t init =
          vdupq_n_s32(bits == 8 || mins ? 0 : (bits == 6 ? -32 : -8) * s[b]);
      for (int v = 0; v < 4; ++v)
        acci[t][v] = init;
    }
    const uint8_t *xb = xq + b * QBLOCK;
    if (bits == 8) {
      const int8_t *wb = (const int8_t *)w + b * (QBLOCK * PANEL);
      for (int u = 0; u < QBLOCK / 4; ++u) {
        int8x16_t wv[4];
        load_quad(wv, wb + u * 64);
        for (int t = 0; t < T; ++t)
          sdot_quad(acci[t], wv, xb + t * ldq + u * 4);
      }
    } else {
      const uint8_t *wb = w + b * (QBLOCK * PANEL * bits / 8);
      for (int u = 0; u < QBLOCK / 8; ++u) {
        int8x16_t lo[4], hi[4];
        for (int v = 0; v < 4; ++v)
          neon_codes(wb + v * 16, u, bits, &lo[v], &hi[v]);
        for (int t = 0; t < T; ++t) {
          const uint8_t *xt = xb + t * ldq + u * 8;
          int8x16_t xlo = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xt)));
          int8x16_t xhi = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xt + 4)));
          for (int v = 0; v < 4; ++v)
            acci[t][v] = vdotq_s32(vdotq_s32(acci[t][v], lo[v], xlo), hi[v], xhi);
        }
      }
    }
    idx_t g = b * QBLOCK / group;
    for (int v = 0; v < 4; ++v) {
      float32x4_t ws = neon_scales(scales, scale_kind, g * PANEL + v * 4);
      for (int t = 0; t < T; ++t) {
        const float *d = (const float *)(xq + t * ldq + K);
        accf[t][v] = vfmaq_f32(accf[t][v], vcvtq_f32_s32(acci[t][v]),
                               vmulq_n_f32(ws, d[b]));
      }
      if (mins) {
        float32x4_t wm = neon_scales(mins, scale_kind, g * PANEL + v * 4);
        for (int t = 0; t < T; ++t) {
          const float *d = (const float *)(xq + t * ldq + K);
          const int32_t *sum = (const int32_t *)(d + nb);
          accf[t][v] = vfmaq_n_f32(accf[t][v], wm, d[b] * (float)sum[b]);
        }
      }
    }
  }
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 4; ++v)
      vst1q_f32(out + t * ldo + v * 4, accf[t][v]);
}
#define PANEL_TILE panel_tile_sdot
#define TILE_MAX 2

/// int6 weights in groups of 16 with sdot (codes 0..63 corrected by -32 x
/// the half block's activation sum), the integer sums kept apart per half
/// block.
INLINE void panel_tile16_sdot(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                              const uint8_t *w, const void *scales,
                              idx_t scale_kind, float *out, idx_t ldo) {
  float32x4_t accf[2][4];
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 4; ++v)
      accf[t][v] = vdupq_n_f32(0.0f);
  const idx_t nb = K / QBLOCK;
  for (idx_t b = 0; b < nb; ++b) {
    int32x4_t acc[2][2][4]; // token, half block, 4 rows
    for (int t = 0; t < T; ++t) {
      const int32_t *hs = (const int32_t *)(xq + t * ldq + K + nb * 8);
      for (int s = 0; s < 2; ++s)
        for (int v = 0; v < 4; ++v)
          acc[t][s][v] = vdupq_n_s32(-32 * hs[2 * b + s]);
    }
    const uint8_t *xb = xq + b * QBLOCK;
    const uint8_t *wb = w + b * (QBLOCK * PANEL * 6 / 8);
    for (int u = 0; u < QBLOCK / 8; ++u) {
      int8x16_t lo[4], hi[4];
      for (int v = 0; v < 4; ++v)
        neon_codes(wb + v * 16, u, 6, &lo[v], &hi[v]);
      for (int t = 0; t < T; ++t) {
        const uint8_t *xt = xb + t * ldq + u * 8;
        int8x16_t xlo = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xt)));
        int8x16_t xhi = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xt + 4)));
        for (int v = 0; v < 4; ++v)
          acc[t][u / 2][v] = vdotq_s32(vdotq_s32(acc[t][u / 2][v], lo[v], xlo), hi[v], xhi);
      }
    }
    for (int s = 0; s < 2; ++s)
      for (int v = 0; v < 4; ++v) {
        float32x4_t ws = neon_scales(scales, scale_kind, (2 * b + s) * PANEL + v * 4);
        for (int t = 0; t < T; ++t) {
          const float *d = (const float *)(xq + t * ldq + K);
          accf[t][v] = vfmaq_f32(accf[t][v], vcvtq_f32_s32(acc[t][s][v]),
                                 vmulq_n_f32(ws, d[b]));
        }
      }
  }
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 4; ++v)
      vst1q_f32(out + t * ldo + v * 4, accf[t][v]);
}
#define PANEL_TILE16 panel_tile16_sdot
#define TILE16_MAX 2

#if LLMC_UK_NEON_I8MM
/// Two rows of xq times one panel with `smmla` (a 2x8 by 8x2 int8 product
/// into a 2x2 int32 tile per instruction: twice sdot's multiplies). smmla
/// wants 8 consecutive k of two weight rows; the quad layout has 4, so one
/// zip of two quads makes them (the layout stays sdot's, which decode uses).
/// Accumulator p holds rows 2p, 2p+1 of both tokens: [t0r0 t0r1 t1r0 t1r1].
/// Same products and roundings as panel_tile_sdot, so the same numbers.
INLINE void panel_pair_mmla(const uint8_t *xq, idx_t ldq, idx_t K, int bits,
                            const uint8_t *w, const void *scales,
                            const void *mins, idx_t scale_kind, idx_t group,
                            float *out, idx_t ldo) {
  float32x4_t accf[8];
  for (int p = 0; p < 8; ++p)
    accf[p] = vdupq_n_f32(0.0f);
  const idx_t nb = K / QBLOCK;
  const uint8x16_t low4 = vdupq_n_u8(0x0f);
  const int8_t *x0 = (const int8_t *)xq, *x1 = (const int8_t *)(xq + ldq);
  const float *d0 = (const float *)(xq + K), *d1 = (const float *)(xq + ldq + K);
  const int32_t *s0 = (const int32_t *)(d0 + nb), *s1 = (const int32_t *)(d1 + nb);
  for (idx_t b = 0; b < nb; ++b) {
    int32x4_t acci[8];
    int32x4_t init = bits == 8 || mins ? vdupq_n_s32(0)
                               : vcombine_s32(vdup_n_s32(-8 * s0[b]),
                                              vdup_n_s32(-8 * s1[b]));
    for (int p = 0; p < 8; ++p)
      acci[p] = init;
    for (int u = 0; u < QBLOCK / 8; ++u) {
      int8x16_t a = vcombine_s8(vld1_s8(x0 + b * QBLOCK + u * 8),
                                vld1_s8(x1 + b * QBLOCK + u * 8));
      for (int v = 0; v < 4; ++v) {
        int32x4_t k03, k47; // rows 4v..4v+3: k 0..3 and k 4..7
        if (bits == 8) {
          const int8_t *wb = (const int8_t *)w + b * (QBLOCK * PANEL) + u * 128;
          k03 = vreinterpretq_s32_s8(vld1q_s8(wb + v * 16));
          k47 = vreinterpretq_s32_s8(vld1q_s8(wb + 64 + v * 16));
        } else {
          uint8x16_t raw = vld1q_u8(w + b * (QBLOCK * PANEL / 2) + u * 64 + v * 16);
          k03 = vreinterpretq_s32_u8(vandq_u8(raw, low4));
          k47 = vreinterpretq_s32_u8(vshrq_n_u8(raw, 4));
        }
        acci[2 * v] = vmmlaq_s32(acci[2 * v], a,
                                 vreinterpretq_s8_s32(vzip1q_s32(k03, k47)));
        acci[2 * v + 1] = vmmlaq_s32(acci[2 * v + 1], a,
                                     vreinterpretq_s8_s32(vzip2q_s32(k03, k47)));
      }
    }
    idx_t g = b * QBLOCK / group;
    float32x4_t dd = vcombine_f32(vdup_n_f32(d0[b]), vdup_n_f32(d1[b]));
    for (int v = 0; v < 4; ++v) {
      float32x4_t ws = neon_scales(scales, scale_kind, g * PANEL + v * 4);
      float32x2_t lo = vget_low_f32(ws), hi = vget_high_f32(ws);
      accf[2 * v] = vfmaq_f32(accf[2 * v], vcvtq_f32_s32(acci[2 * v]),
                              vmulq_f32(vcombine_f32(lo, lo), dd));
      accf[2 * v + 1] = vfmaq_f32(accf[2 * v + 1], vcvtq_f32_s32(acci[2 * v + 1]),
                                  vmulq_f32(vcombine_f32(hi, hi), dd));
      if (mins) {
        float32x4_t wm = neon_scales(mins, scale_kind, g * PANEL + v * 4);
        float32x2_t mlo = vget_low_f32(wm), mhi = vget_high_f32(wm);
        float32x4_t ms = vcombine_f32(vdup_n_f32(d0[b] * (float)s0[b]),
                                      vdup_n_f32(d1[b] * (float)s1[b]));
        accf[2 * v] = vfmaq_f32(accf[2 * v], vcombine_f32(mlo, mlo), ms);
        accf[2 * v + 1] = vfmaq_f32(accf[2 * v + 1], vcombine_f32(mhi, mhi), ms);
      }
    }
  }
  for (int p = 0; p < 8; ++p) {
    vst1_f32(out + 2 * p, vget_low_f32(accf[p]));
    vst1_f32(out + ldo + 2 * p, vget_high_f32(accf[p]));
  }
}
#define PANEL_PAIR panel_pair_mmla
#endif

#else

/// Plain C over the same layout (other targets, until their own variant).
INLINE void panel_tile_c(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                         int bits, const uint8_t *w, const void *scales,
                         const void *mins, idx_t scale_kind, idx_t group,
                         float *out, idx_t ldo) {
  const idx_t nb = K / QBLOCK;
  for (int t = 0; t < T; ++t) {
    const uint8_t *xr = xq + t * ldq;
    const float *d = (const float *)(xr + K);
    const int32_t *s = (const int32_t *)(d + nb);
    float acc[PANEL] = {0};
    for (idx_t b = 0; b < nb; ++b) {
      int32_t dot[PANEL];
      for (int r = 0; r < PANEL; ++r)
        dot[r] = bits == 8 || mins ? 0 : (bits == 6 ? -32 : -8) * s[b];
      const int8_t *xb = (const int8_t *)xr + b * QBLOCK;
      if (bits == 8) {
        const int8_t *wb = (const int8_t *)w + b * (QBLOCK * PANEL);
        for (int u = 0; u < QBLOCK / 4; ++u)
          for (int r = 0; r < PANEL; ++r)
            for (int i = 0; i < 4; ++i)
              dot[r] += wb[u * 64 + r * 4 + i] * xb[u * 4 + i];
      } else {
        const uint8_t *wb = w + b * (QBLOCK * PANEL * bits / 8);
        for (int u = 0; u < QBLOCK / 8; ++u)
          for (int r = 0; r < PANEL; ++r)
            for (int i = 0; i < 4; ++i) {
              uint8_t byte = wb[u * 64 + r * 4 + i];
              int lo = byte & 15, hi = byte >> 4;
              if (bits == 6) {
                uint8_t top = wb[256 + (u / 2) * 64 + r * 4 + i] >> (u % 2 * 4);
                lo |= (top & 3) << 4;
                hi |= (top >> 2 & 3) << 4;
              }
              dot[r] += lo * xb[u * 8 + i] + hi * xb[u * 8 + 4 + i];
            }
      }
      idx_t g = b * QBLOCK / group;
      for (int r = 0; r < PANEL; ++r) {
        acc[r] += (float)dot[r] * (scale_at(scales, scale_kind, g * PANEL + r) * d[b]);
        if (mins)
          acc[r] += scale_at(mins, scale_kind, g * PANEL + r) * (d[b] * (float)s[b]);
      }
    }
    for (int r = 0; r < PANEL; ++r)
      out[t * ldo + r] = acc[r];
  }
}
#define PANEL_TILE panel_tile_c
#define TILE_MAX 1

/// int6 weights in groups of 16, plain C.
INLINE void panel_tile16_c(const uint8_t *xq, idx_t ldq, int T, idx_t K,
                           const uint8_t *w, const void *scales,
                           idx_t scale_kind, float *out, idx_t ldo) {
  const idx_t nb = K / QBLOCK;
  for (int t = 0; t < T; ++t) {
    const uint8_t *xr = xq + t * ldq;
    const float *d = (const float *)(xr + K);
    float acc[PANEL] = {0};
    for (idx_t b = 0; b < nb; ++b) {
      const int8_t *xb = (const int8_t *)xr + b * QBLOCK;
      const uint8_t *wb = w + b * (QBLOCK * PANEL * 6 / 8);
      for (int s = 0; s < 2; ++s)
        for (int r = 0; r < PANEL; ++r) {
          int32_t dot = 0;
          for (int u = 2 * s; u < 2 * s + 2; ++u)
            for (int i = 0; i < 4; ++i) {
              uint8_t byte = wb[u * 64 + r * 4 + i];
              uint8_t top = wb[256 + (u / 2) * 64 + r * 4 + i] >> (u % 2 * 4);
              int lo = (byte & 15) | (top & 3) << 4, hi = (byte >> 4) | (top >> 2 & 3) << 4;
              dot += (lo - 32) * xb[u * 8 + i] + (hi - 32) * xb[u * 8 + 4 + i];
            }
          acc[r] += (float)dot *
                    (scale_at(scales, scale_kind, (2 * b + s) * PANEL + r) * d[b]);
        }
    }
    for (int r = 0; r < PANEL; ++r)
      out[t * ldo + r] = acc[r];
  }
}
#define PANEL_TILE16 panel_tile16_c
#define TILE16_MAX 1

#endif

/// out[t][0..15] (rows `ldo` floats apart) = panel `panel` of the packed
/// weight at `w_addr` times the n quantized activation rows at `xq_addr`.
/// Tokens go in tiles (8 on AVX-512) that share each loaded weight vector;
/// the panel (16 x K bytes or half that) stays in cache across the tiles.
ENTRY void llmc_uk_panel_dot(idx_t xq_addr, idx_t ldq, idx_t n, idx_t K, idx_t bits,
                       idx_t w_addr, idx_t scales_addr, idx_t mins_addr,
                       idx_t scale_kind, idx_t group, idx_t panel,
                       idx_t out_addr, idx_t ldo) {
  const uint8_t *xq = (const uint8_t *)xq_addr;
  const uint8_t *w = (const uint8_t *)w_addr + panel * PANEL * K * bits / 8;
  const idx_t panel_scales = panel * panel_scale_bytes(K, group, scale_kind);
  const uint8_t *scales = (const uint8_t *)scales_addr + panel_scales;
  const uint8_t *mins =
      mins_addr ? (const uint8_t *)mins_addr + panel_scales : (const uint8_t *)0;
  float *out = (float *)out_addr;
  idx_t t = 0;
  if (group == 16) {
    // Groups of 16 are int6 (QuantLayout.h: the one packed form of them).
    for (; t + TILE16_MAX <= n; t += TILE16_MAX)
      PANEL_TILE16(xq + t * ldq, ldq, TILE16_MAX, K, w, scales, scale_kind,
                   out + t * ldo, ldo);
    for (; t < n; ++t)
      PANEL_TILE16(xq + t * ldq, ldq, 1, K, w, scales, scale_kind, out + t * ldo, ldo);
    return;
  }
#if TILE_MAX >= 8
  for (; t + 8 <= n; t += 8)
    PANEL_TILE(xq + t * ldq, ldq, 8, K, (int)bits, w, scales, mins, scale_kind, group,
               out + t * ldo, ldo);
  if (t + 4 <= n) {
    PANEL_TILE(xq + t * ldq, ldq, 4, K, (int)bits, w, scales, mins, scale_kind, group,
               out + t * ldo, ldo);
    t += 4;
  }
#endif
#if defined(PANEL_PAIR)
  // smmla's operands are 8 consecutive k of two rows; int6's top bits are
  // laid out for the sdot tile (it reads them as it reads int4's nibbles).
  if (bits != 6)
    for (; t + 2 <= n; t += 2)
      PANEL_PAIR(xq + t * ldq, ldq, K, (int)bits, w, scales, mins, scale_kind, group,
                 out + t * ldo, ldo);
#endif
#if TILE_MAX >= 2
  for (; t + 2 <= n; t += 2)
    PANEL_TILE(xq + t * ldq, ldq, 2, K, (int)bits, w, scales, mins, scale_kind, group,
               out + t * ldo, ldo);
#endif
  for (; t < n; ++t)
    PANEL_TILE(xq + t * ldq, ldq, 1, K, (int)bits, w, scales, mins, scale_kind, group,
               out + t * ldo, ldo);
}

//===----------------------------------------------------------------------===//
// Embedding rows out of a packed weight (a tied lm_head shares it)
//===----------------------------------------------------------------------===//

/// out[0..K) = row `row` of the packed weight, dequantized.
ENTRY void llmc_uk_panel_row(idx_t w_addr, idx_t scales_addr, idx_t mins_addr,
                       idx_t scale_kind, idx_t K, idx_t bits, idx_t group,
                       idx_t row, idx_t out_addr) {
  idx_t panel = row / PANEL, r = row % PANEL;
  const uint8_t *w = (const uint8_t *)w_addr + panel * PANEL * K * bits / 8;
  const idx_t panel_scales = panel * panel_scale_bytes(K, group, scale_kind);
  const uint8_t *scales = (const uint8_t *)scales_addr + panel_scales;
  const uint8_t *mins =
      mins_addr ? (const uint8_t *)mins_addr + panel_scales : (const uint8_t *)0;
  float *out = (float *)out_addr;
  for (idx_t k = 0; k < K; ++k) {
    float q;
    if (bits == 8) {
      q = (float)((const int8_t *)w)[(k / 4) * 64 + r * 4 + k % 4];
    } else if (bits == 6) {
      const uint8_t *blk = w + (k / QBLOCK) * (QBLOCK * PANEL * 6 / 8);
      idx_t kk = k % QBLOCK, u = kk / 8;
      uint8_t byte = blk[u * 64 + r * 4 + kk % 4];
      int high = kk % 8 >= 4;
      int code = (high ? byte >> 4 : byte & 15) |
                 (blk[256 + (u / 2) * 64 + r * 4 + kk % 4] >> (u % 2 * 4 + high * 2) & 3) << 4;
      q = (float)(code - (mins ? 0 : 32));
    } else {
      uint8_t byte = w[(k / 8) * 64 + r * 4 + k % 4];
      q = (float)((k % 8 < 4 ? byte & 15 : byte >> 4) - (mins ? 0 : 8));
    }
    out[k] = q * scale_at(scales, scale_kind, (k / group) * PANEL + r);
    if (mins)
      out[k] += scale_at(mins, scale_kind, (k / group) * PANEL + r);
  }
}
