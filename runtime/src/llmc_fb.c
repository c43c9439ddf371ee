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
/* Target of an offset field (string, vector or table), 0 when absent. */
__attribute__((noinline)) static uint32_t ref(const uint8_t *b, uint32_t t, unsigned i) {
  uint32_t p = t ? fld(b, t, i) : 0;
  return p ? p + llmc_rd32(b + p) : 0;
}

/* How a reader copies fields out of a table: field index, kind, and where
 * the value (and a vector's length) goes in the output struct. Absent
 * fields leave the output as the caller set it (the schema's defaults). */
enum { R_STR, R_U8, R_U32, R_U64, R_VEC, R_LEN, R_HAS, R_INLINE };
typedef struct rd {
  uint8_t field, kind;
  uint16_t dst, len;
} rd;
#define RD(field, kind, type, member) {field, kind, (uint16_t)offsetof(type, member), 0}
#define RDV(field, type, member, count)                                         \
  {field, R_VEC, (uint16_t)offsetof(type, member), (uint16_t)offsetof(type, count)}

static void read_fields(const uint8_t *b, uint32_t t, const rd *spec, unsigned n, void *out) {
  for (unsigned i = 0; t && i < n; ++i) {
    uint32_t p = fld(b, t, spec[i].field), u32;
    char *dst = (char *)out + spec[i].dst;
    const void *ptr;
    uint64_t u64;
    if (!p) continue;
    switch (spec[i].kind) {
    case R_STR:
      ptr = b + p + llmc_rd32(b + p) + 4;
      memcpy(dst, &ptr, sizeof ptr);
      break;
    case R_U8:
      u32 = b[p];
      memcpy(dst, &u32, 4);
      break;
    case R_U32:
      u32 = llmc_rd32(b + p);
      memcpy(dst, &u32, 4);
      break;
    case R_U64:
      u64 = llmc_rd64(b + p);
      memcpy(dst, &u64, 8);
      break;
    case R_VEC:
    case R_LEN:
      p += llmc_rd32(b + p);
      u32 = llmc_rd32(b + p);
      ptr = b + p + 4;
      if (spec[i].kind == R_VEC) {
        memcpy(dst, &ptr, sizeof ptr);
        dst = (char *)out + spec[i].len;
      }
      memcpy(dst, &u32, 4);
      break;
    case R_HAS:
      u32 = 1;
      memcpy(dst, &u32, 4);
      break;
    default: /* R_INLINE: a struct in the table */
      ptr = b + p;
      memcpy(dst, &ptr, sizeof ptr);
      break;
    }
  }
}

#define NUM(a) (sizeof(a) / sizeof((a)[0]))
static const rd k_model[] = {
    RD(6, R_U64, llmc_fb_model, info.arena_size),
    RD(7, R_U64, llmc_fb_model, info.kv_cache_bytes_per_token),
    RD(8, R_U8, llmc_fb_model, kv_cache_dtype),
    RD(10, R_U64, llmc_fb_model, info.arena_size_unfused),
    RDV(2, llmc_fb_model, payloads_data, num_payloads),
    RDV(3, llmc_fb_model, schedule_data, info.num_dispatches),
    RDV(4, llmc_fb_model, weights_data, info.num_weights),
};
static const rd k_manifest[] = {
    RD(0, R_STR, llmc_fb_model, info.compiler_version),
    RD(1, R_U32, llmc_fb_model, info.format_version),
    RD(2, R_STR, llmc_fb_model, info.target),
    RD(3, R_STR, llmc_fb_model, info.target_triple),
    RD(4, R_STR, llmc_fb_model, info.cpu_features),
    RD(5, R_STR, llmc_fb_model, info.quantization),
    RD(6, R_STR, llmc_fb_model, info.created_by),
};
static const rd k_config[] = {
    RD(0, R_U32, llmc_fb_model, info.hidden_size),
    RD(1, R_U32, llmc_fb_model, info.intermediate_size),
    RD(2, R_U32, llmc_fb_model, info.num_layers),
    RD(3, R_U32, llmc_fb_model, info.num_heads),
    RD(4, R_U32, llmc_fb_model, info.num_kv_heads),
    RD(5, R_U32, llmc_fb_model, info.head_dim),
    RD(6, R_U32, llmc_fb_model, info.vocab_size),
    RD(7, R_U32, llmc_fb_model, info.max_context),
    RD(8, R_U32, llmc_fb_model, info.prefill_chunk),
    RD(9, R_U32, llmc_fb_model, info.rms_norm_eps),
    RD(10, R_U32, llmc_fb_model, info.rope_theta),
    RD(11, R_STR, llmc_fb_model, info.rope_scaling_type),
    RD(12, R_U32, llmc_fb_model, info.rope_scaling_factor),
    RD(13, R_U32, llmc_fb_model, info.rope_low_freq_factor),
    RD(14, R_U32, llmc_fb_model, info.rope_high_freq_factor),
    RD(15, R_U32, llmc_fb_model, info.rope_original_max_position_embeddings),
    RD(16, R_U8, llmc_fb_model, info.tie_word_embeddings),
    RD(17, R_U32, llmc_fb_model, info.bos_token_id),
    RDV(18, llmc_fb_model, eos_le, num_eos),
};
static const rd k_segment[] = {
    RD(0, R_U32, llmc_fb_model, seg_alignment),
    RD(1, R_U32, llmc_fb_model, seg_file_alignment),
    RD(2, R_U64, llmc_fb_model, info.weights_size),
};
static const rd k_tokenizer[] = {RDV(1, llmc_fb_model, tokenizer_blob, tokenizer_size)};

int llmc_fb_read(const uint8_t *buf, size_t size, llmc_fb_model *out) {
  fbv v = {buf, size, 0, 0};
  if (size < 12 || size >= FB_MAX || memcmp(buf + 4, "LLMC", 4)) return -1;
  uint64_t root = target(&v, 0);
  if (!root || !table(&v, root, T_MODEL)) return -1;

  const uint8_t *b = buf;
  uint32_t m = (uint32_t)root, man = ref(b, m, 0), c = ref(b, m, 1), seg = ref(b, m, 5);
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
  read_fields(b, m, k_model, NUM(k_model), out);
  read_fields(b, man, k_manifest, NUM(k_manifest), out);
  read_fields(b, c, k_config, NUM(k_config), out);
  read_fields(b, seg, k_segment, NUM(k_segment), out);
  read_fields(b, ref(b, m, 9), k_tokenizer, NUM(k_tokenizer), out);
  out->buf = b;
  out->has_manifest = man != 0;
  out->has_config = c != 0;
  out->has_segment = seg != 0;
  info->num_eos_tokens = (int32_t)(out->num_eos < LLMC_MAX_EOS_TOKENS ? out->num_eos
                                                                       : LLMC_MAX_EOS_TOKENS);
  for (int32_t i = 0; i < info->num_eos_tokens; ++i)
    info->eos_token_ids[i] = (int32_t)llmc_rd32(out->eos_le + 4 * i);
  return 0;
}

/* Element k of a vector of tables whose data is at `data`. */
static uint32_t elem_at(const llmc_fb_model *m, const uint8_t *data, uint32_t k) {
  uint32_t p = (uint32_t)(data - m->buf) + 4 * k;
  return p + llmc_rd32(m->buf + p);
}

static const rd k_payload[] = {
    RD(0, R_STR, llmc_fb_payload, target),
    RD(1, R_STR, llmc_fb_payload, format),
    RD(4, R_STR, llmc_fb_payload, cpu_features),
    RDV(3, llmc_fb_payload, data, size),
    RDV(5, llmc_fb_payload, kernels, num_kernels),
};
void llmc_fb_payload_at(const llmc_fb_model *m, uint32_t i, llmc_fb_payload *out) {
  memset(out, 0, sizeof *out);
  out->target = out->format = out->cpu_features = "";
  read_fields(m->buf, elem_at(m, m->payloads_data, i), k_payload, NUM(k_payload), out);
}

static const rd k_kernel[] = {
    RD(0, R_STR, llmc_fb_kernel, name),
    RD(1, R_STR, llmc_fb_kernel, entry),
    RDV(2, llmc_fb_kernel, binding_sizes_le, num_bindings),
    RD(3, R_U32, llmc_fb_kernel, num_scalars),
};
void llmc_fb_kernel_at(const llmc_fb_model *m, uint32_t payload, uint32_t k,
                       llmc_fb_kernel *out) {
  llmc_fb_payload p;
  llmc_fb_payload_at(m, payload, &p);
  memset(out, 0, sizeof *out);
  out->name = out->entry = "";
  read_fields(m->buf, elem_at(m, p.kernels, k), k_kernel, NUM(k_kernel), out);
}

static const rd k_dispatch[] = {
    RD(0, R_STR, llmc_fb_dispatch, kernel),
    RD(5, R_STR, llmc_fb_dispatch, label),
    RD(4, R_U32, llmc_fb_dispatch, kernel_index),
    RDV(1, llmc_fb_dispatch, operands, num_operands),
    RDV(6, llmc_fb_dispatch, scalars, num_scalars),
    RDV(8, llmc_fb_dispatch, reads, num_reads),
    RDV(9, llmc_fb_dispatch, writes, num_writes),
    RD(7, R_INLINE, llmc_fb_dispatch, grid),
    RD(10, R_U32, llmc_fb_dispatch, layer),
};
void llmc_fb_dispatch_at(const llmc_fb_model *m, uint32_t i, llmc_fb_dispatch *out) {
  memset(out, 0, sizeof *out);
  out->kernel = out->label = "";
  out->layer = -1;
  read_fields(m->buf, elem_at(m, m->schedule_data, i), k_dispatch, NUM(k_dispatch), out);
}

static const rd k_weight[] = {
    RD(0, R_STR, llmc_fb_weight, name),
    RD(1, R_U8, llmc_fb_weight, dtype),
    RDV(2, llmc_fb_weight, shape_le, rank),
    RD(3, R_U64, llmc_fb_weight, offset),
    RD(4, R_U64, llmc_fb_weight, size),
    RD(5, R_HAS, llmc_fb_weight, has_quant),
};
void llmc_fb_weight_at(const llmc_fb_model *m, uint32_t i, llmc_fb_weight *out) {
  memset(out, 0, sizeof *out);
  out->name = "";
  read_fields(m->buf, elem_at(m, m->weights_data, i), k_weight, NUM(k_weight), out);
}
