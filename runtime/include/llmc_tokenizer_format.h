/* llmc tokenizer blob: the binary form of a byte-level BPE tokenizer
 * (Llama 3 style) that the compiler writes into the artifact and the runtime
 * uses in place (no parsing, no allocation at load).
 *
 * All integers little-endian; every table 4-byte aligned; offsets are from
 * the start of the blob. The compiler (compiler/frontend/Tokenizer.cpp)
 * writes it from tokenizer.json; the runtime (runtime/src/tokenizer.c)
 * validates every offset/count against the blob size before use.
 *
 *   header            llmc_tok_header
 *   strings           raw bytes of every token (what the token decodes to,
 *                     i.e. after undoing the GPT-2 byte-to-unicode mapping;
 *                     special tokens: their literal text)
 *   tokens            vocab_size x llmc_tok_entry {offset into strings, len,
 *                     flags}; ids without a token (holes) have len 0 and
 *                     LLMC_TOK_FLAG_UNUSED
 *   sorted            vocab_size x u32: ids of non-special, used tokens sorted
 *                     by their bytes (memcmp order, shorter first on a tie
 *                     prefix), for binary-search lookup; num_sorted entries used
 *   merges            num_merges x llmc_tok_merge sorted by (left, right); rank
 *                     is the merge's position in tokenizer.json (lower merges
 *                     first), result the id of the merged token
 *   specials          num_special x u32: ids of added/special tokens, sorted by
 *                     their text length descending (longest match first)
 *   byte_tokens       256 x u32: the token id of each single byte
 */
#ifndef LLMC_TOKENIZER_FORMAT_H
#define LLMC_TOKENIZER_FORMAT_H

#include <stdint.h>

#define LLMC_TOK_MAGIC "LLMCTOK"  /* 8 bytes with the NUL */
#define LLMC_TOK_VERSION 1u

enum {
  LLMC_TOK_PRETOKENIZER_LLAMA3 = 1 /* the Llama 3 Split regex + ByteLevel */
};

enum {
  LLMC_TOK_OPT_IGNORE_MERGES = 1u << 0 /* a pre-token that is itself in the
                                          vocabulary is emitted whole */
};

enum {
  LLMC_TOK_FLAG_SPECIAL = 1u << 0, /* added token with special = true */
  LLMC_TOK_FLAG_ADDED = 1u << 1,   /* added token (special or not) */
  LLMC_TOK_FLAG_UNUSED = 1u << 2   /* no token has this id */
};

/* The chat template of the checkpoint's tokenizer_config.json, by the form
 * it renders (the tokenizer only records it; `llmc chat` renders it). */
enum {
  LLMC_TOK_CHAT_NONE = 0,    /* none, or not one llmc can render */
  LLMC_TOK_CHAT_LLAMA3 = 1,  /* Llama 3: header blocks, bos first */
  LLMC_TOK_CHAT_LLAMA31 = 2, /* Llama 3.1: always a system block with
                                "Cutting Knowledge Date: December 2023" and
                                "Today Date: 26 Jul 2024" */
  LLMC_TOK_CHAT_LLAMA32 = 3  /* Llama 3.2 / 3.3: the same with today's date */
};

typedef struct llmc_tok_header {
  char magic[8];
  uint32_t version;
  uint32_t vocab_size;
  uint32_t num_merges;
  uint32_t num_special;
  uint32_t num_sorted;
  uint32_t pretokenizer; /* LLMC_TOK_PRETOKENIZER_* */
  uint32_t options;      /* LLMC_TOK_OPT_* */
  int32_t bos_id;        /* -1 when none */
  int32_t eos_id;        /* end of text, -1 when none */
  int32_t eot_id;        /* end of turn (<|eot_id|>), -1 when none */
  uint32_t chat_template; /* LLMC_TOK_CHAT_*: the checkpoint's chat template */
  uint32_t strings_offset, strings_size;
  uint32_t tokens_offset;
  uint32_t sorted_offset;
  uint32_t merges_offset;
  uint32_t specials_offset;
  uint32_t byte_tokens_offset;
  uint32_t reserved[4];
} llmc_tok_header;

typedef struct llmc_tok_entry {
  uint32_t offset;
  uint32_t len;
  uint32_t flags;
} llmc_tok_entry;

typedef struct llmc_tok_merge {
  uint32_t left;
  uint32_t right;
  uint32_t rank;
  uint32_t result;
} llmc_tok_merge;

#endif /* LLMC_TOKENIZER_FORMAT_H */
