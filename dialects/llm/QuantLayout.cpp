//===- QuantLayout.cpp - the row encoder of the quantized layouts ---------===//
//
// The writing half of dialects/llm/QuantLayout.h: how the packager turns an
// f32 row into the bytes that layout describes. Integer rounding follows
// ggml's Q8_0 / Q4_0 for groups of 32, so ggml's own dequantization is an
// independent reference for the tests.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/QuantLayout.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llmc::quant;

float llmc::quant::halfToFloat(uint16_t h) {

  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { // subnormal: normalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while (!(man & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t llmc::quant::floatToHalf(float f) {

  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t exp = (x >> 23) & 0xff;
  uint32_t man = x & 0x7fffff;
  if (exp == 0xff)
    return uint16_t(sign | 0x7c00 | (man ? 0x200 : 0));
  int e = int(exp) - 127 + 15;
  if (e >= 31)
    return uint16_t(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10)
      return uint16_t(sign);
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = uint32_t(e) << 10 | man >> 13;
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    ++half; // may carry into the exponent: still the right rounding
  return uint16_t(sign | half);
}

namespace {

/// Rounds a scale to its stored precision so quantization uses the value
/// the kernel will multiply by.
float storedScale(float d, int scaleBytes) {
  return scaleBytes == 2 ? halfToFloat(floatToHalf(d)) : d;
}

/// Quantizes one group of a row: returns the integer codes in `q` and the
/// stored scale (and min).
void quantizeGroup(const float *x, int64_t n, const Layout &l,
                   uint8_t *q, float &dOut, float &mOut) {
  if (!l.asymmetric) {
    if (l.bits == 8) {
      float amax = 0;
      for (int64_t i = 0; i < n; ++i)
        amax = std::max(amax, std::fabs(x[i]));
      // As ggml's Q8_0: codes from the exact scale, the stored scale rounded.
      float d = amax / 127.0f;
      float id = d != 0 ? 1.0f / d : 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        long v = std::lround(x[i] * id);
        q[i] = uint8_t(int8_t(std::clamp(v, -127L, 127L)));
      }
      dOut = storedScale(d, l.scaleBytes);
    } else {
      // The element of largest magnitude maps to -8 exactly (int6: -32),
      // which uses the full [-8, 7] range on its side (as ggml's Q4_0 does;
      // int6 is the same rule with two more bits).
      const float half = l.bits == 6 ? 32.0f : 8.0f;
      float amax = 0, signedMax = 0;
      for (int64_t i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) {
          amax = std::fabs(x[i]);
          signedMax = x[i];
        }
      float d = signedMax / -half;
      float id = d != 0 ? 1.0f / d : 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        long v = long(std::floor(x[i] * id + (half + 0.5f)));
        q[i] = uint8_t(std::clamp(v, 0L, long(2 * half - 1)));
      }
      dOut = storedScale(d, l.scaleBytes);
      // Groups of 32 stay exactly ggml's Q4_0 (an independent reference the
      // tests use). Longer groups have more values far from the largest one,
      // so the scale is chosen to minimise the squared error instead: a few
      // candidate scales around max/-8, each refined by least squares.
      if (l.bits == 4 && n > kInt4Block && d != 0) {
        // For fixed codes c the best scale is s = sum(x c) / sum(c^2) and
        // the error left is sum(x^2) - sum(x c)^2 / sum(c^2): each
        // candidate scale costs one pass (round with it, score
        // sum(x c)^2 / sum(c^2)), the best one's least-squares scale, in
        // the stored dtype, then re-rounds the codes, kept if it beats
        // max / -8. Inline rounding (half away from zero, as lround) and
        // 8 partial sums let the compiler vectorize the passes: a
        // 1B-parameter model has ~10M groups. n is a multiple of 32.
        auto round = [&](float inv, int64_t i) {
          float t = x[i] * inv;
          float u = t + (t < 0 ? -0.5f : 0.5f);
          // Clamped as floats (SSE2 has no integer min / max), truncated.
          return float(int(std::min(std::max(u, -8.0f), 7.0f)));
        };
        auto error = [&](float scale, uint8_t *codes) {
          float inv = 1.0f / scale, part[8] = {0};
          for (int64_t i0 = 0; i0 < n; i0 += 8)
            for (int j = 0; j < 8; ++j) {
              float v = round(inv, i0 + j);
              codes[i0 + j] = uint8_t(int(v) + 8);
              float r = x[i0 + j] - scale * v;
              part[j] += r * r;
            }
          float e = 0;
          for (float p : part)
            e += p;
          return e;
        };
        float bestScore = -1, bestScale = 0;
        for (int step = -10; step <= 10; ++step) {
          float inv = (-8.0f + 0.1f * step) / signedMax;
          float xc[8] = {0}, cc[8] = {0};
          for (int64_t i0 = 0; i0 < n; i0 += 8)
            for (int j = 0; j < 8; ++j) {
              float c = round(inv, i0 + j);
              xc[j] += x[i0 + j] * c;
              cc[j] += c * c;
            }
          float sxc = 0, scc = 0;
          for (int j = 0; j < 8; ++j) {
            sxc += xc[j];
            scc += cc[j];
          }
          if (scc > 0 && sxc * sxc / scc > bestScore) {
            bestScore = sxc * sxc / scc;
            bestScale = sxc / scc;
          }
        }
        float ls = storedScale(bestScale, l.scaleBytes);
        if (ls != 0) {
          std::vector<uint8_t> trial(n);
          if (error(ls, trial.data()) < error(dOut, q)) {
            dOut = ls;
            std::copy(trial.begin(), trial.end(), q);
          }
        }
      }
    }
    mOut = 0;
    return;
  }
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  int levels = (1 << l.bits) - 1;
  float m = storedScale(lo, l.scaleBytes);
  float d = storedScale((hi - m) / levels, l.scaleBytes);
  float id = d != 0 ? 1.0f / d : 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    long v = std::lround((x[i] - m) * id);
    q[i] = uint8_t(std::clamp(v, 0L, long(levels)));
  }
  dOut = d;
  mOut = m;
}

} // namespace

void llmc::quant::putScale(std::vector<uint8_t> &out, float v, int scaleBytes) {
  if (scaleBytes == 2) {
    uint16_t h = floatToHalf(v);
    out.push_back(uint8_t(h));
    out.push_back(uint8_t(h >> 8));
  } else {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
  }
}

void llmc::quant::encodeRow(const float *row, const Layout &l,
                            std::vector<uint8_t> &codes,
                            std::vector<uint8_t> &scales,
                            std::vector<uint8_t> &mins) {
  if (!l.isInteger()) {
    codes.resize(l.cols * (l.bits / 8));
    for (int64_t i = 0; i < l.cols; ++i) {
      if (l.bits == 32) {
        std::memcpy(&codes[4 * i], &row[i], 4);
      } else {
        uint16_t h = floatToHalf(row[i]);
        codes[2 * i] = uint8_t(h);
        codes[2 * i + 1] = uint8_t(h >> 8);
      }
    }
    return;
  }
  std::vector<uint8_t> q(l.cols);
  for (int64_t g = 0; g < l.groups(); ++g) {
    float d, m;
    quantizeGroup(&row[g * l.group], l.group, l, &q[g * l.group], d, m);
    putScale(scales, d, l.scaleBytes);
    if (l.asymmetric)
      putScale(mins, m, l.scaleBytes);
  }
  if (l.bits == 8) {
    codes.assign(q.begin(), q.end());
    return;
  }
  if (l.bits == 6) {
    codes.assign(l.cols / kInt4Block * kInt6BlockBytes, 0);
    for (int64_t i = 0; i < l.cols; ++i) {
      codes[int6LowByte(i)] |= uint8_t((q[i] & 15) << (int4IsHigh(i) ? 4 : 0));
      codes[int6TopByte(i)] |= uint8_t((q[i] >> 4) << int6TopShift(i));
    }
    return;
  }
  codes.assign(l.cols / 2, 0);
  for (int64_t i = 0; i < l.cols; ++i)
    codes[int4Byte(i)] |= uint8_t(q[i] << (int4IsHigh(i) ? 4 : 0));
}

uint8_t llmc::quant::int6Code(const uint8_t *row, int64_t i) {
  uint8_t low = row[int6LowByte(i)] >> (int4IsHigh(i) ? 4 : 0) & 15;
  return uint8_t(low | (row[int6TopByte(i)] >> int6TopShift(i) & 3) << 4);
}

void llmc::quant::packPanel(const Layout &l, const uint8_t *rowCodes,
                            uint8_t *out) {
  const int64_t P = l.panel;
  if (l.bits == 8) {
    // Per 4 consecutive k: byte 4r + i = q[r][k + i].
    for (int64_t k = 0; k < l.cols; k += 4)
      for (int64_t r = 0; r < P; ++r)
        for (int64_t i = 0; i < 4; ++i)
          *out++ = rowCodes[r * l.cols + k + i];
    return;
  }
  if (l.bits == 6) {
    // Per 32 consecutive k: int4's four vectors of low nibbles, then two of
    // top bits (QuantLayout.h).
    const int64_t rowBytes = l.cols * 3 / 4;
    auto code = [&](int64_t r, int64_t k) {
      return int6Code(rowCodes + r * rowBytes, k);
    };
    for (int64_t k0 = 0; k0 < l.cols; k0 += kInt4Block) {
      for (int64_t u = 0; u < 4; ++u)
        for (int64_t r = 0; r < P; ++r)
          for (int64_t i = 0; i < 4; ++i) {
            int64_t k = k0 + 8 * u + i;
            *out++ = uint8_t((code(r, k) & 15) | (code(r, k + 4) & 15) << 4);
          }
      for (int64_t v = 0; v < 2; ++v)
        for (int64_t r = 0; r < P; ++r)
          for (int64_t i = 0; i < 4; ++i) {
            uint8_t byte = 0;
            for (int64_t s = 0; s < 4; ++s)
              byte |= uint8_t((code(r, k0 + 16 * v + 4 * s + i) >> 4) << (2 * s));
            *out++ = byte;
          }
    }
    return;
  }
  // int4 rows hold ggml's nibble order (int4Byte); per 8 consecutive k:
  // byte 4r + i = q[r][k + i] | q[r][k + 4 + i] << 4.
  const int64_t rowBytes = l.cols / 2;
  auto code = [&](int64_t r, int64_t k) -> uint8_t {
    uint8_t byte = rowCodes[r * rowBytes + int4Byte(k)];
    return int4IsHigh(k) ? byte >> 4 : byte & 15;
  };
  for (int64_t k = 0; k < l.cols; k += 8)
    for (int64_t r = 0; r < P; ++r)
      for (int64_t i = 0; i < 4; ++i)
        *out++ = uint8_t(code(r, k + i) | code(r, k + 4 + i) << 4);
}

std::vector<uint8_t>
llmc::quant::packPanelScales(const Layout &l,
                             const std::vector<uint8_t> &rowScales) {
  const int64_t P = l.panel, G = l.groups(), S = l.scaleBytes;
  std::vector<uint8_t> out(rowScales.size());
  for (int64_t r = 0; r < l.storedRows(); ++r)
    for (int64_t g = 0; g < G; ++g) {
      int64_t to = ((r / P) * G * P + g * P + r % P) * S;
      std::memcpy(&out[to], &rowScales[(r * G + g) * S], S);
    }
  return out;
}

std::vector<uint8_t>
llmc::quant::packPanelSuperScales(const Layout &l,
                                  const std::vector<uint8_t> &rowScales,
                                  std::string &error) {
  const int64_t P = l.panel, G = l.groups(), N = l.superGroups;
  const int64_t runBytes = P * (4 + N); // multipliers, then sub-scales
  std::vector<uint8_t> out(size_t(l.storedRows() / P * (G / N) * runBytes), 0);
  float v[64];
  int8_t q[64];
  for (int64_t r = 0; r < l.storedRows(); ++r)
    for (int64_t s = 0; s < G / N; ++s) {
      std::memcpy(v, &rowScales[size_t((r * G + s * N) * 4)], size_t(N * 4));
      float m = 0;
      for (int64_t j = 0; j < N; ++j)
        m = std::max(m, std::fabs(v[j]));
      // The coarsest D = +-m / k (k <= 128) under which every scale is an
      // exact int8 multiple; for a K-quant, k = its largest sub-scale in
      // magnitude always works (D is then the file's f16 super-block scale,
      // which may be negative; Q6_K's sub-scales reach -128).
      // The largest sub-scales ggml's quantizers write (Q4_K 63, Q6_K 127
      // or -128, Q3_K -32 or 31) first: a 1B model has millions of runs.
      static const int kFirst[] = {63, 127, 128, 32, 31};
      float d = 0;
      bool found = m == 0;
      for (int i = 0; i < 2 * (5 + 128) && !found; ++i) {
        int k = i / 2 < 5 ? kFirst[i / 2] : i / 2 - 4;
        d = (i % 2 ? -m : m) / float(k);
        found = true;
        for (int64_t j = 0; j < N && found; ++j) {
          float c = std::nearbyint(v[j] / d);
          found = c >= -128 && c <= 127 && d * c == v[j];
          q[j] = found ? int8_t(c) : 0;
        }
      }
      if (!found) {
        error = "row " + std::to_string(r) + ", groups " + std::to_string(s * N) +
                ".." + std::to_string(s * N + N - 1) +
                ": the scales are not one f32 times int8 sub-scales";
        return {};
      }
      if (m == 0)
        std::fill(q, q + N, 0);
      uint8_t *run = &out[size_t(((r / P) * (G / N) + s) * runBytes)];
      std::memcpy(run + (r % P) * 4, &d, 4);
      for (int64_t j = 0; j < N; ++j)
        run[P * 4 + j * P + r % P] = uint8_t(q[j]);
    }
  return out;
}
