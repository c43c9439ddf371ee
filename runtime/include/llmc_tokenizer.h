/* llmc runtime: the Llama 3 tokenizer (byte-level BPE), C API.
 *
 * Works in place on the tokenizer blob the compiler writes into the artifact
 * (runtime/include/llmc_tokenizer_format.h): llmc_tokenizer_init validates
 * the blob once and fills a caller-provided llmc_tokenizer; nothing is copied
 * and nothing is allocated.
 *
 * Conventions
 *  - Every call that can fail returns an llmc_status (runtime/include/llmc.h)
 *    and sets llmc_last_error(), as the rest of the API does. Nothing aborts,
 *    prints or throws, whatever the blob or the input holds.
 *  - A tokenizer is immutable once initialised; every function is reentrant
 *    and may be called from several threads on the same tokenizer. The blob
 *    must outlive the tokenizer.
 *  - Sized outputs: the functions write at most `cap` elements and report
 *    the number the full result needs; LLMC_ERR_BUFFER_TOO_SMALL when it
 *    did not fit, so a caller can retry with a bigger buffer.
 *
 * Encoding is exactly Hugging Face tokenizers' for Llama 3 tokenizer.json
 * (added-token split, the Split pre-tokenizer regex, ByteLevel, BPE with
 * ignore_merges), with these documented choices where HF has no answer:
 *  - Input need not be valid UTF-8 (HF only takes valid strings). Each
 *    maximal invalid subsequence (the unit String::from_utf8_lossy replaces by
 *    one U+FFFD) is classified like U+FFFD (not a letter, number or space);
 *    its raw bytes are kept, so the ids are those of the bytes themselves.
 *  - parse_special = 0 treats special tokens (LLMC_TOK_FLAG_SPECIAL) as plain
 *    text, like HF's encode_special_tokens = true: added tokens that are not
 *    special are still matched.
 *  - Memory: one pre-token (a run the regex matches, e.g. a word) of up to
 *    LLMC_TOK_STACK_SYMBOLS bytes is merged in a stack buffer (~7 KB). A longer
 *    pre-token (CJK text without spaces, long runs of symbols) takes one
 *    malloc of about 28 bytes per byte of it, reused for the rest of the call
 *    and freed before returning; if that fails the call returns
 *    LLMC_ERR_OUT_OF_MEMORY. BPE is O(n log n) per pre-token either way.
 */
#ifndef LLMC_TOKENIZER_H
#define LLMC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "llmc.h" /* same directory: works in-tree and for apps */

#ifdef __cplusplus
extern "C" {
#endif

/* Pre-tokens up to this many bytes are merged without allocating. */
#define LLMC_TOK_STACK_SYMBOLS 256

/* A validated view of a tokenizer blob. Defined here so that callers can
 * place it anywhere (no allocation); the fields are private. */
typedef struct llmc_tokenizer {
  const unsigned char *blob;
  size_t size;
  const unsigned char *strings;
  const unsigned char *tokens;   /* vocab_size x llmc_tok_entry */
  const unsigned char *sorted;   /* num_sorted x u32 */
  const unsigned char *merges;   /* num_merges x llmc_tok_merge */
  const unsigned char *specials; /* num_special x u32 */
  const unsigned char *byte_tokens; /* 256 x u32 */
  uint32_t vocab_size, num_merges, num_special, num_sorted, options;
  uint32_t max_special_len, max_token_len;
  int32_t bos_id, eos_id, eot_id;
  uint32_t chat_format;
  uint32_t special_first[8];  /* bitmap: first bytes of special tokens */
  uint32_t added_first[8];    /* bitmap: first bytes of non-special added tokens */
  int32_t byte_id[256];       /* byte_tokens, decoded */
  /* On failure of llmc_tokenizer_init, a static message saying what is wrong
   * with the blob ("" on success). */
  const char *error;
} llmc_tokenizer;

/* Validates the blob (header, every offset / count / id against the size,
 * sorted tables, merges consistent with the vocabulary) and fills *out.
 * Hostile blobs give LLMC_ERR_BAD_FORMAT (or LLMC_ERR_UNSUPPORTED_VERSION /
 * LLMC_ERR_UNSUPPORTED for a newer version or another pre-tokenizer) and
 * out->error says why; they never crash. Cost: one pass over the tables. */
LLMC_API llmc_status llmc_tokenizer_init(const void *blob, size_t size,
                                         llmc_tokenizer *out);

/* Vocabulary size, and the bos / eos / eot ids (-1 when the vocabulary has
 * none: a value, not an error). */
LLMC_API uint32_t llmc_tokenizer_vocab_size(const llmc_tokenizer *t);
LLMC_API int32_t llmc_tokenizer_bos(const llmc_tokenizer *t);
LLMC_API int32_t llmc_tokenizer_eos(const llmc_tokenizer *t);
LLMC_API int32_t llmc_tokenizer_eot(const llmc_tokenizer *t);
/* The checkpoint's chat template, LLMC_TOK_CHAT_* of llmc_tokenizer_format.h
 * (0: none llmc can render). */
LLMC_API uint32_t llmc_tokenizer_chat_format(const llmc_tokenizer *t);
/* Length in bytes of the longest token (0 for a NULL tokenizer). */
LLMC_API uint32_t llmc_tokenizer_max_token_bytes(const llmc_tokenizer *t);
/* LLMC_TOK_FLAG_* of a token, or 0 for an id out of range. */
LLMC_API uint32_t llmc_token_flags(const llmc_tokenizer *t, int32_t id);

/* Every call below that fills a caller's buffer (ids, ends, text) writes at
 * most `cap` entries and stores the size of the whole result in its last
 * argument; when that is more than cap it returns LLMC_ERR_BUFFER_TOO_SMALL
 * (the first cap entries are written): call again with a buffer of that
 * size. The buffer may be NULL when cap is 0, to ask for the size. */

/* Encodes `len` bytes of (UTF-8) text. parse_special: split out the literal
 * text of special / added tokens first (longest match at the leftmost
 * position, as HF does) and emit their ids; otherwise specials are plain
 * text (what an app must do with text a user typed). add_bos: prepend the
 * bos id (when the blob has one). */
LLMC_API llmc_status llmc_tokenize(const llmc_tokenizer *t, const char *text,
                                   size_t len, int parse_special, int add_bos,
                                   int32_t *ids, size_t cap, size_t *n_ids);

/* Pre-tokenization alone (for tests and tools): the pieces BPE sees, as end
 * offsets into text (piece k is [ends[k-1], ends[k]), ends[-1] = 0). With
 * parse_special, special / added token matches are pieces of their own. */
LLMC_API llmc_status llmc_pretokenize(const llmc_tokenizer *t, const char *text,
                                      size_t len, int parse_special,
                                      size_t *ends, size_t cap,
                                      size_t *n_pieces);

/* The raw bytes of one token (what it decodes to: possibly a partial UTF-8
 * sequence; special tokens: their text). *bytes points into the blob. */
LLMC_API llmc_status llmc_token_bytes(const llmc_tokenizer *t, int32_t id,
                                      const char **bytes, size_t *len);

/* Decodes ids to UTF-8 text: the tokens' bytes concatenated, each maximal
 * invalid subsequence replaced by U+FFFD exactly as Rust's
 * String::from_utf8_lossy (which HF's ByteLevel decoder uses) does.
 * skip_special: leave out tokens flagged special. The text has no NUL
 * terminator. LLMC_ERR_INVALID_ARGUMENT for an id out of range or unused. */
LLMC_API llmc_status llmc_detokenize(const llmc_tokenizer *t, const int32_t *ids,
                                     size_t n, int skip_special, char *out,
                                     size_t cap, size_t *n_bytes);

/* Streaming detokenization: push one id at a time and get only complete
 * UTF-8 out. An incomplete sequence at the end is held back (in `pending`)
 * until the next push completes it; a sequence that can never complete gives
 * U+FFFD. The concatenated output of every push and the final flush equals
 * llmc_detokenize of all the ids (skip_special = 0).
 * Zero-initialise the struct to start (or after a flush). */
typedef struct llmc_detok_stream {
  unsigned char pending[4];
  unsigned npending;
} llmc_detok_stream;

/* A push never writes more than this many bytes for a token of n bytes: a
 * buffer of LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(t)) bytes
 * always suffices. */
#define LLMC_DETOK_STREAM_BOUND(n) (3 * ((size_t)(n) + 3))

/* Writes the text the id completes to out and its length to *written. If cap
 * is too small (see LLMC_DETOK_STREAM_BOUND), nothing is written, the stream
 * is unchanged, *written is the size needed and LLMC_ERR_BUFFER_TOO_SMALL is
 * returned (retry with a buffer of that size). */
LLMC_API llmc_status llmc_detok_stream_push(const llmc_tokenizer *t,
                                            llmc_detok_stream *s, int32_t id,
                                            char *out, size_t cap,
                                            size_t *written);

/* Ends the stream: a held-back incomplete sequence becomes U+FFFD (at most 3
 * bytes written). The stream is reset for reuse. Same cap rule as push. */
LLMC_API llmc_status llmc_detok_stream_flush(llmc_detok_stream *s, char *out,
                                             size_t cap, size_t *written);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_TOKENIZER_H */
