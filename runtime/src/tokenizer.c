/* llmc runtime: the Llama 3 tokenizer (byte-level BPE) over a validated blob.
 * API and documented behaviour: runtime/include/llmc_tokenizer.h; the blob:
 * runtime/include/llmc_tokenizer_format.h. C11, libc only.
 *
 * Encoding = HF tokenizers' pipeline for Llama 3:
 *  1. added tokens: split out the literal text of added/special tokens
 *     (leftmost position, longest text there);
 *  2. pre-tokenizer: the Split regex
 *       (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *        ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *     as a hand-written scanner with the engine's leftmost-first alternation
 *     and backtracking (see next_piece); every character is matched by some
 *     alternative, so the pieces tile the text;
 *  3. ByteLevel: a bijection on bytes, so the blob stores raw bytes and we
 *     skip it;
 *  4. BPE per piece: with ignore_merges a piece that is a token is emitted
 *     whole; otherwise bytes -> byte tokens, then repeatedly merge the
 *     adjacent pair of lowest rank (leftmost first on a tie), with an indexed
 *     binary heap over the pairs and a linked list of symbols.
 */
#include "runtime/include/llmc_tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/hal/llmc_hal.h"
#include "runtime/include/llmc_tokenizer_format.h"
#include "runtime/src/llmc_internal.h"
#include "runtime/src/unicode_tables.h"

/* ---- Little-endian loads (no alignment requirement on the blob) --------- */

static inline uint32_t ld32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

#define ENTRY_SIZE 12u
#define MERGE_SIZE 16u

static inline uint32_t tok_off(const llmc_tokenizer *t, uint32_t id) {
  return ld32(t->tokens + (size_t)id * ENTRY_SIZE);
}
static inline uint32_t tok_len(const llmc_tokenizer *t, uint32_t id) {
  return ld32(t->tokens + (size_t)id * ENTRY_SIZE + 4);
}
static inline uint32_t tok_flags(const llmc_tokenizer *t, uint32_t id) {
  return ld32(t->tokens + (size_t)id * ENTRY_SIZE + 8);
}
static inline const unsigned char *tok_str(const llmc_tokenizer *t,
                                           uint32_t id) {
  return t->strings + tok_off(t, id);
}

/* memcmp order, shorter first on a common prefix. */
static int cmp_bytes(const unsigned char *a, size_t na, const unsigned char *b,
                     size_t nb) {
  size_t n = na < nb ? na : nb;
  /* Tokens are short: a byte loop beats a call to memcmp. */
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/* ---- Validation ----------------------------------------------------------- */

#define HDR(f) ld32(b + offsetof(llmc_tok_header, f))

static int table_ok(uint64_t off, uint64_t count, uint64_t elem, size_t size) {
  return off % 4 == 0 && off <= size && count * elem <= (uint64_t)size - off;
}

static int used_id(const llmc_tokenizer *t, uint32_t id) {
  return id < t->vocab_size && !(tok_flags(t, id) & LLMC_TOK_FLAG_UNUSED);
}

static int opt_id_ok(const llmc_tokenizer *t, int32_t id) {
  return id == -1 || (id >= 0 && used_id(t, (uint32_t)id));
}

llmc_status llmc_tokenizer_init(const void *blob, size_t size, llmc_tokenizer *out) {
  if (!out) return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
  memset(out, 0, sizeof *out);
/* Without error text (LLMC_NO_ERROR_TEXT) every failure says only that the
 * blob is invalid: the 27 messages are 1.7 KB of the tokenizer. */
#ifdef LLMC_NO_ERROR_TEXT
#define TOK_MSG(msg) "tokenizer blob: invalid"
#else
#define TOK_MSG(msg) "tokenizer blob: " msg
#endif
#define FAIL(code, msg) \
  do {                  \
    memset(out, 0, sizeof *out); \
    out->error = TOK_MSG(msg); \
    return llmc_hal_fail(code, "%s", out->error); \
  } while (0)
  if (!blob) FAIL(LLMC_ERR_INVALID_ARGUMENT, "NULL blob");
  const unsigned char *b = (const unsigned char *)blob;
  if (size < sizeof(llmc_tok_header))
    FAIL(LLMC_ERR_BAD_FORMAT, "smaller than its header");
  if (memcmp(b, LLMC_TOK_MAGIC, 8) != 0)
    FAIL(LLMC_ERR_BAD_FORMAT, "bad magic (not a tokenizer blob)");
  if (HDR(version) != LLMC_TOK_VERSION)
    FAIL(LLMC_ERR_UNSUPPORTED_VERSION, "unsupported version");
  if (HDR(pretokenizer) != LLMC_TOK_PRETOKENIZER_LLAMA3)
    FAIL(LLMC_ERR_UNSUPPORTED, "unknown pre-tokenizer");
  if (HDR(options) & ~(uint32_t)LLMC_TOK_OPT_IGNORE_MERGES)
    FAIL(LLMC_ERR_UNSUPPORTED, "unknown option bits");

  llmc_tokenizer t;
  memset(&t, 0, sizeof t);
  t.blob = b;
  t.size = size;
  t.vocab_size = HDR(vocab_size);
  t.num_merges = HDR(num_merges);
  t.num_special = HDR(num_special);
  t.num_sorted = HDR(num_sorted);
  t.options = HDR(options);
  t.bos_id = (int32_t)HDR(bos_id);
  t.eos_id = (int32_t)HDR(eos_id);
  t.eot_id = (int32_t)HDR(eot_id);
  t.chat_format = HDR(chat_template);
  uint32_t strings_offset = HDR(strings_offset), strings_size = HDR(strings_size);
  uint32_t tokens_offset = HDR(tokens_offset), sorted_offset = HDR(sorted_offset);
  uint32_t merges_offset = HDR(merges_offset), specials_offset = HDR(specials_offset);
  uint32_t byte_tokens_offset = HDR(byte_tokens_offset);

  if (t.vocab_size == 0 || t.vocab_size > (uint32_t)INT32_MAX)
    FAIL(LLMC_ERR_BAD_FORMAT, "bad vocabulary size");
  if (t.num_sorted > t.vocab_size || t.num_special > t.vocab_size)
    FAIL(LLMC_ERR_BAD_FORMAT, "table count larger than the vocabulary");
  if ((uint64_t)strings_offset + strings_size > size)
    FAIL(LLMC_ERR_BAD_FORMAT, "strings past the end");
  if (!table_ok(tokens_offset, t.vocab_size, ENTRY_SIZE, size))
    FAIL(LLMC_ERR_BAD_FORMAT, "token table misaligned or past the end");
  if (!table_ok(sorted_offset, t.num_sorted, 4, size))
    FAIL(LLMC_ERR_BAD_FORMAT, "sorted table misaligned or past the end");
  if (!table_ok(merges_offset, t.num_merges, MERGE_SIZE, size))
    FAIL(LLMC_ERR_BAD_FORMAT, "merge table misaligned or past the end");
  if (!table_ok(specials_offset, t.num_special, 4, size))
    FAIL(LLMC_ERR_BAD_FORMAT, "special table misaligned or past the end");
  if (!table_ok(byte_tokens_offset, 256, 4, size))
    FAIL(LLMC_ERR_BAD_FORMAT, "byte token table misaligned or past the end");
  t.strings = b + strings_offset;
  t.tokens = b + tokens_offset;
  t.sorted = b + sorted_offset;
  t.merges = b + merges_offset;
  t.specials = b + specials_offset;
  t.byte_tokens = b + byte_tokens_offset;

  const uint32_t known = LLMC_TOK_FLAG_SPECIAL | LLMC_TOK_FLAG_ADDED |
                         LLMC_TOK_FLAG_UNUSED;
  for (uint32_t id = 0; id < t.vocab_size; id++) {
    uint32_t off = tok_off(&t, id), len = tok_len(&t, id), fl = tok_flags(&t, id);
    if (fl & ~known) FAIL(LLMC_ERR_BAD_FORMAT, "token with unknown flags");
    if (fl & LLMC_TOK_FLAG_UNUSED) {
      if (fl != LLMC_TOK_FLAG_UNUSED || len != 0)
        FAIL(LLMC_ERR_BAD_FORMAT, "unused token id with a text or flags");
      continue;
    }
    if (len == 0) FAIL(LLMC_ERR_BAD_FORMAT, "empty token");
    if ((uint64_t)off + len > strings_size)
      FAIL(LLMC_ERR_BAD_FORMAT, "token text past the strings");
    if (len > t.max_token_len) t.max_token_len = len;
  }
  if (!opt_id_ok(&t, t.bos_id) || !opt_id_ok(&t, t.eos_id) ||
      !opt_id_ok(&t, t.eot_id))
    FAIL(LLMC_ERR_BAD_FORMAT, "bos/eos/eot id out of range");

  for (uint32_t k = 0; k < t.num_sorted; k++) {
    uint32_t id = ld32(t.sorted + 4 * (size_t)k);
    if (!used_id(&t, id) || (tok_flags(&t, id) & LLMC_TOK_FLAG_SPECIAL))
      FAIL(LLMC_ERR_BAD_FORMAT, "sorted table: bad id");
    if (k > 0) {
      uint32_t p = ld32(t.sorted + 4 * (size_t)(k - 1));
      if (cmp_bytes(tok_str(&t, p), tok_len(&t, p), tok_str(&t, id),
                    tok_len(&t, id)) >= 0)
        FAIL(LLMC_ERR_BAD_FORMAT, "sorted table not strictly sorted");
    }
  }

  uint64_t prev_key = 0;
  for (uint32_t k = 0; k < t.num_merges; k++) {
    const unsigned char *m = t.merges + (size_t)k * MERGE_SIZE;
    uint32_t l = ld32(m), r = ld32(m + 4), res = ld32(m + 12);
    if (!used_id(&t, l) || !used_id(&t, r) || !used_id(&t, res))
      FAIL(LLMC_ERR_BAD_FORMAT, "merge with an id out of range");
    uint64_t key = (uint64_t)l << 32 | r;
    if (k > 0 && key <= prev_key)
      FAIL(LLMC_ERR_BAD_FORMAT, "merges not strictly sorted by (left, right)");
    prev_key = key;
    /* The merged token is the concatenation (the BPE heap relies on it). */
    uint32_t ll = tok_len(&t, l), rl = tok_len(&t, r);
    if ((uint64_t)ll + rl != tok_len(&t, res) ||
        memcmp(tok_str(&t, res), tok_str(&t, l), ll) != 0 ||
        memcmp(tok_str(&t, res) + ll, tok_str(&t, r), rl) != 0)
      FAIL(LLMC_ERR_BAD_FORMAT, "merge result is not left + right");
  }

  uint32_t prev_len = UINT32_MAX;
  for (uint32_t k = 0; k < t.num_special; k++) {
    uint32_t id = ld32(t.specials + 4 * (size_t)k);
    if (!used_id(&t, id) ||
        !(tok_flags(&t, id) & (LLMC_TOK_FLAG_SPECIAL | LLMC_TOK_FLAG_ADDED)))
      FAIL(LLMC_ERR_BAD_FORMAT, "special table: bad id");
    uint32_t len = tok_len(&t, id);
    if (len > prev_len)
      FAIL(LLMC_ERR_BAD_FORMAT, "special table not sorted by length");
    prev_len = len;
    if (len > t.max_special_len) t.max_special_len = len;
    unsigned c = tok_str(&t, id)[0];
    if (tok_flags(&t, id) & LLMC_TOK_FLAG_SPECIAL)
      t.special_first[c >> 5] |= 1u << (c & 31);
    else
      t.added_first[c >> 5] |= 1u << (c & 31);
  }

  for (unsigned c = 0; c < 256; c++) {
    uint32_t id = ld32(t.byte_tokens + 4 * c);
    if (!used_id(&t, id) || tok_len(&t, id) != 1 || tok_str(&t, id)[0] != c ||
        (tok_flags(&t, id) & LLMC_TOK_FLAG_SPECIAL))
      FAIL(LLMC_ERR_BAD_FORMAT, "byte token table: bad id");
    t.byte_id[c] = (int32_t)id;
  }
#undef FAIL
#undef TOK_MSG
  t.error = "";
  *out = t;
  return LLMC_OK;
}

static int tok_ok(const llmc_tokenizer *t) { return t && t->blob; }

static llmc_status bad_id(int32_t id) {
  return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT,
                       "tokenizer: id %d is not in the vocabulary", id);
}

/* The common end of the calls that fill a caller's buffer: the size the
 * whole result needs in *out_n, and whether it fit. */
static llmc_status fits(size_t need, size_t cap, size_t *out_n, const char *what) {
  *out_n = need;
  if (need <= cap) return LLMC_OK;
  return llmc_hal_fail(LLMC_ERR_BUFFER_TOO_SMALL,
                       "tokenizer: the %s needs %zu entries, the buffer holds %zu",
                       what, need, cap);
}

uint32_t llmc_tokenizer_vocab_size(const llmc_tokenizer *t) {
  return tok_ok(t) ? t->vocab_size : 0;
}
int32_t llmc_tokenizer_bos(const llmc_tokenizer *t) { return tok_ok(t) ? t->bos_id : -1; }
int32_t llmc_tokenizer_eos(const llmc_tokenizer *t) { return tok_ok(t) ? t->eos_id : -1; }
int32_t llmc_tokenizer_eot(const llmc_tokenizer *t) { return tok_ok(t) ? t->eot_id : -1; }
uint32_t llmc_tokenizer_chat_format(const llmc_tokenizer *t) {
  return tok_ok(t) ? t->chat_format : 0;
}
uint32_t llmc_tokenizer_max_token_bytes(const llmc_tokenizer *t) {
  return tok_ok(t) ? t->max_token_len : 0;
}
uint32_t llmc_token_flags(const llmc_tokenizer *t, int32_t id) {
  if (!tok_ok(t) || id < 0 || (uint32_t)id >= t->vocab_size) return 0;
  return tok_flags(t, (uint32_t)id);
}

llmc_status llmc_token_bytes(const llmc_tokenizer *t, int32_t id, const char **bytes,
                             size_t *len) {
  if (!tok_ok(t) || !bytes || !len)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
  if (id < 0 || !used_id(t, (uint32_t)id))
    return bad_id(id);
  *bytes = (const char *)tok_str(t, (uint32_t)id);
  *len = tok_len(t, (uint32_t)id);
  return LLMC_OK;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes the sequence at s[0..n), n >= 1. Returns its length (1..4) and sets
 * *cp when valid; -m when invalid, m >= 1 being the length of the maximal
 * subpart (the unit from_utf8_lossy replaces by one U+FFFD); 0 when s is a
 * valid but incomplete prefix running to the end of the buffer. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int need;
  uint32_t v;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* <= U+10FFFF */
  } else {
    return -1;
  }
  size_t i = 1;
  for (int k = 0; k < need; k++, i++) {
    if (i >= n) return 0;
    unsigned x = s[i];
    if (x < lo || x > hi) return -(int)i;
    lo = 0x80;
    hi = 0xBF;
    v = v << 6 | (x & 0x3F);
  }
  *cp = v;
  return (int)i;
}

/* ---- Character classes ---------------------------------------------------- */

/* \p{L}, \p{N} and \s from runtime/src/unicode_tables.h, generated by
 * runtime/tools/gen_unicode_tables.py from Python's unicodedata plus the code
 * points HF tokenizers' own regex engine (Oniguruma, Unicode 16 in tokenizers
 * 0.23.3) classes as letters / numbers, so both agree on every code point
 * today. \s is Unicode White_Space, which is what Oniguruma's \s is
 * (U+0009-000D, U+0085, Zs, Zl, Zp). Residual risk: a tokenizers release with
 * a newer Unicode classes newly assigned code points that this table still
 * calls "other" (regenerate the table). */

static int uc_class(uint32_t cp) {
  if (cp < 0x80) return llmc_uc_ascii[cp];
  /* Last segment starting at or before cp (segs[0] starts at U+0080). */
  uint32_t lo = 0, hi = LLMC_UC_NSEGS;
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if ((llmc_uc_segs[mid] >> 2) <= cp)
      lo = mid;
    else
      hi = mid;
  }
  return (int)(llmc_uc_segs[lo] & 3);
}

/* One character of the text being pre-tokenized: its class, its length in
 * bytes, and its code point (invalid subsequences: U+FFFD, class other). */
typedef struct ch {
  uint32_t cp;
  int cls;
  size_t len;
} ch;

static inline ch char_at(const unsigned char *s, size_t end, size_t i) {
  ch c;
  unsigned b = s[i];
  if (b < 0x80) {
    c.cp = b;
    c.cls = llmc_uc_ascii[b];
    c.len = 1;
    return c;
  }
  int r = utf8_decode(s + i, end - i, &c.cp);
  if (r > 0) {
    c.len = (size_t)r;
    c.cls = uc_class(c.cp);
  } else {
    /* Invalid, or cut off by the end of the segment: one unit, like the
     * U+FFFD from_utf8_lossy would put there. */
    c.len = r < 0 ? (size_t)-r : end - i;
    c.cp = 0xFFFD;
    c.cls = LLMC_UC_OTHER;
  }
  return c;
}

static inline int is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/* End of the run of characters of class cls starting at i, at most max
 * characters (0: unbounded). */
static size_t run_end(const unsigned char *s, size_t end, size_t i, int cls,
                      unsigned max) {
  unsigned k = 0;
  while (i < end && (max == 0 || k < max)) {
    ch c = char_at(s, end, i);
    if (c.cls != cls) break;
    i += c.len;
    k++;
  }
  return i;
}

/* The end of the piece the Llama 3 regex matches at i (i < end), trying the
 * alternatives in order as a backtracking engine does. */
static size_t next_piece(const unsigned char *s, size_t end, size_t i) {
  ch c0 = char_at(s, end, i);
  size_t i1 = i + c0.len;

  /* 1. (?i:'s|'t|'re|'ve|'m|'ll|'d). Case-insensitive: the only non-ASCII
   *    code point whose simple case folding is one of these letters is
   *    U+017F (long s -> s); HF's engine matches "'\u017f" (checked). */
  if (c0.cp == '\'' && i1 < end) {
    ch c1 = char_at(s, end, i1);
    uint32_t l = c1.cp < 0x80 ? (c1.cp | 0x20) : c1.cp;
    size_t i2 = i1 + c1.len;
    if (l == 's' || l == 0x17F || l == 't' || l == 'm' || l == 'd') return i2;
    if ((l == 'r' || l == 'v' || l == 'l') && i2 < end) {
      unsigned c2 = s[i2] | 0x20;
      if (c2 == (l == 'l' ? 'l' : 'e')) return i2 + 1;
    }
  }
  /* 2. [^\r\n\p{L}\p{N}]?\p{L}+ */
  if (c0.cls == LLMC_UC_LETTER) return run_end(s, end, i1, LLMC_UC_LETTER, 0);
  if (c0.cls != LLMC_UC_NUMBER && !is_crlf(c0.cp) && i1 < end &&
      char_at(s, end, i1).cls == LLMC_UC_LETTER)
    return run_end(s, end, i1, LLMC_UC_LETTER, 0);
  /* 3. \p{N}{1,3} */
  if (c0.cls == LLMC_UC_NUMBER) return run_end(s, end, i1, LLMC_UC_NUMBER, 2);
  /* 4.  ?[^\s\p{L}\p{N}]+[\r\n]* */
  size_t j = c0.cp == ' ' ? i1 : i;
  if (j < end && (j == i ? c0.cls : char_at(s, end, j).cls) == LLMC_UC_OTHER) {
    j = run_end(s, end, j, LLMC_UC_OTHER, 0);
    while (j < end && is_crlf(s[j])) j++;
    return j;
  }
  /* Only white space is left (c0.cls == SPACE): letters, numbers and others
   * always matched above. Scan the run of white space. */
  size_t last_start = i, crlf_end = 0, w = i;
  unsigned count = 0;
  while (w < end) {
    ch c = char_at(s, end, w);
    if (c.cls != LLMC_UC_SPACE) break;
    last_start = w;
    w += c.len;
    count++;
    if (is_crlf(c.cp)) crlf_end = w;
  }
  /* 5. \s*[\r\n]+ : up to the last CR/LF of the run. */
  if (crlf_end) return crlf_end;
  /* 6. \s+(?!\S) : the whole run at the end of the text, else all but its
   *    last character. */
  if (w == end) return w;
  if (count >= 2) return last_start;
  /* 7. \s+ */
  return w;
}

/* ---- BPE ------------------------------------------------------------------- */

/* Looks (l, r) up in the merges; returns 1 and the rank / result if found. */
static int find_merge(const llmc_tokenizer *t, uint32_t l, uint32_t r,
                      uint32_t *rank, uint32_t *result) {
  uint64_t key = (uint64_t)l << 32 | r;
  size_t lo = 0, hi = t->num_merges;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const unsigned char *m = t->merges + mid * MERGE_SIZE;
    uint64_t k = (uint64_t)ld32(m) << 32 | ld32(m + 4);
    if (k < key)
      lo = mid + 1;
    else if (k > key)
      hi = mid;
    else {
      *rank = ld32(m + 8);
      *result = ld32(m + 12);
      return 1;
    }
  }
  return 0;
}

/* The id of the (non-special) token whose bytes are s[0..n), or -1. */
static int32_t find_token(const llmc_tokenizer *t, const unsigned char *s,
                          size_t n) {
  size_t lo = 0, hi = t->num_sorted;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint32_t id = ld32(t->sorted + 4 * mid);
    int c = cmp_bytes(tok_str(t, id), tok_len(t, id), s, n);
    if (c < 0)
      lo = mid + 1;
    else if (c > 0)
      hi = mid;
    else
      return (int32_t)id;
  }
  return -1;
}

/* Symbol i of a word being merged; its pair is (i, next). */
typedef struct sym {
  int32_t id, prev, next, hp; /* hp: position in the heap, -1 if absent */
  uint32_t rank, result;      /* of the pair (i, next), when in the heap */
} sym;

typedef struct bpe_work {
  sym *s;
  int32_t *heap;
  size_t n;
} bpe_work;

static inline int heap_less(const sym *s, int32_t a, int32_t b) {
  return s[a].rank < s[b].rank || (s[a].rank == s[b].rank && a < b);
}

static void heap_swap(bpe_work *w, size_t a, size_t b) {
  int32_t x = w->heap[a], y = w->heap[b];
  w->heap[a] = y;
  w->heap[b] = x;
  w->s[y].hp = (int32_t)a;
  w->s[x].hp = (int32_t)b;
}

static void heap_up(bpe_work *w, size_t k) {
  while (k > 0) {
    size_t p = (k - 1) / 2;
    if (!heap_less(w->s, w->heap[k], w->heap[p])) break;
    heap_swap(w, k, p);
    k = p;
  }
}

static void heap_down(bpe_work *w, size_t k) {
  for (;;) {
    size_t l = 2 * k + 1, r = l + 1, m = k;
    if (l < w->n && heap_less(w->s, w->heap[l], w->heap[m])) m = l;
    if (r < w->n && heap_less(w->s, w->heap[r], w->heap[m])) m = r;
    if (m == k) return;
    heap_swap(w, k, m);
    k = m;
  }
}

static void heap_remove(bpe_work *w, int32_t i) {
  size_t k = (size_t)w->s[i].hp;
  w->s[i].hp = -1;
  w->n--;
  if (k == w->n) return;
  w->heap[k] = w->heap[w->n];
  w->s[w->heap[k]].hp = (int32_t)k;
  heap_up(w, k);
  heap_down(w, (size_t)w->s[w->heap[k]].hp);
}

/* (Re)computes the pair starting at symbol i and puts it in / takes it out
 * of the heap. */
static void update_pair(const llmc_tokenizer *t, bpe_work *w, int32_t i) {
  sym *s = w->s;
  uint32_t rank, result;
  int has = s[i].next >= 0 &&
            find_merge(t, (uint32_t)s[i].id, (uint32_t)s[s[i].next].id, &rank,
                       &result);
  if (!has) {
    if (s[i].hp >= 0) heap_remove(w, i);
    return;
  }
  s[i].rank = rank;
  s[i].result = result;
  if (s[i].hp < 0) {
    s[i].hp = (int32_t)w->n;
    w->heap[w->n++] = i;
  }
  heap_up(w, (size_t)s[i].hp);
  heap_down(w, (size_t)s[i].hp);
}

/* Output of ids (or piece ends), counted past cap. */
typedef struct sink {
  int32_t *ids;
  size_t *ends;
  size_t cap, count;
  /* scratch for long words, owned by one llmc_tokenize call */
  void *big;
  size_t big_syms;
} sink;

static inline void emit(sink *o, int32_t id) {
  if (o->count < o->cap) o->ids[o->count] = id;
  o->count++;
}

/* BPE of one piece; LLMC_OK or LLMC_ERR_OUT_OF_MEMORY. */
static int bpe_piece(const llmc_tokenizer *t, const unsigned char *p, size_t n,
                     sink *o) {
  if (n == 1) {
    emit(o, t->byte_id[p[0]]);
    return LLMC_OK;
  }
  if (t->options & LLMC_TOK_OPT_IGNORE_MERGES) {
    int32_t id = find_token(t, p, n);
    if (id >= 0) {
      emit(o, id);
      return LLMC_OK;
    }
  }
  sym stack_syms[LLMC_TOK_STACK_SYMBOLS];
  int32_t stack_heap[LLMC_TOK_STACK_SYMBOLS];
  bpe_work w;
  if (n <= LLMC_TOK_STACK_SYMBOLS) {
    w.s = stack_syms;
    w.heap = stack_heap;
  } else {
    if (n > (size_t)INT32_MAX) return LLMC_ERR_OUT_OF_MEMORY;
    if (o->big_syms < n) {
      free(o->big);
      o->big_syms = 0;
      o->big = NULL;
      if (n > SIZE_MAX / (sizeof(sym) + sizeof(int32_t)))
        return LLMC_ERR_OUT_OF_MEMORY;
      o->big = malloc(n * (sizeof(sym) + sizeof(int32_t)));
      if (!o->big) return LLMC_ERR_OUT_OF_MEMORY;
      o->big_syms = n;
    }
    w.s = (sym *)o->big;
    w.heap = (int32_t *)(w.s + n);
  }
  sym *s = w.s;
  w.n = 0;
  for (size_t i = 0; i < n; i++) {
    s[i].id = t->byte_id[p[i]];
    s[i].prev = (int32_t)i - 1;
    s[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
    s[i].hp = -1;
  }
  /* Pushing in position order onto an empty heap keeps it a heap cheaply. */
  for (size_t i = 0; i + 1 < n; i++) {
    uint32_t rank, result;
    if (find_merge(t, (uint32_t)s[i].id, (uint32_t)s[i + 1].id, &rank, &result)) {
      s[i].rank = rank;
      s[i].result = result;
      s[i].hp = (int32_t)w.n;
      w.heap[w.n++] = (int32_t)i;
      heap_up(&w, w.n - 1);
    }
  }
  while (w.n > 0) {
    int32_t i = w.heap[0];
    int32_t j = s[i].next; /* the pair (i, j) merges into i */
    s[i].id = (int32_t)s[i].result;
    heap_remove(&w, i);
    if (s[j].hp >= 0) heap_remove(&w, j);
    s[i].next = s[j].next;
    if (s[j].next >= 0) s[s[j].next].prev = i;
    if (s[i].prev >= 0) update_pair(t, &w, s[i].prev);
    update_pair(t, &w, i);
  }
  for (int32_t i = 0; i >= 0; i = s[i].next) emit(o, s[i].id);
  return LLMC_OK;
}

/* ---- Added tokens ---------------------------------------------------------- */

/* The longest special / added token whose text starts at s[i], or -1. */
static int32_t match_special(const llmc_tokenizer *t, const unsigned char *s,
                             size_t len, size_t i, int parse_special,
                             size_t *mlen) {
  unsigned c = s[i];
  uint32_t bit = 1u << (c & 31);
  int maybe_special = parse_special && (t->special_first[c >> 5] & bit);
  int maybe_added = (t->added_first[c >> 5] & bit) != 0;
  if (!maybe_special && !maybe_added) return -1;
  size_t avail = len - i;
  for (uint32_t k = 0; k < t->num_special; k++) {
    uint32_t id = ld32(t->specials + 4 * (size_t)k);
    uint32_t n = tok_len(t, id);
    if (n > avail) continue;
    const unsigned char *str = tok_str(t, id);
    if (str[0] != c || memcmp(str, s + i, n) != 0) continue;
    if (!parse_special && (tok_flags(t, id) & LLMC_TOK_FLAG_SPECIAL)) continue;
    *mlen = n;
    return (int32_t)id;
  }
  return -1;
}

/* The encoding driver: ids (o->ids) or piece ends (o->ends). */
static int run(const llmc_tokenizer *t, const unsigned char *s, size_t len,
               int parse_special, sink *o) {
  int any_added = 0;
  for (int k = 0; k < 8; k++)
    any_added |= (parse_special ? t->special_first[k] : 0) | t->added_first[k];
  size_t pos = 0;
  while (pos < len) {
    /* Next added-token match at or after pos. */
    size_t m = len, mlen = 0;
    int32_t mid = -1;
    if (any_added) {
      for (size_t i = pos; i < len; i++) {
        mid = match_special(t, s, len, i, parse_special, &mlen);
        if (mid >= 0) {
          m = i;
          break;
        }
      }
    }
    /* Pre-tokenize and encode [pos, m). */
    while (pos < m) {
      size_t e = next_piece(s, m, pos);
      if (o->ends) {
        if (o->count < o->cap) o->ends[o->count] = e;
        o->count++;
      } else {
        int st = bpe_piece(t, s + pos, e - pos, o);
        if (st != LLMC_OK) return st;
      }
      pos = e;
    }
    if (mid >= 0) {
      pos = m + mlen;
      if (o->ends) {
        if (o->count < o->cap) o->ends[o->count] = pos;
        o->count++;
      } else {
        emit(o, mid);
      }
    }
  }
  return LLMC_OK;
}

llmc_status llmc_tokenize(const llmc_tokenizer *t, const char *text, size_t len,
                          int parse_special, int add_bos, int32_t *ids,
                          size_t cap, size_t *n_ids) {
  if (n_ids) *n_ids = 0;
  if (!tok_ok(t) || (!text && len) || (!ids && cap) || !n_ids)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "tokenize: NULL argument");
  sink o = {ids, NULL, cap, 0, NULL, 0};
  if (add_bos && t->bos_id >= 0) emit(&o, t->bos_id);
  int st = len ? run(t, (const unsigned char *)text, len, parse_special, &o)
               : LLMC_OK;
  free(o.big);
  if (st != LLMC_OK) return llmc_hal_fail((llmc_status)st, "tokenize: out of memory");
  return fits(o.count, cap, n_ids, "text's encoding");
}

llmc_status llmc_pretokenize(const llmc_tokenizer *t, const char *text, size_t len,
                             int parse_special, size_t *ends, size_t cap,
                             size_t *n_pieces) {
  if (n_pieces) *n_pieces = 0;
  if (!tok_ok(t) || (!text && len) || (!ends && cap) || !n_pieces)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "pretokenize: NULL argument");
  size_t dummy;
  sink o = {NULL, ends ? ends : &dummy, cap, 0, NULL, 0};
  int st = len ? run(t, (const unsigned char *)text, len, parse_special, &o)
               : LLMC_OK;
  if (st != LLMC_OK) return llmc_hal_fail((llmc_status)st, "pretokenize: out of memory");
  return fits(o.count, cap, n_pieces, "text's pieces");
}

/* ---- Decoding -------------------------------------------------------------- */

typedef struct out_buf {
  char *p;
  size_t cap, n;
} out_buf;

static inline void put(out_buf *o, const unsigned char *b, size_t n) {
  if (o->n < o->cap) {
    size_t k = o->cap - o->n < n ? o->cap - o->n : n;
    memcpy(o->p + o->n, b, k);
  }
  o->n += n;
}

static const unsigned char kReplacement[3] = {0xEF, 0xBF, 0xBD};

/* Appends bytes b[0..n) to the lossy UTF-8 stream whose held-back
 * incomplete sequence is pend[0..*npend). */
static void feed(unsigned char pend[4], unsigned *npend, const unsigned char *b,
                 size_t n, out_buf *o) {
  size_t i = 0;
  if (*npend) {
    /* Complete (or refute) the held-back sequence byte by byte. */
    unsigned char buf[4];
    unsigned k = *npend;
    memcpy(buf, pend, k);
    for (;;) {
      uint32_t cp;
      int r = utf8_decode(buf, k, &cp);
      if (r > 0) { /* complete: r == k */
        put(o, buf, (size_t)r);
        break;
      }
      if (r < 0) {
        /* The maximal subpart ends before the byte just appended (a held
         * back prefix is valid, so -r >= *npend): redo the bytes after it.
         * (The min only matters for a corrupted stream struct.) */
        size_t redo = k - (unsigned)-r;
        put(o, kReplacement, 3);
        i -= redo < i ? redo : i;
        break;
      }
      if (i == n) { /* still incomplete */
        memcpy(pend, buf, k);
        *npend = k;
        return;
      }
      buf[k++] = b[i++];
    }
    *npend = 0;
  }
  while (i < n) {
    size_t start = i;
    while (i < n && b[i] < 0x80) i++;
    if (i > start) put(o, b + start, i - start);
    if (i == n) break;
    uint32_t cp;
    int r = utf8_decode(b + i, n - i, &cp);
    if (r > 0) {
      put(o, b + i, (size_t)r);
      i += (size_t)r;
    } else if (r < 0) {
      put(o, kReplacement, 3);
      i += (size_t)-r;
    } else {
      *npend = (unsigned)(n - i);
      memcpy(pend, b + i, n - i);
      return;
    }
  }
}

llmc_status llmc_detokenize(const llmc_tokenizer *t, const int32_t *ids, size_t n,
                            int skip_special, char *out, size_t cap,
                            size_t *n_bytes) {
  if (n_bytes) *n_bytes = 0;
  if (!tok_ok(t) || (!ids && n) || (!out && cap) || !n_bytes)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "detokenize: NULL argument");
  out_buf o = {out, cap, 0};
  unsigned char pend[4];
  unsigned npend = 0;
  for (size_t k = 0; k < n; k++) {
    int32_t id = ids[k];
    if (id < 0 || !used_id(t, (uint32_t)id))
      return bad_id(id);
    if (skip_special && (tok_flags(t, (uint32_t)id) & LLMC_TOK_FLAG_SPECIAL))
      continue;
    feed(pend, &npend, tok_str(t, (uint32_t)id), tok_len(t, (uint32_t)id), &o);
  }
  if (npend) put(&o, kReplacement, 3);
  return fits(o.n, cap, n_bytes, "text");
}

llmc_status llmc_detok_stream_push(const llmc_tokenizer *t, llmc_detok_stream *s,
                                   int32_t id, char *out, size_t cap, size_t *written) {
  if (written) *written = 0;
  if (!tok_ok(t) || !s || !written || (!out && cap) || s->npending > 3)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT,
                         "detokenize: NULL argument or a corrupt stream");
  if (id < 0 || !used_id(t, (uint32_t)id))
    return bad_id(id);
  const unsigned char *b = tok_str(t, (uint32_t)id);
  size_t n = tok_len(t, (uint32_t)id);
  /* Measure on a copy of the state, then write only if it all fits. */
  unsigned char pend[4];
  unsigned npend = s->npending;
  memcpy(pend, s->pending, 4);
  out_buf m = {NULL, 0, 0};
  feed(pend, &npend, b, n, &m);
  if (m.n > cap)
    return fits(m.n, cap, written, "token's text");
  out_buf o = {out, cap, 0};
  feed(s->pending, &s->npending, b, n, &o);
  *written = o.n;
  return LLMC_OK;
}

llmc_status llmc_detok_stream_flush(llmc_detok_stream *s, char *out, size_t cap,
                                    size_t *written) {
  if (written) *written = 0;
  if (!s || !written || (!out && cap) || s->npending > 3)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT,
                         "detokenize: NULL argument or a corrupt stream");
  if (s->npending == 0) return LLMC_OK;
  if (cap < 3)
    return fits(3, cap, written, "stream's end");
  memcpy(out, kReplacement, 3);
  *written = 3;
  s->npending = 0;
  return LLMC_OK;
}

/* ---- The model's tokenizer ------------------------------------------------- */

/* Here, not in the core, so that an app that never tokenizes carries none
 * of the tokenizer: the blob is validated at its first use, once, whichever
 * thread gets there first (a model may be shared by threads). */
LLMC_API llmc_status llmc_model_get_tokenizer(const llmc_model *cm, const llmc_tokenizer **out) {
  if (!cm || !out) return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "NULL argument");
  llmc_model *m = (llmc_model *)(uintptr_t)cm; /* only the once-state changes */
  *out = NULL;
  if (!m->fb.tokenizer_blob)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "the artifact has no tokenizer");
  int expected = 0;
  if (atomic_compare_exchange_strong(&m->tokenizer_state, &expected, 1)) {
    int st = llmc_tokenizer_init(m->fb.tokenizer_blob, (size_t)m->fb.tokenizer_size,
                                 &m->tokenizer);
    int ok = st == LLMC_OK && m->tokenizer.vocab_size <= (uint32_t)m->fb.info.vocab_size;
    atomic_store(&m->tokenizer_state, ok ? 2 : 3);
  }
  int state;
  while ((state = atomic_load(&m->tokenizer_state)) == 1) {
  }
  if (state == 3)
    return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "the artifact's tokenizer is invalid (%s)",
                         m->tokenizer.error && *m->tokenizer.error
                             ? m->tokenizer.error
                             : "ids beyond the vocabulary");
  *out = &m->tokenizer;
  return LLMC_OK;
}
