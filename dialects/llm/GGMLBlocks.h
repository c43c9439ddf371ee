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
// Beside QuantLayout.h because the two meet here: what the ggml dtypes of
// #llm.storage mean (LLMBase.td) and the #llm.quant that holds each one
// exactly. No MLIR or LLVM: the GGUF reader (and its fuzzer), the packager
// and the dialect all use it. Block layouts: ggml-common.h; the decoders'
// comments say how each is packed.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECTS_LLM_GGMLBLOCKS_H
#define LLMC_DIALECTS_LLM_GGMLBLOCKS_H

#include <cstdint>
#include <optional>

namespace llmc {

/// ggml tensor types, with ggml's numbers (ggml.h). Gaps are types removed
/// from ggml (4-5, 31-33, 36-38); those and anything past Q1_0 are refused.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

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

#endif // LLMC_DIALECTS_LLM_GGMLBLOCKS_H
