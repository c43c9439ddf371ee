//===- QuantLayoutTest.cpp - the encoder against the layout's own formula -===//
//
// Encodes rows with quant::encodeRow and decodes them with the formula the
// header documents (and the kernels implement): symmetric int8 x = q * d,
// symmetric int4 x = (q - 8) * d with the nibble order of int4Byte /
// int4IsHigh, asymmetric x = q * d + m. End-to-end agreement with
// transformers is the e2e suite's job; this pins the byte format.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/QuantLayout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

using namespace llmc::quant;

namespace {

Layout intLayout(int64_t cols, int bits, int64_t group, int scaleBytes,
                 bool asymmetric = false) {
  Layout l;
  l.rows = 1;
  l.cols = cols;
  l.bits = bits;
  l.group = group;
  l.scaleBytes = scaleBytes;
  l.asymmetric = asymmetric;
  return l;
}

std::vector<float> sampleRow(int64_t n) {
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i)
    x[i] = std::sin(0.37f * float(i) + 0.1f) * (1.0f + float(i % 7));
  return x;
}

float scaleAt(const std::vector<uint8_t> &s, int64_t g, int bytes) {
  if (bytes == 2)
    return halfToFloat(uint16_t(s[2 * g] | s[2 * g + 1] << 8));
  float f;
  std::memcpy(&f, &s[4 * g], 4);
  return f;
}

/// Decodes a row of `l` and returns the largest error over the group's
/// step (|x - decoded| / d), which rounding to nearest keeps <= 0.5.
double worstError(const std::vector<float> &x, const Layout &l) {
  std::vector<uint8_t> codes, scales, mins;
  encodeRow(x.data(), l, codes, scales, mins);
  EXPECT_EQ(int64_t(codes.size()), l.cols * l.bits / 8);
  EXPECT_EQ(int64_t(scales.size()), l.groups() * l.scaleBytes);
  EXPECT_EQ(int64_t(mins.size()), l.asymmetric ? l.groups() * l.scaleBytes : 0);
  double worst = 0;
  for (int64_t i = 0; i < l.cols; ++i) {
    int64_t g = i / l.group;
    float d = scaleAt(scales, g, l.scaleBytes);
    int q;
    if (l.bits == 8)
      q = l.asymmetric ? int(codes[i]) : int(int8_t(codes[i]));
    else if (l.bits == 6)
      q = (codes[int6LowByte(i)] >> (int4IsHigh(i) ? 4 : 0) & 15) |
          (codes[int6TopByte(i)] >> int6TopShift(i) & 3) << 4;
    else
      q = (codes[int4Byte(i)] >> (int4IsHigh(i) ? 4 : 0)) & 15;
    float y = l.asymmetric ? float(q) * d + scaleAt(mins, g, l.scaleBytes)
              : l.bits == 4 ? float(q - 8) * d
              : l.bits == 6 ? float(q - 32) * d
                            : float(q) * d;
    if (d != 0)
      worst = std::max(worst, std::fabs(double(x[i]) - y) / d);
  }
  return worst;
}

} // namespace

TEST(QuantLayout, Int4NibbleOrder) {
  // Byte j of a 32-element block: element j low, element j + 16 high.
  EXPECT_EQ(int4Byte(0), 0);
  EXPECT_FALSE(int4IsHigh(0));
  EXPECT_EQ(int4Byte(15), 15);
  EXPECT_EQ(int4Byte(16), 0);
  EXPECT_TRUE(int4IsHigh(16));
  EXPECT_EQ(int4Byte(31), 15);
  EXPECT_EQ(int4Byte(32), 16);
  EXPECT_FALSE(int4IsHigh(32));
  EXPECT_EQ(int4Byte(50), 16 + 2);
  EXPECT_TRUE(int4IsHigh(50));
}

TEST(QuantLayout, SymmetricInt8And4RoundToNearest) {
  for (auto [bits, group, scaleBytes] :
       {std::tuple{8, 32, 2}, {8, 64, 4}, {4, 32, 2}, {4, 128, 2}, {6, 32, 2}}) {
    Layout l = intLayout(256, bits, group, scaleBytes);
    SCOPED_TRACE(testing::Message() << "int" << bits << " g" << group);
    // int8: d = max|x| / 127, nothing clamps. int4: the largest magnitude
    // maps to -8 (ggml's Q4_0), so values of the other sign near it clamp at
    // +7 and may be off by up to one step. f16 rounding of d adds ~1e-3.
    EXPECT_LE(worstError(sampleRow(l.cols), l), (bits == 8 ? 0.5 : 1.0) + 0.01);
  }
}

TEST(QuantLayout, Int6OrderAndLargestMagnitude) {
  // Per 32-element block: 16 bytes of low nibbles in int4's order, then 8
  // bytes of top bits, byte m holding elements m, m+8, m+16, m+24.
  EXPECT_EQ(int6LowByte(0), 0);
  EXPECT_EQ(int6LowByte(17), 1);
  EXPECT_EQ(int6LowByte(33), 24 + 1);
  EXPECT_EQ(int6TopByte(0), 16);
  EXPECT_EQ(int6TopByte(9), 17);
  EXPECT_EQ(int6TopShift(9), 2);
  EXPECT_EQ(int6TopByte(31), 23);
  EXPECT_EQ(int6TopShift(31), 6);
  EXPECT_EQ(int6TopByte(40), 24 + 16);
  // Q4_0's rule with 6 bits: the largest magnitude maps to code 0 (-32 d).
  Layout l = intLayout(64, 6, 32, 2);
  std::vector<float> x = sampleRow(64);
  x[37] = 13.0f;
  std::vector<uint8_t> codes, scales, mins;
  encodeRow(x.data(), l, codes, scales, mins);
  ASSERT_EQ(codes.size(), 48u);
  EXPECT_EQ(int6Code(codes.data(), 37), 0);
  EXPECT_FLOAT_EQ(-32.0f * scaleAt(scales, 1, 2), 13.0f);
  // Every code in range, and int6Code agrees with the byte formula.
  for (int64_t i = 0; i < 64; ++i)
    EXPECT_LT(int6Code(codes.data(), i), 64);
}

TEST(QuantLayout, AsymmetricCoversMinToMax) {
  Layout l = intLayout(64, 4, 32, 4, /*asymmetric=*/true);
  EXPECT_LE(worstError(sampleRow(l.cols), l), 0.5 + 1e-4);
}

TEST(QuantLayout, Int4LargestMagnitudeIsExact) {
  // ggml's Q4_0: the element of largest magnitude maps to code 0 (-8 d).
  Layout l = intLayout(32, 4, 32, 4);
  std::vector<float> x = sampleRow(32);
  x[5] = -9.5f;
  std::vector<uint8_t> codes, scales, mins;
  encodeRow(x.data(), l, codes, scales, mins);
  EXPECT_EQ(codes[int4Byte(5)] & 15, 0);
  EXPECT_FLOAT_EQ(-8.0f * scaleAt(scales, 0, 4), -9.5f);
}

TEST(QuantLayout, FloatLayoutsCopyOrRound) {
  Layout l;
  l.rows = 1;
  l.cols = 3;
  const float x[3] = {1.0f, -2.5f, 65504.0f};
  std::vector<uint8_t> codes, scales, mins;
  encodeRow(x, l, codes, scales, mins);
  ASSERT_EQ(codes.size(), 12u);
  EXPECT_EQ(std::memcmp(codes.data(), x, 12), 0);
  l.bits = 16;
  encodeRow(x, l, codes, scales, mins);
  ASSERT_EQ(codes.size(), 6u);
  EXPECT_EQ(codes[0] | codes[1] << 8, 0x3c00); // 1.0
  EXPECT_EQ(codes[2] | codes[3] << 8, 0xc100); // -2.5
  EXPECT_EQ(codes[4] | codes[5] << 8, 0x7bff); // 65504, the largest half
  EXPECT_TRUE(scales.empty() && mins.empty());
}

TEST(QuantLayout, PanelsHoldFourCodesOfSixteenRows) {
  // int8: per 4 consecutive k, byte 4r + i of the 64 is q[r][k + i].
  Layout l = intLayout(64, 8, 32, 2);
  l.rows = 20; // a second panel with 4 rows and 12 of padding
  l.panel = kPanel;
  EXPECT_EQ(l.storedRows(), 32);
  EXPECT_EQ(l.qsBytes(), 32 * 64);
  EXPECT_EQ(l.scalesBytes(), 32 * 2 * 2);
  std::vector<uint8_t> rows(16 * 64);
  for (int r = 0; r < 16; ++r)
    for (int k = 0; k < 64; ++k)
      rows[r * 64 + k] = uint8_t(r * 64 + k);
  std::vector<uint8_t> panel(16 * 64);
  packPanel(l, rows.data(), panel.data());
  for (int k : {0, 5, 63})
    for (int r : {0, 7, 15})
      EXPECT_EQ(panel[(k / 4) * 64 + r * 4 + k % 4], uint8_t(r * 64 + k))
          << "row " << r << " k " << k;

  // int4: per 8 consecutive k, byte 4r + i = q[r][k+i] | q[r][k+4+i] << 4,
  // from rows in ggml's nibble order.
  Layout l4 = intLayout(64, 4, 32, 2);
  l4.rows = 16;
  l4.panel = kPanel;
  std::vector<uint8_t> rows4(16 * 32, 0);
  auto code = [](int r, int k) { return uint8_t((r + 3 * k) % 16); };
  for (int r = 0; r < 16; ++r)
    for (int k = 0; k < 64; ++k)
      rows4[r * 32 + int4Byte(k)] |= uint8_t(code(r, k) << (int4IsHigh(k) ? 4 : 0));
  std::vector<uint8_t> panel4(16 * 32);
  packPanel(l4, rows4.data(), panel4.data());
  for (int k : {0, 3, 8, 17, 59})
    for (int r : {0, 9, 15}) {
      uint8_t byte = panel4[(k / 8) * 64 + r * 4 + k % 4];
      EXPECT_EQ(k % 8 < 4 ? byte & 15 : byte >> 4, code(r, k))
          << "row " << r << " k " << k;
    }

  // int6: per 32 k, int4's 4 vectors of low nibbles, then 2 vectors of top
  // bits, vector v byte 4r + i holding k = 16v+i, +4, +8, +12 from bit 0.
  Layout l6 = intLayout(64, 6, 32, 2);
  l6.rows = 16;
  l6.panel = kPanel;
  EXPECT_EQ(l6.qsBytes(), 16 * 48);
  std::vector<uint8_t> rows6(16 * 48, 0);
  auto code6 = [](int r, int k) { return uint8_t((5 * r + 7 * k) % 64); };
  for (int r = 0; r < 16; ++r)
    for (int k = 0; k < 64; ++k) {
      uint8_t c = code6(r, k);
      rows6[r * 48 + int6LowByte(k)] |= uint8_t((c & 15) << (int4IsHigh(k) ? 4 : 0));
      rows6[r * 48 + int6TopByte(k)] |= uint8_t((c >> 4) << int6TopShift(k));
    }
  for (int r = 0; r < 16; ++r)
    for (int k = 0; k < 64; ++k)
      ASSERT_EQ(int6Code(&rows6[r * 48], k), code6(r, k));
  std::vector<uint8_t> panel6(16 * 48);
  packPanel(l6, rows6.data(), panel6.data());
  for (int k : {0, 3, 8, 17, 30, 45, 63})
    for (int r : {0, 9, 15}) {
      const uint8_t *blk = &panel6[(k / 32) * 384];
      int kk = k % 32;
      uint8_t byte = blk[(kk / 8) * 64 + r * 4 + kk % 4];
      int low = kk % 8 < 4 ? byte & 15 : byte >> 4;
      uint8_t top = blk[256 + (kk / 16) * 64 + r * 4 + kk % 4];
      int high = top >> (2 * ((kk % 16) / 4)) & 3;
      EXPECT_EQ(low | high << 4, code6(r, k)) << "row " << r << " k " << k;
    }

  // Scales: per panel, per group, 16 rows.
  std::vector<uint8_t> rowScales(32 * 2 * 2);
  for (int r = 0; r < 32; ++r)
    for (int g = 0; g < 2; ++g)
      rowScales[(r * 2 + g) * 2] = uint8_t(r * 2 + g);
  std::vector<uint8_t> packed = packPanelScales(l, rowScales);
  EXPECT_EQ(packed[((1 * 2 + 1) * 16 + 3) * 2], uint8_t(19 * 2 + 1)); // row 19, group 1
  EXPECT_EQ(packed[((0 * 2 + 0) * 16 + 15) * 2], uint8_t(15 * 2));
}

// ggml's K-quants' scales, an f16 super-block scale times small integers,
// packed two-level (int8 sub-scales under an f32 per 256 columns): every
// scale comes back exactly as the kernels compute it (f32 D times the
// int8), in the documented byte order; Q6_K's -128 sub-scale too.
TEST(QuantLayout, TwoLevelScalesAreExactAndOrdered) {
  Layout l;
  l.rows = 20, l.cols = 512, l.bits = 6, l.group = 16, l.panel = kPanel;
  l.superGroups = 16;
  ASSERT_EQ(l.invalidReason(), nullptr);
  const int64_t G = l.groups(), R = l.storedRows(); // 32 groups, 32 rows
  EXPECT_EQ(l.scalesBytes(), R * (G + G / 16 * 4));
  std::vector<float> want(size_t(R * G));
  uint32_t seed = 7;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t s = 0; s < 2; ++s) {
      // llama.cpp writes negative super-block scales too.
      float d = halfToFloat(floatToHalf((r % 3 ? 0.001f : -0.001f) * float(r + 1) / float(s + 3)));
      for (int64_t j = 0; j < 16; ++j) {
        seed = seed * 1103515245u + 12345u;
        int sub = int(seed >> 16 & 255) - 128;
        if ((r == 5 || r == 9) && s == 1 && j == 3)
          sub = -128; // the largest magnitude, at the int8 limit (row 9: d < 0)
        if (r == 6 && s == 0)
          sub = 0; // an all-zero run
        want[size_t(r * G + s * 16 + j)] = d * float(sub);
      }
    }
  std::vector<uint8_t> rowScales(want.size() * 4);
  std::memcpy(rowScales.data(), want.data(), rowScales.size());
  std::string error;
  std::vector<uint8_t> packed = packPanelSuperScales(l, rowScales, error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(int64_t(packed.size()), l.scalesBytes());
  // Per panel, per run of 16 groups: 16 f32 multipliers, then 16 x 16 int8.
  const int64_t run = kPanel * (4 + 16);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t g = 0; g < G; ++g) {
      const uint8_t *at = &packed[size_t(((r / kPanel) * (G / 16) + g / 16) * run)];
      float d;
      std::memcpy(&d, at + (r % kPanel) * 4, 4);
      int8_t q = int8_t(at[kPanel * 4 + (g % 16) * kPanel + r % kPanel]);
      EXPECT_EQ(d * float(q), want[size_t(r * G + g)]) << "row " << r << " group " << g;
    }

  // Scales that are not one f32 times int8s are refused, by row and group.
  float bad[32] = {1.0f, 0.70710677f, 0.1234567f};
  std::memcpy(rowScales.data() + 7 * G * 4, bad, sizeof bad);
  packPanelSuperScales(l, rowScales, error);
  EXPECT_EQ(error, "row 7, groups 0..15: the scales are not one f32 times int8 sub-scales");
}

// int6 in groups of 16 (the codes of ggml's Q6_K and Q3_K kept on the CPU)
// exists only packed, where the groups-of-16 panel kernels read it: its
// bytes are 6 bits a code; unpacked, asymmetric, and int8 in its place,
// it is refused.
TEST(QuantLayout, Int6GroupsOfSixteenOnlyPacked) {
  Layout l;
  l.rows = 20, l.cols = 512, l.bits = 6, l.group = 16, l.panel = kPanel;
  l.superGroups = 16;
  EXPECT_EQ(l.invalidReason(), nullptr);
  EXPECT_EQ(l.qsBytes(), 32 * 512 * 6 / 8);
  EXPECT_EQ(l.scalesBytes(), 32 * (32 + 2 * 4));
  Layout unpacked = l;
  unpacked.panel = 0, unpacked.superGroups = 0;
  EXPECT_NE(unpacked.invalidReason(), nullptr);
  Layout asym = l;
  asym.asymmetric = true;
  EXPECT_NE(asym.invalidReason(), nullptr);
  Layout g8 = l;
  g8.group = 8, g8.superGroups = 32;
  EXPECT_NE(g8.invalidReason(), nullptr);
  // int8 groups of 16 have no panel kernel (ggml's are int6 packed).
  Layout i8 = l;
  i8.bits = 8;
  EXPECT_NE(i8.invalidReason(), nullptr);
}
