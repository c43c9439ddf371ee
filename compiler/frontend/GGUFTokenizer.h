//===- GGUFTokenizer.h - a GGUF file's tokenizer as a tokenizer blob ------===//
#ifndef LLMC_COMPILER_FRONTEND_GGUFTOKENIZER_H
#define LLMC_COMPILER_FRONTEND_GGUFTOKENIZER_H

#include "compiler/frontend/GGUF.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace llmc {

/// The tokenizer blob (runtime/include/llmc_tokenizer_format.h) of the GGUF
/// file at `path`, built from its tokenizer.ggml.* metadata; std::nullopt if
/// the file has no tokenizer.ggml.tokens. Only Llama 3's byte-level BPE
/// (tokenizer.ggml.model "gpt2", pre "llama-bpe") is accepted.
llvm::Expected<std::optional<std::vector<uint8_t>>>
buildGGUFTokenizerBlob(llvm::StringRef path);

/// The same for a file already open (`path` names it in messages).
llvm::Expected<std::optional<std::vector<uint8_t>>>
buildGGUFTokenizerBlob(const GGUFFile &file, llvm::StringRef path);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_GGUFTOKENIZER_H
