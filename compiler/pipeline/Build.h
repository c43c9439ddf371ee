//===- Build.h - checkpoint -> .llmc artifact ---------------------*- C++ -*-===//
//
// The whole `llmc build`: import, lower, generate code, package. Kept out of
// the driver so tests and both front ends (Hugging Face, GGUF) share one
// pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_PIPELINE_BUILD_H
#define LLMC_COMPILER_PIPELINE_BUILD_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
class DialectRegistry;
} // namespace mlir

namespace llmc {

struct BuildOptions {
  /// A Hugging Face checkpoint directory or a GGUF file.
  std::string modelDir;
  std::string output;
  std::string target = "host"; ///< a preset of targets/presets
  /// Tokens per kernel call. Unset: min(kDefaultPrefillChunk, the compiled
  /// context); a chunk larger than the context is an error.
  std::optional<int64_t> prefillChunk;
  /// Quantization preset and per-class overrides (see llm-quantize). Empty:
  /// the input's default, "f32" for a Hugging Face checkpoint and "keep"
  /// for a GGUF file. "keep" (GGUF only) stores every weight in the format
  /// the file has it (Q8_0 -> q8, Q4_0 -> q4_g32, F16 -> f16, F32 / BF16 ->
  /// f32, norms f32; docs/quantization.md); any other preset requantizes
  /// from the dequantized values.
  std::string quantization;
  std::vector<std::string> quantOverrides;
  /// Refuse a weight the preset's groups do not fit instead of falling back
  /// (llm-quantize's `strict`).
  bool strictQuant = false;
  /// KV cache element type: "f32", "f16" or "q8" (llm-tile-kv).
  std::string kvCache = "f32";
  /// Positions per attention tile; 0: from the target preset's L1 size.
  int64_t kvTile = 0;
  /// Position ranges attention computes in parallel and combines (flash
  /// decoding); 1 on CPUs, whose threads the KV heads already fill.
  int64_t kvSplits = 1;
  /// Run llm-fuse (five kernels a layer); off only to compare against the
  /// unfused graph.
  bool fuse = true;
  /// 0: min(max_position_embeddings, kDefaultMaxContext).
  int64_t maxContext = 0;
  /// What to write: "artifact" (the code inside the .llmc), or "static-lib"
  /// / "shared-lib": the code as a library an app links (`output` is
  /// libNAME.a / libNAME.so), with NAME.h declaring `llmc_model_NAME()` and
  /// the weights in NAME.llmc beside it (CPU targets).
  std::string emit = "artifact";
  /// With a library: the artifact inside it too (`llmc_model_NAME_artifact`),
  /// for small models; no NAME.llmc then.
  bool embedWeights = false;
  /// Keep NaN / infinite weights instead of refusing the build.
  bool allowNonfinite = false;
  /// Write the dispatch-level module / optimized LLVM IR next to the output.
  std::string dumpKernelIR;
  std::string dumpLLVMIR;
  /// Write the compiled kernel payload as stored in the artifact (shared
  /// object, OpenCL C, SPIR-V binary), for the target's own tools.
  std::string dumpPayload;
  /// Progress lines go here (stderr in the CLI); null for silence.
  llvm::raw_ostream *progress = nullptr;
};

constexpr int64_t kDefaultPrefillChunk = 64;

/// Default compiled context when the user gives none: Llama 3.1 advertises
/// 128K positions, whose f32 KV cache alone would not fit a phone.
constexpr int64_t kDefaultMaxContext = 4096;

/// Registers every dialect the pipeline touches.
void registerBuildDialects(mlir::DialectRegistry &registry);

/// Builds the artifact. Errors are reported as MLIR diagnostics on `ctx`
/// (the CLI prints them); returns false on failure, leaving no output file.
bool buildArtifact(mlir::MLIRContext &ctx, const BuildOptions &options);

} // namespace llmc

#endif // LLMC_COMPILER_PIPELINE_BUILD_H
