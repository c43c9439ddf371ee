//===- GGMLBlocks.cpp - ggml's quantized block formats, decoded ----------===//
//
// Bit-exactness with ggml rests on three things: the scales are formed in
// f32 in ggml's order (d * sub_scale, dmin * sub_min), the code is
// multiplied last, and nothing is contracted into an FMA (this file is
// built with -ffp-contract=off). The unit tests compare every format with
// the `gguf` package's dequantizers, block by block.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/GGMLBlocks.h"

#include "dialects/llm/QuantLayout.h"

#include <vector>

namespace llmc::ggml {

namespace {

float half(const uint8_t *b) { return quant::halfToFloat(uint16_t(b[0] | b[1] << 8)); }
uint32_t le32(const uint8_t *b) {
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
         uint32_t(b[3]) << 24;
}

/// IQ4_NL's code book (ggml-common.h kvalues_iq4nl).
constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};

/// Q4_K / Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes: j < 4 in
/// the low 6 bits of bytes j (scale) and j + 4 (min); j >= 4 in the nibbles
/// of byte j + 4 with their top two bits in the spare bits of bytes j - 4
/// (scale) and j (min). ggml's get_scale_min_k4.
void scaleMinK4(int j, const uint8_t *q, int &sc, int &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// The 32-element formats: an f16 scale (and f16 min) first, the codes in
/// "split halves" order (byte j: element j low nibble, j + 16 high nibble),
/// Q5's fifth bits in a little-endian u32 (bit e for element e).
void decode32(GGMLType t, const uint8_t *b, int8_t *q, float *d, float *m) {
  d[0] = half(b);
  switch (t) {
  case GGMLType::Q8_0:
    for (int j = 0; j < 32; ++j)
      q[j] = int8_t(b[2 + j]);
    return;
  case GGMLType::Q4_0:
  case GGMLType::IQ4_NL:
    for (int j = 0; j < 16; ++j) {
      int lo = b[2 + j] & 15, hi = b[2 + j] >> 4;
      q[j] = int8_t(t == GGMLType::Q4_0 ? lo - 8 : kIQ4NL[lo]);
      q[j + 16] = int8_t(t == GGMLType::Q4_0 ? hi - 8 : kIQ4NL[hi]);
    }
    return;
  case GGMLType::Q4_1:
    m[0] = half(b + 2);
    for (int j = 0; j < 16; ++j) {
      q[j] = int8_t(b[4 + j] & 15);
      q[j + 16] = int8_t(b[4 + j] >> 4);
    }
    return;
  case GGMLType::Q5_0:
  case GGMLType::Q5_1: {
    bool asym = t == GGMLType::Q5_1;
    if (asym)
      m[0] = half(b + 2);
    const uint8_t *qhp = b + (asym ? 4 : 2), *qs = qhp + 4;
    uint32_t qh = le32(qhp);
    int offset = asym ? 0 : 16;
    for (int j = 0; j < 16; ++j) {
      q[j] = int8_t(((qs[j] & 15) | ((qh >> j) & 1) << 4) - offset);
      q[j + 16] = int8_t(((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - offset);
    }
    return;
  }
  default:
    return;
  }
}

/// Q2_K (84 bytes): 16 scale bytes (low nibble the sub-block's scale, high
/// its min), 64 bytes of 2-bit codes, then d and dmin. Code byte 32n + l
/// holds elements 128n + 32s + l at bit 2s.
void decodeQ2K(const uint8_t *b, int8_t *q, float *d, float *m) {
  float dd = half(b + 80), dmin = half(b + 82);
  for (int s = 0; s < 16; ++s) {
    d[s] = dd * float(b[s] & 0xF);
    m[s] = -(dmin * float(b[s] >> 4));
  }
  for (int e = 0; e < 256; ++e) {
    int n = e / 128, s = e % 128 / 32, l = e % 32;
    q[e] = int8_t((b[16 + 32 * n + l] >> (2 * s)) & 3);
  }
}

/// Q3_K (110 bytes): 32 bytes of inverted third bits (bit e / 32 of byte
/// e % 32: set adds nothing, clear subtracts 4), 64 bytes of 2-bit codes as
/// Q2_K, 16 six-bit scales biased by 32 in 12 bytes (low nibbles in bytes
/// 0..7, scale j >= 8 in the high nibble of byte j - 8; top two bits in
/// byte 8 + j % 4 at bit 2 * (j / 4)), then d.
void decodeQ3K(const uint8_t *b, int8_t *q, float *d) {
  const uint8_t *s = b + 96;
  float dd = half(b + 108);
  for (int j = 0; j < 16; ++j) {
    int low4 = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    d[j] = dd * float((low4 | high2 << 4) - 32);
  }
  for (int e = 0; e < 256; ++e) {
    int n = e / 128, sh = e % 128 / 32, l = e % 32;
    int low2 = (b[32 + 32 * n + l] >> (2 * sh)) & 3;
    int hbit = (b[l] >> (e / 32)) & 1;
    q[e] = int8_t(low2 - (hbit ? 0 : 4));
  }
}

/// Q4_K (144 bytes) / Q5_K (176): d, dmin, 12 bytes of six-bit scales and
/// mins (scaleMinK4), Q5_K's fifth bits (bit e / 32 of byte e % 32), then
/// the nibbles: byte 32c + l holds element 64c + l low, 64c + 32 + l high.
void decodeQ45K(bool five, const uint8_t *b, int8_t *q, float *d, float *m) {
  float dd = half(b), dmin = half(b + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, mn;
    scaleMinK4(j, b + 4, sc, mn);
    d[j] = dd * float(sc);
    m[j] = -(dmin * float(mn));
  }
  const uint8_t *qh = b + 16, *qs = b + (five ? 48 : 16);
  for (int e = 0; e < 256; ++e) {
    int c = e / 64, r = e % 64, l = r % 32;
    int v = r < 32 ? qs[32 * c + l] & 15 : qs[32 * c + l] >> 4;
    if (five)
      v += 16 * ((qh[l] >> (e / 32)) & 1);
    q[e] = int8_t(v);
  }
}

/// Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of high bit pairs,
/// 16 int8 scales, then d. In half n, element 128n + 32k + l takes nibble
/// k / 2 of byte 64n + l + 32 (k % 2) and bits 2k of byte 128 + 32n + l.
void decodeQ6K(const uint8_t *b, int8_t *q, float *d) {
  float dd = half(b + 208);
  for (int s = 0; s < 16; ++s)
    d[s] = dd * float(int8_t(b[192 + s]));
  for (int e = 0; e < 256; ++e) {
    int n = e / 128, r = e % 128, k = r / 32, l = r % 32;
    uint8_t byte = b[64 * n + l + 32 * (k & 1)];
    int lo4 = k < 2 ? byte & 15 : byte >> 4;
    int hi2 = (b[128 + 32 * n + l] >> (2 * k)) & 3;
    q[e] = int8_t((lo4 | hi2 << 4) - 32);
  }
}

} // namespace

std::optional<BlockForm> blockForm(GGMLType t) {
  BlockForm f;
  auto make = [&](int elems, int bytes, int group, bool asym, int lo, int hi,
                  bool halfScales) {
    f.elems = elems;
    f.bytes = bytes;
    f.group = group;
    f.asymmetric = asym;
    f.codeMin = lo;
    f.codeMax = hi;
    f.halfScales = halfScales;
    return f;
  };
  switch (t) {
  case GGMLType::Q4_0: return make(32, 18, 32, false, -8, 7, true);
  case GGMLType::Q4_1: return make(32, 20, 32, true, 0, 15, true);
  case GGMLType::Q5_0: return make(32, 22, 32, false, -16, 15, true);
  case GGMLType::Q5_1: return make(32, 24, 32, true, 0, 31, true);
  case GGMLType::Q8_0: return make(32, 34, 32, false, -128, 127, true);
  case GGMLType::IQ4_NL: return make(32, 18, 32, false, -127, 113, true);
  case GGMLType::Q2_K: return make(256, 84, 16, true, 0, 3, false);
  case GGMLType::Q3_K: return make(256, 110, 16, false, -4, 3, false);
  case GGMLType::Q4_K: return make(256, 144, 32, true, 0, 15, false);
  case GGMLType::Q5_K: return make(256, 176, 32, true, 0, 31, false);
  case GGMLType::Q6_K: return make(256, 210, 16, false, -32, 31, false);
  default: return std::nullopt;
  }
}

void decodeBlocks(GGMLType t, const uint8_t *src, int64_t nBlocks,
                  int8_t *codes, float *scales, float *mins) {
  std::optional<BlockForm> f = blockForm(t);
  if (!f)
    return;
  int groups = f->elems / f->group;
  for (int64_t i = 0; i < nBlocks; ++i) {
    const uint8_t *b = src + i * f->bytes;
    int8_t *q = codes + i * f->elems;
    float *d = scales + i * groups;
    float *m = f->asymmetric ? mins + i * groups : nullptr;
    switch (t) {
    case GGMLType::Q2_K: decodeQ2K(b, q, d, m); break;
    case GGMLType::Q3_K: decodeQ3K(b, q, d); break;
    case GGMLType::Q4_K: decodeQ45K(false, b, q, d, m); break;
    case GGMLType::Q5_K: decodeQ45K(true, b, q, d, m); break;
    case GGMLType::Q6_K: decodeQ6K(b, q, d); break;
    default: decode32(t, b, q, d, m); break;
    }
  }
}

void dequantizeBlocks(GGMLType t, const uint8_t *src, int64_t nBlocks,
                      float *out) {
  std::optional<BlockForm> f = blockForm(t);
  if (!f)
    return;
  int groups = f->elems / f->group;
  std::vector<int8_t> q(f->elems);
  std::vector<float> d(groups), m(groups);
  for (int64_t i = 0; i < nBlocks; ++i) {
    decodeBlocks(t, src + i * f->bytes, 1, q.data(), d.data(), m.data());
    float *y = out + i * f->elems;
    // ggml's forms: symmetric d * q; Q4_1 / Q5_1 d * q + m; the K-quants
    // (d * sc) * q - (dmin * mn), which is the same float as adding the
    // negated product.
    for (int e = 0; e < f->elems; ++e) {
      float v = d[e / f->group] * float(q[e]);
      y[e] = f->asymmetric ? v + m[e / f->group] : v;
    }
  }
}

KeptLayout keptLayout(const BlockForm &f) {
  KeptLayout l;
  l.group = f.group;
  l.asymmetric = f.asymmetric;
  l.scaleBytes = f.halfScales ? 2 : 4;
  // int4 groups are whole 32-element blocks (QuantLayout.h); symmetric int4
  // codes are 0..15 with an offset of 8.
  bool fits4 = f.asymmetric ? f.codeMin >= 0 && f.codeMax <= 15
                            : f.codeMin >= -8 && f.codeMax <= 7;
  l.bits = fits4 && f.group % quant::kInt4Block == 0 ? 4 : 8;
  return l;
}

} // namespace llmc::ggml
