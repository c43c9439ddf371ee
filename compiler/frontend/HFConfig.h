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

struct LlamaRopeScaling {
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositionEmbeddings = 8192;
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
  double rmsNormEps = 1e-5;
  double ropeTheta = 500000.0;
  std::optional<LlamaRopeScaling> ropeScaling;
  bool tieWordEmbeddings = false;
  int64_t bosTokenId = 0;
  std::vector<int64_t> eosTokenIds;
  std::string torchDtype; ///< informational ("bfloat16", ...), may be empty
};

/// Parses `text` (the contents of `path`, used in messages). Fails with one
/// message naming the file and the problem for anything llmc cannot compile:
/// another architecture, mixture of experts, biases, an activation other than
/// silu, a rope scaling other than llama3, inconsistent or absurd sizes.
llvm::Expected<LlamaConfig> parseLlamaConfig(llvm::StringRef text,
                                             llvm::StringRef path);

/// Reads `dir`/config.json and, for special token ids missing there,
/// `dir`/generation_config.json.
llvm::Expected<LlamaConfig> loadLlamaConfig(llvm::StringRef dir);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_HFCONFIG_H
