//===- Tokenizer.h - Llama 3 tokenizer.json -> tokenizer blob ----*- C++ -*-===//
//
// Reads a Hugging Face tokenizer (tokenizer.json, and tokenizer_config.json /
// generation_config.json when present) and writes the binary tokenizer blob
// the runtime uses in place (layout: runtime/include/llmc_tokenizer_format.h).
// LLVM Support only, no MLIR: every file is hostile input.
//
// Accepted: exactly the byte-level BPE of Llama 3 (3, 3.1, 3.2 and their
// fine-tunes):
//  - model.type "BPE" (or no type with vocab + merges), byte_fallback false,
//    no dropout, no continuing_subword_prefix / end_of_word_suffix;
//    ignore_merges is carried into the blob (LLMC_TOK_OPT_IGNORE_MERGES);
//  - normalizer null;
//  - pre_tokenizer Sequence[Split(Regex(kLlama3Pattern), Isolated, invert
//    false), ByteLevel(add_prefix_space false, use_regex false)];
//  - decoder ByteLevel;
//  - every vocab entry decodes through the GPT-2 byte-to-unicode table, every
//    byte 0..255 has a token, ids are unique and < kMaxVocab;
//  - merges are "left right" strings or [left, right] pairs whose parts and
//    concatenation are vocab tokens, without duplicates;
//  - added_tokens have unique ids and contents, lstrip / rstrip / single_word
//    false; one whose id is a vocab id must have the same text.
// Anything else (WordPiece, Unigram, SentencePiece-style BPE with
// byte_fallback / Metaspace as in Llama 2, another regex, ...) fails with one
// message naming the file and what is unsupported.
//
// Special ids:
//  - bos: tokenizer_config.json bos_token (a string or {"content": ...}),
//    else generation_config.json bos_token_id, else <|begin_of_text|>;
//  - eot: the added token <|eot_id|>;
//  - eos (end of text): the first of tokenizer_config.json eos_token,
//    generation_config.json eos_token_id (an int or a list, in order) and
//    <|end_of_text|> that is not the eot id; failing that the first of them;
//  - -1 where there is none.
// chat_template (LLMC_TOK_CHAT_*) is the form of tokenizer_config.json's
// chat_template (a string, or the "default" entry of a list of {name,
// template}) when it contains both "<|start_header_id|>" and "<|eot_id|>"
// and the vocabulary has the <|start_header_id|>, <|end_header_id|> and
// <|eot_id|> tokens: Llama 3.1's when it also writes "Cutting Knowledge
// Date", Llama 3.2's when that date is strftime_now's, else Llama 3's; 0
// otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_TOKENIZER_H
#define LLMC_COMPILER_FRONTEND_TOKENIZER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace llmc {

/// The Llama 3 pre-tokenizer regex, as tokenizer.json spells it.
extern const char kLlama3Pattern[];

/// Largest tokenizer.json read (Llama 3's is 9 MB).
constexpr uint64_t kMaxTokenizerJSONBytes = uint64_t(64) << 20;
/// Ids must be below this (Llama 3 has 128256 tokens).
constexpr uint32_t kMaxVocab = uint32_t(1) << 21;
/// At most this many merges (Llama 3 has 280147).
constexpr uint32_t kMaxMerges = uint32_t(1) << 22;

/// True if `modelDir` has a tokenizer.json (a regular file).
bool hasTokenizer(llvm::StringRef modelDir);

/// Reads `modelDir`/tokenizer.json and, if present, tokenizer_config.json and
/// generation_config.json; returns the tokenizer blob.
llvm::Expected<std::vector<uint8_t>> buildTokenizerBlob(llvm::StringRef modelDir);

/// The same from file contents already in memory (tests, fuzzing). An empty
/// `tokenizerConfig` / `generationConfig` means the file is absent. The
/// *Path arguments are only used in messages.
llvm::Expected<std::vector<uint8_t>>
buildTokenizerBlobFromText(llvm::StringRef tokenizerJSON,
                           llvm::StringRef tokenizerPath,
                           llvm::StringRef tokenizerConfig,
                           llvm::StringRef tokenizerConfigPath,
                           llvm::StringRef generationConfig,
                           llvm::StringRef generationConfigPath);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_TOKENIZER_H
