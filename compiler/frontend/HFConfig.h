//===- HFConfig.h - Llama 3 config.json ---------------------------*- C++ -*-===//
//
// Parses and validates a Hugging Face `config.json` of the Llama 3 family
// (3, 3.1, 3.2). LLVM Support only, no MLIR: the file is hostile input and is
// tested under the sanitizers with the safetensors reader.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_HFCONFIG_H
#define LLMC_COMPILER_FRONTEND_HFCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc {

/// A rope_scaling / rope_parameters entry resolved to what the math needs
/// (transformers' defaults filled in, YaRN's attention factor computed).
struct LlamaRopeScaling {
  enum class Type { Llama3, Linear, Dynamic, Yarn };
  Type type = Type::Llama3;
  double factor = 1.0;
  double lowFreqFactor = 0.0;                 ///< llama3
  double highFreqFactor = 0.0;                ///< llama3
  int64_t originalMaxPositionEmbeddings = 0;  ///< llama3, yarn
  double attentionFactor = 1.0;               ///< yarn
  double betaFast = 32.0, betaSlow = 1.0;     ///< yarn
  bool truncate = true;                       ///< yarn
};

struct LlamaConfig {
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t vocabSize = 0;
  int64_t maxPositionEmbeddings = 0;
  // transformers' LlamaConfig defaults, for configs that leave them out.
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  std::optional<LlamaRopeScaling> ropeScaling;
  bool tieWordEmbeddings = false;
  int64_t bosTokenId = 0;
  std::vector<int64_t> eosTokenIds;
  /// Informational ("bfloat16", ...), may be empty: `dtype` (transformers
  /// 5) or `torch_dtype` (4.x).
  std::string torchDtype;
};

/// Parses `text` (the contents of `path`, used in messages). Fails with one
/// message naming the file and the problem for anything llmc cannot compile:
/// another architecture, mixture of experts, biases, an activation other than
/// silu, a rope type transformers does not define for Llama (or a rope key
/// it would not use), inconsistent or absurd sizes. Reads both the
/// transformers 4.x spelling (`rope_theta` + `rope_scaling`, `torch_dtype`)
/// and the 5.x one (`rope_parameters` holding `rope_theta`, `dtype`).
llvm::Expected<LlamaConfig> parseLlamaConfig(llvm::StringRef text,
                                             llvm::StringRef path);

/// Reads `dir`/config.json and, for special token ids missing there,
/// `dir`/generation_config.json.
llvm::Expected<LlamaConfig> loadLlamaConfig(llvm::StringRef dir);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_HFCONFIG_H
