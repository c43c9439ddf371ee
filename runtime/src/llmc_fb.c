/* The artifact's metadata FlatBuffer, verified and read in C over the
 * FlatBuffers binary layout (runtime/schema/llmc.fbs), with no generated
 * code and no C++: the C++ verifier of flatc cost 10 KB of the runtime.
 *
 * The verifier makes exactly the checks of FlatBuffers 2.0.8's generated
 * Verify() for our schema (same verdict on every buffer: the runtime tests
 * compare the two on many thousand mutations), driven by a table of field
 * kinds instead of one function per table. The readers below trust what it
 * verified and read every value byte by byte (little-endian, any
 * alignment). */
#include <stddef.h>
#include <string.h>

#include "runtime/include/llmc_format.h"
#include "runtime/src/llmc_internal.h"

/* ---- the schema, as field kinds ------------------------------------------- */

/* Low nibble: what a field holds; high nibble: the table type of TAB/VTAB. */
enum { S1 = 1, S4, S8, ST32, STR, V1, V4, V8, V24, V32, TAB, VTAB };
/* Table types, in the order of k_start. */
enum { T_MODEL, T_MANIFEST, T_CONFIG, T_PAYLOAD, T_KERNEL, T_DISPATCH, T_WEIGHT,
       T_QUANT, T_SEGMENT, T_TOKENIZER };
#define OF(kind, type) ((kind) | (type) << 4)

static const uint8_t k_fields[] = {
    /* Model */
    OF(TAB, T_MANIFEST), OF(TAB, T_CONFIG), OF(VTAB, T_PAYLOAD), OF(VTAB, T_DISPATCH),
    OF(VTAB, T_WEIGHT), OF(TAB, T_SEGMENT), S8, S8, S1, OF(TAB, T_TOKENIZER), S8,
    /* Manifest */
    STR, S4, STR, STR, STR, STR, STR,
    /* ModelConfig: nine int32, eps, theta, rope type, three floats, int32,
     * bool, bos, eos ids */
    S4, S4, S4, S4, S4, S4, S4, S4, S4, S4, S4, STR, S4, S4, S4, S4, S1, S4, V4,
    /* KernelPayload */
    STR, STR, STR, V1, STR, OF(VTAB, T_KERNEL),
    /* Kernel */
    STR, STR, V8, S4,
    /* Dispatch: operands are BufferRef structs (24 bytes), the rest Scalar
     * structs (32 bytes, alignment 8) */
    STR, V24, S8, S8, S4, STR, V32, ST32, V32, V32, S4,
    /* Weight */
    STR, S1, V8, S8, S8, OF(TAB, T_QUANT),
    /* QuantDesc */
    STR, S4, S1, S1,
    /* WeightsSegment */
    S4, S4, S8,
    /* Tokenizer */
    STR, V1,
};
static const uint8_t k_start[] = {0, 11, 18, 37, 43, 47, 58, 64, 68, 71, 73};
/* Bytes of an inline field (S1..ST32) or of a vector's element (V1..V32). */
static const uint8_t k_size[] = {0, 1, 4, 8, 32, 0, 1, 4, 8, 24, 32};

/* ---- verifier --------------------------------------------------------------- */

#define FB_MAX 0x7FFFFFFFu /* FLATBUFFERS_MAX_BUFFER_SIZE */

typedef struct fbv {
  const uint8_t *b;
  uint64_t n;
  uint32_t depth, tables;
} fbv;

/* [at, at + len) inside the buffer (len strictly below its size, as
 * FlatBuffers' Verifier requires), at aligned to align. */
__attribute__((noinline)) static int in(const fbv *v, uint64_t at, uint64_t len, uint32_t align) {
  return !(at & (align - 1)) && len < v->n && at <= v->n - len;
}

/* An offset field at `at`: its target, or 0 when it is not valid. */
__attribute__((noinline)) static uint64_t target(const fbv *v, uint64_t at) {
  if (!in(v, at, 4, 4)) return 0;
  uint32_t o = llmc_rd32(v->b + at);
  return o && o < 0x80000000u && in(v, at + o, 1, 1) ? at + o : 0;
}

static int vector(const fbv *v, uint64_t at, uint32_t elem) {
  return in(v, at, 4, 4) && llmc_rd32(v->b + at) < FB_MAX / elem &&
         in(v, at, 4 + (uint64_t)elem * llmc_rd32(v->b + at), 1);
}

static int table(fbv *v, uint64_t t, unsigned type) {
  if (!in(v, t, 4, 4)) return 0;
  /* vtable = t - soffset, unsigned as FlatBuffers computes it: a wrap gives
   * a huge value that the range checks refuse. */
  uint64_t vt = t - (uint64_t)(int64_t)(int32_t)llmc_rd32(v->b + t);
  if (++v->depth > 16 || ++v->tables > (1u << 22) || !in(v, vt, 2, 2)) return 0;
  uint32_t vs = v->b[vt] | v->b[vt + 1] << 8;
  if ((vs & 1) || !in(v, vt, vs, 1)) return 0;
  for (unsigned i = 0; i < (unsigned)(k_start[type + 1] - k_start[type]); ++i) {
    uint32_t at = 4 + 2 * i, fo = at < vs ? v->b[vt + at] | v->b[vt + at + 1] << 8 : 0;
    if (!fo) continue;
    unsigned f = k_fields[k_start[type] + i], kind = f & 15;
    uint64_t p = t + fo, x;
    if (kind <= ST32) {
      if (!in(v, p, k_size[kind], kind == ST32 ? 8 : k_size[kind])) return 0;
      continue;
    }
    if (!(x = target(v, p))) return 0;
    if (kind == STR) {
      if (!vector(v, x, 1)) return 0;
      uint64_t end = x + 4 + llmc_rd32(v->b + x);
      if (!in(v, end, 1, 1) || v->b[end]) return 0;
    } else if (kind == TAB) {
      if (!table(v, x, f >> 4)) return 0;
    } else if (!vector(v, x, kind == VTAB ? 4 : k_size[kind])) {
      return 0;
    } else if (kind == VTAB) {
      for (uint32_t k = 0, n = llmc_rd32(v->b + x); k < n; ++k) {
        uint64_t e = x + 4 + 4 * (uint64_t)k;
        if (!table(v, e + llmc_rd32(v->b + e), f >> 4)) return 0;
      }
    }
  }
  --v->depth;
  return 1;
}

/* ---- readers of the verified buffer ------------------------------------------- */

/* Position of field i of the table at t, 0 when absent. */
__attribute__((noinline)) static uint32_t fld(const uint8_t *b, uint32_t t, unsigned i) {
  uint32_t vt = t - llmc_rd32(b + t);
  unsigned vs = b[vt] | b[vt + 1] << 8, at = 4 + 2 * i;
  unsigned o = at < vs ? b[vt + at] | b[vt + at + 1] << 8 : 0;
  return o ? t + o : 0;
}
__attribute__((noinline)) static uint64_t num(const uint8_t *b, uint32_t t, unsigned i, unsigned bytes,
                    uint64_t dflt) {
  uint32_t p = fld(b, t, i);
  if (!p) return dflt;
  uint64_t r = 0;
  while (bytes--) r = r << 8 | b[p + bytes];
  return r;
}
/* Target of an offset field (string, vector or table), 0 when absent. */
__attribute__((noinline)) static uint32_t ref(const uint8_t *b, uint32_t t, unsigned i) {
  uint32_t p = t ? fld(b, t, i) : 0;
  return p ? p + llmc_rd32(b + p) : 0;
}
__attribute__((noinline)) static const char *str(const uint8_t *b, uint32_t t, unsigned i) {
  uint32_t x = ref(b, t, i);
  return x ? (const char *)b + x + 4 : "";
}
static uint32_t len(const uint8_t *b, uint32_t vec) { return vec ? llmc_rd32(b + vec) : 0; }
/* Element k of a vector of tables. */
static uint32_t elem(const uint8_t *b, uint32_t vec, uint32_t k) {
  uint32_t p = vec + 4 + 4 * k;
  return p + llmc_rd32(b + p);
}
/* The scalar and string fields llmc_fb_read copies: table (an index into its
 * `tabs`), field index, bytes (0: a string) and where it goes in
 * llmc_fb_model. Absent fields keep what llmc_fb_read set first (their
 * schema defaults). */
#define RD(tab, field, bytes, member) \
  {tab, field, bytes, (uint16_t)offsetof(llmc_fb_model, member)}
static const struct {
  uint8_t tab, field, bytes;
  uint16_t dst;
} k_reads[] = {
    RD(0, 6, 8, info.arena_size),
    RD(0, 7, 8, info.kv_cache_bytes_per_token),
    RD(0, 8, 1, kv_cache_dtype),
    RD(0, 10, 8, info.arena_size_unfused),
    RD(1, 0, 0, info.compiler_version),
    RD(1, 1, 4, info.format_version),
    RD(1, 2, 0, info.target),
    RD(1, 3, 0, info.target_triple),
    RD(1, 4, 0, info.cpu_features),
    RD(1, 5, 0, info.quantization),
    RD(1, 6, 0, info.created_by),
    RD(2, 0, 4, info.hidden_size),
    RD(2, 1, 4, info.intermediate_size),
    RD(2, 2, 4, info.num_layers),
    RD(2, 3, 4, info.num_heads),
    RD(2, 4, 4, info.num_kv_heads),
    RD(2, 5, 4, info.head_dim),
    RD(2, 6, 4, info.vocab_size),
    RD(2, 7, 4, info.max_context),
    RD(2, 8, 4, info.prefill_chunk),
    RD(2, 9, 4, info.rms_norm_eps),
    RD(2, 10, 4, info.rope_theta),
    RD(2, 11, 0, info.rope_scaling_type),
    RD(2, 12, 4, info.rope_scaling_factor),
    RD(2, 13, 4, info.rope_low_freq_factor),
    RD(2, 14, 4, info.rope_high_freq_factor),
    RD(2, 15, 4, info.rope_original_max_position_embeddings),
    RD(2, 16, 1, info.tie_word_embeddings),
    RD(2, 17, 4, info.bos_token_id),
    RD(3, 0, 4, seg_alignment),
    RD(3, 1, 4, seg_file_alignment),
    RD(3, 2, 8, info.weights_size),
};

int llmc_fb_read(const uint8_t *buf, size_t size, llmc_fb_model *out) {
  fbv v = {buf, size, 0, 0};
  if (size < 12 || size >= FB_MAX || memcmp(buf + 4, "LLMC", 4)) return -1;
  uint64_t root = target(&v, 0);
  if (!root || !table(&v, root, T_MODEL)) return -1;

  const uint8_t *b = buf;
  uint32_t m = (uint32_t)root, tabs[4] = {m, ref(b, m, 0), ref(b, m, 1), ref(b, m, 5)};
  llmc_model_info *info = &out->info;
  memset(out, 0, sizeof *out);
  info->compiler_version = info->target = info->target_triple = info->cpu_features =
      info->quantization = info->created_by = info->rope_scaling_type = "";
  info->rope_scaling_factor = info->rope_low_freq_factor = 1.0f;
  info->rope_high_freq_factor = 4.0f;
  info->rope_original_max_position_embeddings = 8192;
  info->bos_token_id = -1;
  out->seg_alignment = 64;
  out->seg_file_alignment = 4096;
  for (unsigned i = 0; i < sizeof k_reads / sizeof k_reads[0]; ++i) {
    uint32_t t = tabs[k_reads[i].tab], p = t ? fld(b, t, k_reads[i].field) : 0;
    unsigned bytes = k_reads[i].bytes;
    char *dst = (char *)out + k_reads[i].dst;
    if (!p) continue;
    if (!bytes) {
      const char *s = (const char *)b + p + llmc_rd32(b + p) + 4;
      memcpy(dst, &s, sizeof s);
      continue;
    }
    uint64_t r = 0;
    while (bytes--) r = r << 8 | b[p + bytes];
    if (k_reads[i].bytes == 8) {
      memcpy(dst, &r, 8);
    } else {
      uint32_t r32 = (uint32_t)r;
      memcpy(dst, &r32, 4);
    }
  }
  out->buf = b;
  out->has_manifest = tabs[1] != 0;
  out->has_config = tabs[2] != 0;
  out->has_segment = tabs[3] != 0;
  uint32_t eos = ref(b, tabs[2], 18), blob = ref(b, ref(b, m, 9), 1);
  out->num_eos = len(b, eos);
  out->eos_le = eos ? b + eos + 4 : NULL;
  info->num_eos_tokens = (int32_t)(out->num_eos < LLMC_MAX_EOS_TOKENS ? out->num_eos
                                                                       : LLMC_MAX_EOS_TOKENS);
  for (int32_t i = 0; i < info->num_eos_tokens; ++i)
    info->eos_token_ids[i] = (int32_t)llmc_rd32(out->eos_le + 4 * i);
  if (blob) {
    out->tokenizer_blob = b + blob + 4;
    out->tokenizer_size = llmc_rd32(b + blob);
  }
  out->payloads = ref(b, m, 2);
  out->schedule = ref(b, m, 3);
  out->weights = ref(b, m, 4);
  out->num_payloads = len(b, out->payloads);
  info->num_dispatches = len(b, out->schedule);
  info->num_weights = len(b, out->weights);
  return 0;
}

/* The data of the vector in field i of table t, NULL when absent. */
static const uint8_t *vdata(const uint8_t *b, uint32_t t, unsigned i, uint32_t *n) {
  uint32_t x = ref(b, t, i);
  *n = len(b, x);
  return x ? b + x + 4 : NULL;
}

void llmc_fb_payload_at(const llmc_fb_model *m, uint32_t i, llmc_fb_payload *out) {
  const uint8_t *b = m->buf;
  uint32_t p = elem(b, m->payloads, i), n;
  out->target = str(b, p, 0);
  out->format = str(b, p, 1);
  out->cpu_features = str(b, p, 4);
  out->data = vdata(b, p, 3, &n);
  out->size = n;
  out->num_kernels = len(b, ref(b, p, 5));
}

void llmc_fb_kernel_at(const llmc_fb_model *m, uint32_t payload, uint32_t k,
                       llmc_fb_kernel *out) {
  const uint8_t *b = m->buf;
  uint32_t x = elem(b, ref(b, elem(b, m->payloads, payload), 5), k);
  out->name = str(b, x, 0);
  out->entry = str(b, x, 1);
  out->binding_sizes_le = vdata(b, x, 2, &out->num_bindings);
  out->num_scalars = (uint32_t)num(b, x, 3, 4, 0);
}

void llmc_fb_dispatch_at(const llmc_fb_model *m, uint32_t i, llmc_fb_dispatch *out) {
  const uint8_t *b = m->buf;
  uint32_t d = elem(b, m->schedule, i), grid = fld(b, d, 7);
  out->kernel = str(b, d, 0);
  out->label = str(b, d, 5);
  out->kernel_index = (uint32_t)num(b, d, 4, 4, 0);
  out->operands = vdata(b, d, 1, &out->num_operands);
  out->scalars = vdata(b, d, 6, &out->num_scalars);
  out->grid = grid ? b + grid : NULL;
  out->reads = vdata(b, d, 8, &out->num_reads);
  out->writes = vdata(b, d, 9, &out->num_writes);
  out->layer = (int32_t)num(b, d, 10, 4, (uint32_t)-1);
}

void llmc_fb_weight_at(const llmc_fb_model *m, uint32_t i, llmc_fb_weight *out) {
  const uint8_t *b = m->buf;
  uint32_t w = elem(b, m->weights, i);
  out->name = str(b, w, 0);
  out->dtype = (uint32_t)num(b, w, 1, 1, 0);
  out->has_quant = fld(b, w, 5) != 0;
  out->offset = num(b, w, 3, 8, 0);
  out->size = num(b, w, 4, 8, 0);
  out->shape_le = vdata(b, w, 2, &out->rank);
}
