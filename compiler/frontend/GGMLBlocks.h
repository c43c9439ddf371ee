//===- GGMLBlocks.h - ggml's quantized block formats, decoded ----*- C++ -*-===//
//
// Every ggml weight format llmc reads (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL) is, once its packing is undone, groups of
// 16 or 32 integer codes that share one scale and, for the formats with a
// min, one offset:
//
//   x = code * scale            (symmetric: Q4_0, Q5_0, Q8_0, Q3_K, Q6_K, IQ4_NL)
//   x = code * scale + min      (asymmetric: Q4_1, Q5_1, Q2_K, Q4_K, Q5_K)
//
// The K-quants' two-level scales (a 4- or 6-bit sub-block scale times an f16
// super-block scale) are multiplied out in f32, as ggml does before it
// multiplies by the code, and IQ4_NL's codes are its table's values. So
// decodeBlocks() gives codes, scales and mins from which ggml's own
// dequantization (dequantize_row_* in ggml-quants.c) is reproduced bit for
// bit, and the packager can store a GGUF tensor in an llmc integer layout
// (QuantLayout.h) whose dequantized values are exactly the file's:
// keptLayout() names that layout.
//
// LLVM-free, like the reader, so it builds under the sanitizers. Block
// layouts: ggml-common.h; the notes the decoders follow are in the
// function bodies.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_GGMLBLOCKS_H
#define LLMC_COMPILER_FRONTEND_GGMLBLOCKS_H

#include <cstdint>
#include <optional>

namespace llmc {
enum class GGMLType : uint32_t;

namespace ggml {

/// How a block format decodes: groups of `group` codes per scale.
struct BlockForm {
  int elems = 0;   ///< elements per block (32, or 256 for K-quants)
  int bytes = 0;   ///< bytes per block
  int group = 0;   ///< elements per scale (16 or 32)
  bool asymmetric = false;
  int codeMin = 0, codeMax = 0; ///< range of the decoded codes
  /// Whether every scale (and min) is an f16 value as stored (the 32-element
  /// formats) rather than an f32 product (the K-quants).
  bool halfScales = false;
};

/// The decodable block formats; std::nullopt for float types and for the
/// formats llmc does not read (IQ2_*, IQ3_*, IQ1_*, IQ4_XS, TQ*, MXFP4, ...).
std::optional<BlockForm> blockForm(GGMLType);

/// Decodes `nBlocks` consecutive blocks of `type` (which blockForm() knows)
/// from `src`: nBlocks * elems codes into `codes`, nBlocks * elems / group
/// scales into `scales` and, for an asymmetric format, as many mins into
/// `mins` (ignored for symmetric ones; may be null then).
void decodeBlocks(GGMLType type, const uint8_t *src, int64_t nBlocks,
                  int8_t *codes, float *scales, float *mins);

/// Dequantizes `nBlocks` blocks into nBlocks * elems floats, bit for bit as
/// ggml's dequantize_row_* (and the `gguf` package) do.
void dequantizeBlocks(GGMLType type, const uint8_t *src, int64_t nBlocks,
                      float *out);

/// The llmc integer layout that holds a decoded format's values exactly:
/// int4 or int8 codes (asymmetric codes stored unsigned, symmetric int4
/// with the +8 offset), groups of `group`, f16 scales where the format's
/// are f16 and f32 where ggml multiplies two scales.
struct KeptLayout {
  int bits = 8;
  int group = 32;
  bool asymmetric = false;
  int scaleBytes = 4;
};
KeptLayout keptLayout(const BlockForm &);

} // namespace ggml
} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_GGMLBLOCKS_H
