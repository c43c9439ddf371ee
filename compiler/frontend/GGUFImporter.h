//===- GGUFImporter.h - llama.cpp GGUF Llama model -> llm --------*- C++ -*-===//
//
// Imports a Llama-architecture GGUF file (version 2 or 3, as written by
// llama.cpp's convert_hf_to_gguf.py and llama-quantize) as the same `llm`
// module the Hugging Face importer builds: weight symbols carry Hugging Face
// names and shapes, #llm.storage points into the .gguf file. Accepted tensor
// types: F32, F16, BF16 and the block formats Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (dialects/llm/GGMLBlocks.h); norms
// F32, F16, BF16.
//
// What differs from a Hugging Face checkpoint, and how it is handled:
//  - ggml lists dims fastest first: GGUF [in, out] is our [out, in];
//  - the converter permutes the rows of q_proj / k_proj per head for ggml's
//    interleaved rope: recorded as `rope_permute_heads` on the storage and
//    undone by whoever reads the rows (the packager);
//  - Llama 3.1 rope scaling is stored as a table of per-frequency divisors
//    (rope_freqs.weight): it is matched against the llama3 formula for the
//    parameters in the metadata (llama.rope.scaling.*) or the Llama 3.1 /
//    3.2 ones (factor 8 or 32, low 1, high 4, original context 8192); a
//    table no candidate reproduces is refused;
//  - special token ids and the tokenizer come from tokenizer.ggml.*.
//
// With `keepQuantization` the importer also says how each weight is stored
// in the artifact (the `--quantization keep` preset, the default for GGUF
// input): a block format in the llmc integer layout that holds its codes,
// scales and mins unchanged (ggml::keptLayout: Q8_0 -> q8 and Q4_0 ->
// q4_g32, the same bytes repacked; Q4_K -> int4 groups of 32 with f32
// scales and mins; Q6_K -> int8 groups of 16 with f32 scales, which the
// CPU packs as int6 with its two-level scales, WeightOp::getLayout; ...), so the
// artifact computes with exactly the file's values; F16 -> f16, F32 / BF16
// -> f32, norms f32. Linears over integer weights are emitted as
// llm.quantized_linear, so the module needs no llm-quantize. Without it
// every weight is plain f32 and llm-quantize applies a preset to the
// dequantized values.
//
// Every value read from the file is hostile: the parser (GGUF.h) validates
// the container; this importer checks the hyper-parameters (positive,
// bounded, consistent) and every tensor's presence, shape and type, with one
// error naming the file and the key or tensor.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_GGUFIMPORTER_H
#define LLMC_COMPILER_FRONTEND_GGUFIMPORTER_H

#include "compiler/frontend/HFImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace llmc {

/// True if `path` names a GGUF file: a path ending in ".gguf" that is not a
/// directory (existing or not: opening it reports what is wrong), or a
/// regular file starting with the "GGUF" magic.
bool isGGUFPath(llvm::StringRef path);

struct GGUFImportOptions : ImportOptions {
  /// Annotate weights with the #llm.quant that keeps their stored format
  /// (see above) and emit llm.quantized_linear where it applies.
  bool keepQuantization = false;
};

/// Imports the GGUF file at `path` as an `llm` module. On failure,
/// diagnostics naming the file and the problem have been emitted on
/// `context` and null is returned.
mlir::OwningOpRef<mlir::ModuleOp>
importGGUF(mlir::MLIRContext &context, llvm::StringRef path,
           const GGUFImportOptions &options = {});


} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_GGUFIMPORTER_H
