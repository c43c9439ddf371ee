//===- QuantLayout.h - byte layout of quantized weights ----------*- C++ -*-===//
//
// What a #llm.quant means in bytes, in one place: the layout of a quantized
// [rows, cols] weight in the artifact (the lowering's kernels read it, the
// packager writes it), the int4 nibble order, the dequantization formula,
// and the encoder (QuantLayout.cpp) that writes a row. No MLIR, so the
// packager side includes it without pulling in anything heavy.
//
// Integer schemes quantize groups of `group` consecutive elements of a row
// (along the reduction dimension); group 0 means the whole row. Layout of a
// weight, each part 64-byte aligned:
//
//   qs      rows x cols bytes (int8: one per element, two's complement) or
//           rows x cols/2 bytes (int4: per 32-element block, byte j holds
//           element j in its low nibble and element j+16 in its high nibble,
//           values 0..15, so a 16-byte load feeds two contiguous 8-lane
//           halves of the activations) or rows x cols*3/4 bytes (int6,
//           symmetric only: per 32-element block 24 bytes, the codes' low
//           four bits as int4's 16 bytes, then 8 bytes of their top two
//           bits, byte m holding elements m, m+8, m+16, m+24 from bit 0 up)
//   scales  rows x groups values of the scale dtype (f32 or f16)
//   mins    asymmetric only: rows x groups values, same dtype
//
// Dequantization: symmetric int8 x = q * d; symmetric int4 x = (q - 8) * d;
// symmetric int6 x = (q - 32) * d;
// asymmetric (int4 or int8 stored unsigned) x = q * d + m.
//
// Packed in panels (`panel` = 16, a target's choice, `packed 16` on
// llm.weight): the layout the CPU's integer dot-product instructions want,
// rows grouped by 16 so one 64-byte vector holds 4 bytes of each of 16
// rows (x86 vpdpbusd sums 4 byte products per 32-bit lane). The rows are
// padded to a multiple of 16 with zero codes and zero scales.
//   qs      per panel, int8: per 4 consecutive k, 64 bytes, byte 4r+i =
//           q[r][k+i]; int4: per 8 consecutive k, 64 bytes, byte 4r+i =
//           q[r][k+i] | q[r][k+4+i] << 4
//           int6: per 32 consecutive k, 384 bytes: the low four bits as
//           int4 packs them (4 x 64 bytes), then two 64-byte vectors of
//           top bits, vector v byte 4r+i holding, from bit 0 up, those of
//           k = 16v+i, 16v+4+i, 16v+8+i, 16v+12+i
//   scales  per panel, per group, 16 values (row r of the panel at r); or,
//           two-level (superGroups = n, ggml's K-quants kept: Q4_K, Q6_K,
//           Q3_K), per panel, per run of n groups, 16 f32 multipliers D
//           then per group 16 int8 sub-scales q, the scale being D * q
//   mins    asymmetric int4: as the scales
// Only groups that are a multiple of 32 elements (symmetric int8: or 16,
// ggml's Q6_K and Q3_K kept) pack, symmetric or (int4) asymmetric
// (targets/cpu/ukernels/ukernels.c reads this layout).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECTS_LLM_QUANTLAYOUT_H
#define LLMC_DIALECTS_LLM_QUANTLAYOUT_H

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::quant {

constexpr int64_t kAlign = 64;
constexpr int64_t kInt4Block = 32;
/// An int4 block's byte j holds elements j (low nibble) and j + 16 (high).
constexpr int64_t kInt4Half = kInt4Block / 2;
/// The byte of a row's int4 codes that holds element i, and whether in the
/// high nibble.
inline int64_t int4Byte(int64_t i) {
  return i / kInt4Block * kInt4Half + i % kInt4Half;
}
inline bool int4IsHigh(int64_t i) { return i % kInt4Block >= kInt4Half; }
/// An int6 row: per 32-element block, 16 bytes of low nibbles (as int4)
/// then 8 bytes of top bits; element i's top two bits are in byte
/// int6TopByte(i) at bit int6TopShift(i).
constexpr int64_t kInt6BlockBytes = 24;
inline int64_t int6LowByte(int64_t i) {
  return i / kInt4Block * kInt6BlockBytes + i % kInt4Half;
}
inline int64_t int6TopByte(int64_t i) {
  return i / kInt4Block * kInt6BlockBytes + kInt4Half + i % 8;
}
inline int int6TopShift(int64_t i) { return int(i % kInt4Block / 8 * 2); }

/// Rows per panel of a packed weight.
constexpr int64_t kPanel = 16;

inline int64_t alignUp(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct Layout {
  int64_t rows = 0, cols = 0;
  int bits = 32;          // 32: f32, 16: f16 (float cast), 8 / 4: integer
  int64_t group = 0;      // elements per scale (integer schemes)
  bool asymmetric = false;
  int scaleBytes = 4;     // 4: f32 scales, 2: f16 scales
  int64_t panel = 0;      // 0: row-major; 16: packed in panels of 16 rows
  /// Packed only: 0, or the scales (and mins) as int8 sub-scales, one per
  /// group, under one f32 multiplier per `superGroups` groups of a row (the
  /// two-level scales of ggml's K-quants, exactly; packPanelSuperScales).
  int64_t superGroups = 0;

  bool isInteger() const { return bits == 8 || bits == 6 || bits == 4; }
  int64_t groups() const { return isInteger() ? cols / group : 0; }
  /// Rows as stored: padded to whole panels when packed.
  int64_t storedRows() const {
    return panel ? (rows + panel - 1) / panel * panel : rows;
  }
  int64_t qsBytes() const {
    if (bits == 32 || bits == 16)
      return rows * cols * (bits / 8);
    return storedRows() * cols * bits / 8;
  }
  int64_t scalesOffset() const { return alignUp(qsBytes()); }
  int64_t scalesBytes() const {
    if (superGroups)
      return storedRows() * (groups() + groups() / superGroups * 4);
    return storedRows() * groups() * scaleBytes;
  }
  /// The panel kernels' `scale_kind`: 0 f16, 1 f32, n >= 2 int8 sub-scales
  /// under an f32 multiplier per n groups.
  int64_t scaleKind() const { return superGroups ? superGroups : scaleBytes == 4; }
  int64_t minsOffset() const { return alignUp(scalesOffset() + scalesBytes()); }
  int64_t totalBytes() const {
    if (!isInteger())
      return qsBytes();
    return asymmetric ? minsOffset() + scalesBytes()
                      : scalesOffset() + scalesBytes();
  }
  /// Why this layout cannot hold a [rows, cols] weight, or nullptr.
  const char *invalidReason() const {
    if (!isInteger())
      return nullptr;
    if (group <= 0 || cols % group != 0)
      return "the group size does not divide the row length";
    if (bits == 4 && group % kInt4Block != 0)
      return "int4 groups must be a multiple of 32 elements";
    if (bits == 6 && (group % kInt4Block != 0 && !(group == 16 && panel && !asymmetric)))
      return "int6 groups are a multiple of 32 elements (packed and "
             "symmetric: or of 16)";
    if (bits == 6 && asymmetric && !panel)
      return "int6 with a min exists only packed in panels";
    if (bits == 8 && group % 8 != 0)
      return "int8 groups must be a multiple of 8 elements";
    if (panel && panel != kPanel)
      return "panels hold 16 rows";
    if (superGroups && (!panel || superGroups < 2 || superGroups > 64 ||
                        (superGroups & (superGroups - 1)) || groups() % superGroups))
      return "two-level scales are packed, in a power of two of groups "
             "(2 to 64) that divides the row";
    if (panel && ((group % kInt4Block != 0 && !(group == 16 && bits == 6)) ||
                  (asymmetric && bits == 8)))
      return "only groups of a multiple of 32 elements (int6: or of 16) pack "
             "in panels, symmetric or (int4, int6) with a min";
    return nullptr;
  }
};

/// IEEE half <-> f32 (round to nearest even; subnormals, inf and NaN kept).
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);

/// Appends a scale (or min) in the scale dtype: 2 bytes (f16, rounded to
/// nearest even) or 4 (f32), little-endian.
void putScale(std::vector<uint8_t> &out, float v, int scaleBytes);

/// Encodes one f32 row (l.cols values) in layout `l`: `codes` gets the
/// row's bytes of the first part (f32 / f16 values, or int8 / packed int4
/// codes); for integer layouts the row's scales (and, asymmetric, mins) are
/// appended to `scales` / `mins` in the scale dtype. Rounding: symmetric
/// int8 and int4 groups of 32 as ggml's Q8_0 / Q4_0; longer int4 groups
/// minimise the squared error; asymmetric groups map [min, max] onto the
/// code range.
void encodeRow(const float *row, const Layout &l, std::vector<uint8_t> &codes,
               std::vector<uint8_t> &scales, std::vector<uint8_t> &mins);

/// Element i's code (0..63) of an int6 row as encodeRow writes it.
uint8_t int6Code(const uint8_t *row, int64_t i);

/// Bytes of one activation row of `k` elements quantized for the packed
/// kernels (ggml's Q8 blocks, kept apart): k int8 codes, k/32 f32 scales,
/// k/32 int32 block sums, k/16 int32 half-block sums (for weights in groups
/// of 16), rounded up to 64 bytes
/// (targets/cpu/ukernels/ukernels.c, llmc_uk_xq_stride).
inline int64_t int8RowBytes(int64_t k) { return alignUp(k + k / kInt4Block * 16); }

/// Packs one panel: `rowCodes` holds l.panel rows of row-major codes as
/// encodeRow writes them (rows past the weight's end zero); `out` gets the
/// panel's qsBytes() / (storedRows() / panel) bytes.
void packPanel(const Layout &l, const uint8_t *rowCodes, uint8_t *out);

/// Reorders row-major scales (storedRows() x groups() values of
/// scaleBytes) into the packed order: per panel, per group, 16 rows.
std::vector<uint8_t> packPanelScales(const Layout &l,
                                     const std::vector<uint8_t> &rowScales);

/// Row-major f32 scales (or mins; storedRows() x groups()) in the two-level
/// packed order of l.superGroups: per panel, per run of superGroups groups,
/// the 16 rows' f32 multipliers D, then per group the 16 rows' int8
/// sub-scales q, with D x q == the scale exactly in f32 (as the kernels
/// compute it). Scales that do not factor so (only ggml's K-quants are
/// packed this way, whose scales are an f16 times a small integer) are an
/// error naming the row and group, in `error`.
std::vector<uint8_t> packPanelSuperScales(const Layout &l,
                                          const std::vector<uint8_t> &rowScales,
                                          std::string &error);

} // namespace llmc::quant

#endif // LLMC_DIALECTS_LLM_QUANTLAYOUT_H
