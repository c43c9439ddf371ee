/* llmc runtime core: open + verify an artifact, load its native code through
 * a HAL (runtime/hal), run its schedule. C11; depends on libc, libdl and
 * pthreads (in the CPU HAL) and nothing else. See llmc.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runtime/include/llmc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "runtime/hal/llmc_hal.h"
#include "runtime/include/llmc_format.h"
#include "runtime/include/llmc_kernel_abi.h"
#include "runtime/include/llmc_tokenizer.h"
#include "runtime/src/llmc_internal.h"

#if defined(__x86_64__)
#define LLMC_RUNTIME_ARCH "x86_64"
#elif defined(__aarch64__)
#define LLMC_RUNTIME_ARCH "aarch64"
#else
#define LLMC_RUNTIME_ARCH "unknown"
#endif

/* Sanity limits on hostile counts (well above any Llama 3 model). */
#define LLMC_MAX_DIM (1 << 20)
#define LLMC_MAX_VOCAB (1 << 24)
#define LLMC_MAX_CONTEXT (1 << 24)
#define LLMC_MAX_LAYERS 1024
#define LLMC_MAX_ARENA (1ull << 40)
#define LLMC_MAX_PAYLOAD (1ull << 30)

/* ---- errors ---------------------------------------------------------------- */

/* The artifact being opened: every message of the open names it (error.c). */
#define g_name llmc_fail_name

#ifndef LLMC_VERSION_STRING
#define LLMC_VERSION_STRING "unknown"
#endif
LLMC_API const char *llmc_version(void) { return LLMC_VERSION_STRING; }
LLMC_API uint32_t llmc_api_version(void) { return LLMC_API_VERSION; }

#define fail llmc_hal_fail

static llmc_status null_arg(void) {
  return fail(LLMC_ERR_INVALID_ARGUMENT, "NULL argument");
}

/* ---- model ------------------------------------------------------------------ */

struct llmc_context {
  llmc_context *live_next; /* the list of live contexts (g_live) */
  llmc_model *m;
  int64_t n_ctx, pos;
  uint32_t flags;
  llmc_hal_device *dev;
  llmc_hal_buffer *buffers[NUM_SPACES];
  int32_t *tokens; /* host view of the tokens buffer (NULL: written by the HAL) */
  float *logits;   /* host view of the logits buffer, or a host copy */
  int host_copies; /* a GPU HAL: tokens written, logits read into a copy */
  int64_t logits_rows, logits_first_pos;
  int has_logits;
};

/* The GPU HALs are weak references on ELF platforms: an app that links the
 * static runtime carries only the CPU HAL, unless it calls llmc_enable_gpu
 * (src/llmc_gpu.c), whose object names them and so links them in.
 * libllmc.so holds them all. (Apple platforms have neither: Metal.) */
#if defined(__ELF__)
const llmc_hal *llmc_hal_opencl(void) __attribute__((weak));
const llmc_hal *llmc_hal_vulkan(void) __attribute__((weak));
#define LLMC_GPU_HAL(get) ((get) ? (get)() : NULL)
#else
#define LLMC_GPU_HAL(get) ((get)())
#endif

/* The Metal HAL: the native one on Apple platforms (runtime/hal/metal),
 * unless a program installed another (llmc-msl-run: the MSL-on-CPU
 * harness). */
static const llmc_hal *g_metal_hal;
void llmc_hal_install_metal(const llmc_hal *hal) { g_metal_hal = hal; }
#ifdef __APPLE__
const llmc_hal *llmc_hal_metal_native(void);
#else
static const llmc_hal *llmc_hal_metal_native(void) { return NULL; }
#endif
const llmc_hal *llmc_hal_metal(void) {
  return g_metal_hal ? g_metal_hal : llmc_hal_metal_native();
}

/* Architecture part of a target triple ("x86_64-unknown-linux-gnu"). */
static int triple_matches(const char *triple) {
  size_t n = strcspn(triple, "-");
  if (n == 6 && !memcmp(triple, "x86_64", 6)) return !strcmp(LLMC_RUNTIME_ARCH, "x86_64");
  if ((n == 7 && !memcmp(triple, "aarch64", 7)) || (n == 5 && !memcmp(triple, "arm64", 5)))
    return !strcmp(LLMC_RUNTIME_ARCH, "aarch64");
  return 0;
}

/* CPU features the runtime can check, LLVM's names, and where each is
 * found: on x86-64 the CPUID word (0: leaf 1 ECX, 1: leaf 7 EBX, 2: leaf 7
 * ECX, 3: leaf 7.1 EAX) and bit, and the register state the OS must save
 * (XCR0: 1 the AVX state, 2 the AVX-512 state too); on aarch64 the
 * AT_HWCAP / AT_HWCAP2 bit. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
static const char k_feature_names[] =
    "sse4.2\0avx\0avx2\0fma\0f16c\0bmi2\0avx512f\0avx512bw\0avx512vl\0avx512dq\0"
    "avx512cd\0avx512vnni\0avx512bf16\0avxvnni\0sse3\0ssse3\0sse4.1\0popcnt\0"
    "cx16\0movbe\0bmi\0";
static const uint8_t k_feature_where[][2] = {
    {0, 20}, {0 | 1 << 2, 28}, {1 | 1 << 2, 5}, {0 | 1 << 2, 12}, {0 | 1 << 2, 29},
    {1, 8}, {1 | 2 << 2, 16}, {1 | 2 << 2, 30}, {1 | 2 << 2, 31}, {1 | 2 << 2, 17},
    {1 | 2 << 2, 28}, {2 | 2 << 2, 11}, {3 | 2 << 2, 5}, {3 | 1 << 2, 4},
    {0, 0}, {0, 9}, {0, 19}, {0, 23}, {0, 13}, {0, 22}, {1, 3}};

static int feature_present(int i) {
  unsigned a, b, c, d, words[4] = {0, 0, 0, 0}, xcr0 = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    words[0] = c;
    if (c & (1u << 27)) { /* OSXSAVE: XGETBV reads XCR0 */
      unsigned hi;
      __asm__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
    }
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) words[1] = b, words[2] = c;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) words[3] = a;
  unsigned where = k_feature_where[i][0], state = where >> 2;
  unsigned need = state == 2 ? 0xE6u : state ? 0x6u : 0;
  return (words[where & 3] >> k_feature_where[i][1] & 1) && (xcr0 & need) == need;
}
#elif defined(__aarch64__) && defined(__linux__)
static const char k_feature_names[] = "neon\0fullfp16\0dotprod\0sve\0i8mm\0bf16\0";
/* bit, +32 for AT_HWCAP2 */
static const uint8_t k_feature_where[] = {1, 10, 20, 22, 32 + 13, 32 + 14};

static int feature_present(int i) {
  unsigned bit = k_feature_where[i];
  return (getauxval(bit < 32 ? AT_HWCAP : AT_HWCAP2) >> (bit & 31) & 1) != 0;
}
#else
static const char k_feature_names[] = "";
static int feature_present(int i) { return (void)i, 0; }
#endif

/* 1 if this CPU has the named feature, 0 if not, -1 if the runtime does not
 * know the name (unknown names are ignored: see README). */
static int cpu_has(const char *f, size_t n) {
  int i = 0;
  for (const char *p = k_feature_names; *p; p += strlen(p) + 1, ++i)
    if (strlen(p) == n && !memcmp(p, f, n)) return feature_present(i);
  return -1;
}

/* features: LLVM style "+avx2,+fma,-foo". Returns 0 or the index+1 of the
 * first missing feature in *bad and *bad_len. */
static int check_features(const char *features, const char **bad, size_t *bad_len) {
  const char *p = features;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n > 1 && p[0] == '+' && cpu_has(p + 1, n - 1) == 0) {
      *bad = p + 1;
      *bad_len = n - 1;
      return 1;
    }
    p += n;
    if (*p == ',') ++p;
  }
  return 0;
}

/* A Scalar of the schedule (llmc_internal.h) for a call of n tokens at pos
 * with `rows` logit rows. Coefficients are checked at load to be at most
 * 2^31 in magnitude, and n, pos, rows are below 2^24 (LLMC_MAX_CONTEXT), so
 * this cannot overflow. */
static int64_t eval_scalar(const uint8_t *s, int64_t n, int64_t pos, int64_t rows) {
  return (int64_t)llmc_rd64(s) + (int64_t)llmc_rd64(s + 8) * n +
         (int64_t)llmc_rd64(s + 16) * pos + (int64_t)llmc_rd64(s + 24) * rows;
}

/* 1 if the `count` Scalars at s have coefficients within 2^31. */
static int scalars_ok(const uint8_t *s, uint32_t count) {
  for (uint32_t i = 0; i < 4 * count; ++i)
    if ((uint64_t)llmc_rd64(s + 8 * i) + (1ull << 31) > (1ull << 32)) return 0;
  return 1;
}

/* The metadata-vs-code check: every dispatch must launch a kernel of the
 * payload with exactly the bindings and scalars its code was compiled for,
 * every binding must hold what the kernel reads and lie inside its buffer,
 * and every grid must stay in range for any call the runtime allows. A file
 * that fails this is refused before any of its code runs. */
static llmc_status check_schedule(llmc_model *m, uint32_t payload, uint32_t num_kernels) {
  const llmc_fb_model *f = &m->fb;
  const uint64_t chunk = (uint64_t)f->info.prefill_chunk;
  const uint64_t space_size[NUM_SPACES] = {
      f->info.arena_size, f->info.weights_size,
      f->info.kv_cache_bytes_per_token * (uint64_t)f->info.max_context, chunk * 4u,
      chunk * (uint64_t)f->info.vocab_size * 4u};
  const uint32_t n = f->info.num_dispatches;
  if (n - 1 >= (1u << 20)) return fail(LLMC_ERR_BAD_FORMAT, "%u dispatches", n);
  m->schedule = calloc(n, sizeof *m->schedule);
  if (!m->schedule) return fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  for (uint32_t i = 0; i < n; ++i) {
    llmc_fb_dispatch d;
    llmc_fb_dispatch_at(f, i, &d);
    llmc_fb_kernel k = {0};
    if (d.kernel_index < num_kernels) llmc_fb_kernel_at(f, payload, d.kernel_index, &k);
    int ok = d.kernel_index < num_kernels && d.num_operands == k.num_bindings &&
             d.num_scalars == k.num_scalars && d.grid &&
             (!d.num_reads || d.num_reads == d.num_operands) &&
             (!d.num_writes || d.num_writes == d.num_operands) &&
             k.num_bindings <= LLMC_HAL_MAX_BINDINGS && k.num_scalars <= LLMC_HAL_MAX_SCALARS &&
             d.layer >= -1 && d.layer < f->info.num_layers;
    for (uint32_t j = 0; ok && j < d.num_operands; ++j) {
      const uint8_t *op = d.operands + 24 * j;
      uint64_t off = llmc_rd64(op + 8), size = llmc_rd64(op + 16);
      ok = op[0] < NUM_SPACES && size >= llmc_rd64(k.binding_sizes_le + 8 * j) &&
           off <= space_size[op[0]] && size <= space_size[op[0]] - off;
    }
    ok = ok && scalars_ok(d.grid, 1) && scalars_ok(d.scalars, d.num_scalars) &&
         scalars_ok(d.reads, d.num_reads) && scalars_ok(d.writes, d.num_writes);
    /* The grid is affine in (n, pos, rows), so its extremes over the calls
     * the runtime makes (1 <= n <= chunk, 0 <= pos <= max_context - n,
     * rows in {1, n}) are at the corners. */
    for (int corner = 0; ok && corner < 8; ++corner) {
      int64_t t = corner & 1 ? (int64_t)chunk : 1;
      int64_t g = eval_scalar(d.grid, t, corner & 2 ? f->info.max_context - t : 0,
                              corner & 4 ? t : 1);
      ok = g >= 0 && g <= (1ll << 31);
    }
    if (!ok)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "dispatch %u (%s) disagrees with kernel %u (bindings, scalars, grid, "
                  "layer or bounds)",
                  i, d.label, d.kernel_index);
    m->schedule[i] = (rt_dispatch){d.kernel_index, d.num_operands, d.num_scalars,
                                   d.operands, d.scalars, d.grid};
  }
  return LLMC_OK;
}

/* One step of the digest, out of line: inlined, each of its uses carries
 * the two 64-bit constants (10 bytes each on x86-64). */
__attribute__((noinline)) static uint64_t mix1(uint64_t h, uint64_t v) {
  return llmc_code_mix(h, v);
}

/* Folds n values into h: little-endian uint64s at p (or the n values at v). */
static uint64_t mix_le(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = mix1(h, llmc_rd64(p + 8 * i));
  return h;
}
static uint64_t mix_n(uint64_t h, const uint64_t *v, size_t n) {
  for (size_t i = 0; i < n; ++i) h = mix1(h, v[i]);
  return h;
}

/* llmc_code_record's digest of the metadata (llmc_kernel_abi.h has the
 * order); the packager's codeRecord folds the same values. */
static uint64_t metadata_digest(const llmc_fb_model *f, uint32_t payload,
                                uint32_t num_kernels) {
  uint64_t v[9];
  for (int i = 0; i < 9; ++i) { /* the config's int32s, hidden_size to prefill_chunk */
    int32_t x;
    memcpy(&x, (const char *)&f->info.hidden_size + 4 * i, 4);
    v[i] = (uint64_t)(int64_t)x;
  }
  uint64_t h = mix_n(0, v, 9);
  const uint64_t plan[] = {f->info.arena_size, f->info.kv_cache_bytes_per_token,
                           f->kv_cache_dtype, f->info.weights_size, num_kernels};
  h = mix_n(h, plan, 5);
  for (uint32_t k = 0; k < num_kernels; ++k) {
    llmc_fb_kernel kd;
    llmc_fb_kernel_at(f, payload, k, &kd);
    size_t n = strlen(kd.entry);
    uint8_t w[256 + 8] = {0}; /* entries are < 256 bytes (load_payload) */
    memcpy(w, kd.entry, n < 256 ? n : 256);
    h = mix_le(mix1(h, n), w, (n < 256 ? n + 7 : 256) / 8);
    h = mix_le(mix1(h, kd.num_bindings), kd.binding_sizes_le, kd.num_bindings);
    h = mix1(h, kd.num_scalars);
  }
  h = mix1(h, f->info.num_dispatches);
  for (uint32_t i = 0; i < f->info.num_dispatches; ++i) {
    llmc_fb_dispatch d;
    llmc_fb_dispatch_at(f, i, &d);
    const uint64_t head[] = {d.kernel_index, (uint64_t)(int64_t)d.layer, d.num_operands};
    h = mix_n(h, head, 3);
    for (uint32_t j = 0; j < d.num_operands; ++j)
      h = mix_le(mix1(h, d.operands[24 * j]), d.operands + 24 * j + 8, 2);
    h = mix_le(mix1(h, d.num_scalars), d.scalars, 4 * (size_t)d.num_scalars);
    static const uint8_t none[32];
    h = mix_le(h, d.grid ? d.grid : none, 4);
  }
  h = mix1(h, f->info.num_weights);
  for (uint32_t i = 0; i < f->info.num_weights; ++i) {
    llmc_fb_weight w;
    llmc_fb_weight_at(f, i, &w);
    const uint64_t ws[] = {w.offset, w.size};
    h = mix_n(h, ws, 2);
  }
  return h;
}

static const char k_record_names[] __attribute__((unused)) =
    "arena_size\0kv_cache_bytes_per_token\0weights_size\0num_layers\0vocab_size\0"
    "max_context\0prefill_chunk\0kernels\0dispatches";

_Static_assert(offsetof(llmc_code_record, num_dispatches) ==
                   offsetof(llmc_code_record, arena_size) + 8 * sizeof(uint64_t),
               "k_record_names follows llmc_code_record");
_Static_assert(offsetof(llmc_model_info, prefill_chunk) ==
                   offsetof(llmc_model_info, hidden_size) + 8 * sizeof(int32_t),
               "metadata_digest reads the config as one array");

/* The metadata-vs-code check, first half: the metadata must be what the
 * code was compiled for (the record it carries), field by field and then
 * as a whole through the digest. check_schedule then holds the schedule to
 * those kernels and buffers. */
static llmc_status check_code_record(const llmc_model *m, uint32_t payload,
                                     uint32_t num_kernels, const llmc_code_record *r) {
  if (!r || memcmp(r->magic, LLMC_CODE_RECORD_MAGIC, 8) ||
      r->version != LLMC_CODE_RECORD_VERSION || r->size != sizeof *r)
    return fail(LLMC_ERR_BAD_FORMAT, "the code carries no record of what it was compiled "
                                     "for, or one of another version");
#ifndef LLMC_NO_ERROR_TEXT
  /* The digest covers these fields too: compared one by one only to say
   * which one differs. */
  const llmc_model_info *i = &m->fb.info;
  const uint64_t meta[] = {i->arena_size, i->kv_cache_bytes_per_token, i->weights_size,
                           (uint64_t)(int64_t)i->num_layers, (uint64_t)(int64_t)i->vocab_size,
                           (uint64_t)(int64_t)i->max_context,
                           (uint64_t)(int64_t)i->prefill_chunk, num_kernels,
                           i->num_dispatches};
  uint64_t code[9];
  memcpy(code, (const char *)r + offsetof(llmc_code_record, arena_size), sizeof code);
  const char *name = k_record_names;
  for (int k = 0; k < 9; ++k, name += strlen(name) + 1)
    if (meta[k] != code[k])
      return fail(LLMC_ERR_BAD_FORMAT,
                  "the metadata says %s %llu, but the code was compiled for %llu", name,
                  (unsigned long long)meta[k], (unsigned long long)code[k]);
#endif
  if (metadata_digest(&m->fb, payload, num_kernels) != r->digest)
    return fail(LLMC_ERR_BAD_FORMAT, "the config, schedule, kernel signatures or weight "
                                     "table disagree with what the code was compiled with");
  return LLMC_OK;
}

static llmc_status load_payload(llmc_model *m, uint32_t index, const llmc_fb_payload *p,
                                int load_code) {
  const llmc_fb_model *f = &m->fb;
  if (p->num_kernels - 1 >= 4096)
    return fail(LLMC_ERR_BAD_FORMAT, "payload %u has %u kernels", index, p->num_kernels);
  const char **entries = calloc(p->num_kernels, sizeof *entries);
  llmc_hal_kernel_sig *sigs = calloc(p->num_kernels, sizeof *sigs);
  llmc_status st = entries && sigs ? LLMC_OK : fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  for (uint32_t k = 0; k < p->num_kernels && st == LLMC_OK; ++k) {
    llmc_fb_kernel kd;
    llmc_fb_kernel_at(f, index, k, &kd);
    if (strlen(kd.entry) - 1 >= 255)
      st = fail(LLMC_ERR_BAD_FORMAT, "kernel %u has a bad entry name", k);
    entries[k] = kd.entry;
    sigs[k].num_bindings = kd.num_bindings;
    sigs[k].num_scalars = kd.num_scalars;
  }
  /* The code's record: the payload's last bytes, or the linked table's
   * (a linked artifact opened for its metadata only has none to check). */
  const llmc_code_record *record = NULL;
  llmc_code_record trailer;
  uint32_t code_size = p->size;
  if (strcmp(p->format, "linked")) {
    if (code_size > sizeof trailer) {
      code_size -= sizeof trailer;
      memcpy(&trailer, p->data + code_size, sizeof trailer);
      record = &trailer;
    }
  } else if (m->linked) {
    /* The code is in the program: it must be the code this artifact was
     * built with (the payload holds its 8-byte id). */
    const llmc_kernel_table *t = m->linked;
    if (t->version != LLMC_KERNEL_TABLE_VERSION || p->size != 8 ||
        llmc_rd64(p->data) != t->code_id)
      st = fail(LLMC_ERR_PAYLOAD_LOAD, "the linked code (id %016llx) is not the code this "
                "artifact was built with", (unsigned long long)t->code_id);
    else
      record = t->record; /* a field of this table version only */
  }
  if (st == LLMC_OK && (record || load_code))
    st = check_code_record(m, index, p->num_kernels, record);
  if (st == LLMC_OK) st = check_schedule(m, index, p->num_kernels);
  if (st == LLMC_OK && load_code) {
    const char *name = g_name;
    g_name = NULL; /* the HAL's messages name the artifact themselves */
    st = m->linked ? llmc_hal_cpu_link(name, m->linked, entries, p->num_kernels, &m->exe)
                   : m->hal->executable_load(name, p->data, code_size, entries, sigs,
                                             p->num_kernels, m->cache_dir, &m->exe);
  }
  free(entries);
  free(sigs);
  return st;
}

/* The int32 fields of the config from hidden_size to max_context (their
 * order in llmc_fb_model), each in [1, 2^bits]. */
static const char k_config_names[] =
    "hidden_size\0intermediate_size\0num_layers\0num_heads\0num_kv_heads\0head_dim\0"
    "vocab_size\0max_context";
static const uint8_t k_config_bits[] = {20, 20, 10, 20, 20, 20, 24, 24};

_Static_assert(offsetof(llmc_model_info, max_context) ==
                   offsetof(llmc_model_info, hidden_size) + 7 * sizeof(int32_t),
               "k_config_names follows llmc_model_info");

static llmc_status check_config(const llmc_fb_model *f) {
  const char *name = k_config_names;
  for (int i = 0; i < 8; ++i, name += strlen(name) + 1) {
    int32_t v;
    memcpy(&v, (const char *)&f->info + offsetof(llmc_model_info, hidden_size) + 4 * i, 4);
    if (v < 1 || v > (1 << k_config_bits[i]))
      return fail(LLMC_ERR_BAD_FORMAT, "config %s = %d out of range", name, (int)v);
  }
  if (f->info.prefill_chunk <= 0 || f->info.prefill_chunk > f->info.max_context ||
      f->info.num_heads % f->info.num_kv_heads || !(f->info.rms_norm_eps > 0.0f && f->info.rms_norm_eps < 1.0f) ||
      !(f->info.rope_theta > 0.0f && f->info.rope_theta < 1e30f) || f->info.bos_token_id < -1 ||
      f->info.bos_token_id >= f->info.vocab_size || f->info.arena_size > LLMC_MAX_ARENA)
    return fail(LLMC_ERR_BAD_FORMAT,
                "config out of range (prefill_chunk %d, heads %d / %d, eps, theta, bos %d, "
                "arena)",
                (int)f->info.prefill_chunk, (int)f->info.num_heads, (int)f->info.num_kv_heads,
                (int)f->info.bos_token_id);
  for (uint32_t i = 0; i < f->num_eos; ++i) {
    int32_t t = (int32_t)llmc_rd32(f->eos_le + 4 * i);
    if (t < 0 || t >= f->info.vocab_size)
      return fail(LLMC_ERR_BAD_FORMAT, "eos token %d outside the vocabulary", (int)t);
  }
  /* KV cache: [layers][2][max_context][kv_heads*head_dim], all < 2^53. */
  uint64_t per_token = (uint64_t)f->info.num_layers * 2u * (uint64_t)f->info.num_kv_heads *
                       (uint64_t)f->info.head_dim, kv;
  if ((f->kv_cache_dtype == LLMC_DT_F32 ? f->info.kv_cache_bytes_per_token != per_token * 4u
                                        : f->info.kv_cache_bytes_per_token - 1 >= per_token * 8u) ||
      __builtin_mul_overflow(f->info.kv_cache_bytes_per_token, (uint64_t)f->info.max_context, &kv) ||
      kv > (uint64_t)(SIZE_MAX / 2))
    return fail(LLMC_ERR_BAD_FORMAT, "kv_cache_bytes_per_token %llu does not fit the config",
                (unsigned long long)f->info.kv_cache_bytes_per_token);
  return LLMC_OK;
}

/* Bytes of an element of the plain dtypes F32 ... I64 (llmc_internal.h). */
static const uint8_t k_dtype_bytes[] = {4, 2, 2, 1, 1, 4, 8};

static llmc_status check_weights(const llmc_fb_model *f, uint64_t weights_size) {
  for (uint32_t i = 0; i < f->info.num_weights; ++i) {
    llmc_fb_weight w;
    llmc_fb_weight_at(f, i, &w);
    if (w.offset % LLMC_WEIGHT_ALIGN || w.offset > weights_size ||
        w.size > weights_size - w.offset)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "weight '%.64s' [%llu, +%llu) unaligned or outside the weights segment",
                  w.name, (unsigned long long)w.offset, (unsigned long long)w.size);
    /* Plain dtypes: size = elements * bytes (block formats: the quant
     * descriptor's business). */
    uint64_t n = w.dtype < LLMC_DT_Q8 ? k_dtype_bytes[w.dtype] : 0;
    int bad = !n && !w.has_quant;
    for (uint32_t d = 0; n && d < w.rank; ++d) {
      int64_t dim = (int64_t)llmc_rd64(w.shape_le + 8 * d);
      bad |= dim < 0 || __builtin_mul_overflow(n, (uint64_t)dim, &n);
    }
    if (bad || (n && n != w.size))
      return fail(LLMC_ERR_BAD_FORMAT, "weight '%.64s': dtype %u, shape and size disagree",
                  w.name, w.dtype);
  }
  return LLMC_OK;
}

static llmc_status open_impl(const uint8_t *base, size_t size, uint32_t flags,
                             llmc_model *m) {
  if (size < LLMC_HEADER_SIZE) return fail(LLMC_ERR_BAD_FORMAT, "too small");
  llmc_file_header h;
  llmc_header_decode(base, &h);
  if (memcmp(h.magic, LLMC_MAGIC, LLMC_MAGIC_SIZE))
    return fail(LLMC_ERR_BAD_FORMAT, "not an llmc artifact (bad magic)");
  if (h.format_version != LLMC_FORMAT_VERSION)
    return fail(LLMC_ERR_UNSUPPORTED_VERSION, "format version %u, this runtime reads %u",
                h.format_version, LLMC_FORMAT_VERSION);
  const uint64_t fsize = size;
  if (h.header_size < LLMC_HEADER_SIZE || h.flatbuffer_offset < h.header_size ||
      h.flatbuffer_offset % LLMC_FLATBUFFER_ALIGN || h.flatbuffer_offset > fsize ||
      h.flatbuffer_size < 8 || h.flatbuffer_size > fsize - h.flatbuffer_offset ||
      h.flatbuffer_size >= (1ull << 31) || h.weights_offset % LLMC_WEIGHTS_FILE_ALIGN ||
      h.weights_offset < h.flatbuffer_offset + h.flatbuffer_size ||
      h.weights_offset > fsize || h.weights_size != fsize - h.weights_offset)
    return fail(LLMC_ERR_BAD_FORMAT, "header sizes do not fit the file (%llu bytes; truncated?)",
                (unsigned long long)fsize);
  const uint8_t *fbuf = base + h.flatbuffer_offset;
  if (llmc_hash64(fbuf, (size_t)h.flatbuffer_size) != h.flatbuffer_checksum)
    return fail(LLMC_ERR_CHECKSUM, "flatbuffer checksum mismatch (corrupt file)");
  llmc_fb_model *f = &m->fb;
  if (llmc_fb_read(fbuf, (size_t)h.flatbuffer_size, f) != 0)
    return fail(LLMC_ERR_BAD_FORMAT, "metadata fails verification");
  if (!(flags & LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM) &&
      llmc_hash64(base + h.weights_offset, (size_t)h.weights_size) != h.weights_checksum)
    return fail(LLMC_ERR_CHECKSUM, "weights checksum mismatch (corrupt file)");
  if (!f->has_manifest || !f->has_config || !f->has_segment ||
      f->info.format_version != h.format_version || f->info.weights_size != h.weights_size ||
      f->seg_alignment != LLMC_WEIGHT_ALIGN || f->seg_file_alignment != LLMC_WEIGHTS_FILE_ALIGN)
    return fail(LLMC_ERR_BAD_FORMAT, "manifest, config or weights_segment missing or "
                                     "disagreeing with the header");
  llmc_status st = check_config(f);
  if (st) return st;
  st = check_weights(f, h.weights_size);
  if (st) return st;

  /* Target: a payload this runtime runs. Native code must be for this
   * architecture (for metadata only: the first native payload, whatever its
   * target); OpenCL C, SPIR-V and MSL are portable and go to their HALs. */
  const int meta_only = (flags & LLMC_OPEN_METADATA_ONLY) != 0;
  llmc_fb_payload p = {0};
  uint32_t i;
  const llmc_hal *hal = NULL;
  int native = 0;
  for (i = 0; i < f->num_payloads && !hal; ++i) {
    llmc_fb_payload_at(f, i, &p);
    int linked = !strcmp(p.format, "linked");
    if (linked || !strcmp(p.format, "elf-shared-object")) {
      /* Native code: in the artifact, or linked into the program. */
      if (!meta_only && linked != (m->linked != NULL))
        return fail(LLMC_ERR_INVALID_ARGUMENT,
                    linked ? "the model's code is linked into the program: open it with "
                             "llmc_open_params.kernels"
                           : "a kernel table was given, but the artifact carries its code");
      native = 1;
      if (meta_only || (triple_matches(p.target) && triple_matches(f->info.target_triple)))
        hal = llmc_hal_cpu();
    } else {
      const char *fmt = "opencl-c\0spirv\0msl\0";
      for (int k = 0; *fmt; ++k, fmt += strlen(fmt) + 1)
        if (!strcmp(p.format, fmt))
          hal = meta_only ? llmc_hal_cpu()
                : k == 0  ? LLMC_GPU_HAL(llmc_hal_opencl)
                : k == 1  ? LLMC_GPU_HAL(llmc_hal_vulkan)
                          : llmc_hal_metal();
    }
  }
  if (!hal) {
    if (native)
      return fail(LLMC_ERR_WRONG_TARGET,
                  "built for '%s' (target '%s'), this runtime is " LLMC_RUNTIME_ARCH,
                  f->info.target_triple, f->info.target);
    return fail(LLMC_ERR_WRONG_TARGET,
                "no payload this runtime runs (target '%s', format '%s')", f->info.target,
                p.format ? p.format : "");
  }
  --i;
  if (p.size - 1 >= LLMC_MAX_PAYLOAD)
    return fail(LLMC_ERR_BAD_FORMAT, "payload %u has a bad size", i);
  const char *bad;
  size_t bad_len;
  if (!meta_only && hal == llmc_hal_cpu() &&
      check_features(p.cpu_features[0] ? p.cpu_features : f->info.cpu_features, &bad, &bad_len))
    return fail(LLMC_ERR_CPU_FEATURES, "this CPU lacks '%.*s', required by the code",
                (int)(bad_len > 64 ? 64 : bad_len), bad);
  m->weights = base + h.weights_offset;
  f->info.code_format = p.format;
  m->hal = hal;
  return load_payload(m, i, &p, !meta_only);
}

LLMC_API llmc_status llmc_model_get_dispatch_info(const llmc_model *m, uint32_t index,
                                                  int64_t n, int64_t pos,
                                                  llmc_dispatch_info *out) {
  if (!m || !out) return null_arg();
  if (index >= m->fb.info.num_dispatches || n < 1 || n > m->fb.info.prefill_chunk ||
      pos < 0 || pos > m->fb.info.max_context - n)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "dispatch %u for %lld tokens at %lld: out of range",
                index, (long long)n, (long long)pos);
  llmc_fb_dispatch d;
  llmc_fb_dispatch_at(&m->fb, index, &d);
  memset(out, 0, sizeof *out);
  out->kernel = d.kernel;
  out->label = d.label;
  out->layer = d.layer;
  out->kernel_index = d.kernel_index;
  out->num_bindings = d.num_operands;
  out->num_scalars = d.num_scalars;
  out->grid = eval_scalar(d.grid, n, pos, 1);
  for (uint32_t j = 0; j < d.num_reads; ++j) {
    int64_t br = eval_scalar(d.reads + 32 * j, n, pos, 1);
    int64_t bw = eval_scalar(d.writes + 32 * j, n, pos, 1);
    br = br > 0 ? br : 0;
    out->bytes_read += (uint64_t)br;
    out->bytes_written += bw > 0 ? (uint64_t)bw : 0;
    if (d.operands[24 * j] == SPACE_WEIGHTS) out->weight_bytes_read += (uint64_t)br;
  }
  return LLMC_OK;
}

/* Live handles. Models and contexts are few and opened rarely, so one lock
 * and two lists: a handle not on its list (closed or freed already, or
 * never ours) is refused instead of used. */
static pthread_mutex_t g_live = PTHREAD_MUTEX_INITIALIZER;
static llmc_model *g_models;
static llmc_context *g_contexts;

/* Unlinks h from the list at head (linked by live_next); found = 1 if it
 * was there. Under g_live. */
#define LIVE_UNLINK(head, h, found)                                   \
  do {                                                                \
    found = 0;                                                        \
    for (__typeof__(head) *at = &(head); *at; at = &(*at)->live_next) \
      if (*at == (h)) {                                               \
        *at = (h)->live_next;                                         \
        found = 1;                                                    \
        break;                                                        \
      }                                                               \
  } while (0)

static void model_release(llmc_model *m) {
  if (m->exe) m->hal->executable_free(m->exe);
  free(m->schedule);
  if (m->map) munmap(m->map, m->size);
  free(m);
}

/* Opens the artifact [base, base + size) (our mapping `map`, or NULL);
 * params: flags, the kernel cache and a linked kernel table. */
static llmc_status open_common(const char *name, const uint8_t *base, size_t size,
                               void *map, const llmc_open_params *params,
                               llmc_model **out) {
  llmc_model *m = calloc(1, sizeof *m);
  g_name = name;
  llmc_status st = m ? LLMC_OK : fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
  if (m) {
    m->base = base;
    m->size = size;
    m->map = map;
    m->cache_dir = params->cache_dir;
    m->linked = params->kernels;
    st = open_impl(base, size, params->flags, m);
    m->cache_dir = NULL;
    map = NULL; /* model_release unmaps it */
    if (st != LLMC_OK) model_release(m);
  }
  if (map) munmap(map, size);
  g_name = NULL;
  if (st == LLMC_OK) {
    pthread_mutex_lock(&g_live);
    m->live_next = g_models;
    g_models = m;
    pthread_mutex_unlock(&g_live);
    *out = m;
  }
  return st;
}

#define LLMC_OPEN_KNOWN (LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM | LLMC_OPEN_METADATA_ONLY)

static llmc_status open_path(const char *path, const llmc_open_params *params,
                             llmc_model **out) {
  if (!path || !out) return null_arg();
  *out = NULL;
  if (params->flags & ~(uint32_t)LLMC_OPEN_KNOWN)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "unknown open flags 0x%x", params->flags);
  struct stat st;
  void *base = MAP_FAILED;
  llmc_status s = LLMC_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  g_name = path;
  if (fd < 0 || fstat(fd, &st) != 0)
    s = fail(LLMC_ERR_IO, "cannot open (%s)", strerror(errno));
  else if (!S_ISREG(st.st_mode))
    s = fail(LLMC_ERR_IO, "not a regular file");
  else if ((uint64_t)st.st_size - LLMC_HEADER_SIZE >= SIZE_MAX / 2)
    s = fail(LLMC_ERR_BAD_FORMAT, "%lld bytes, not an llmc artifact", (long long)st.st_size);
  else if ((base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
    s = fail(LLMC_ERR_IO, "mmap failed (%s)", strerror(errno));
  if (fd >= 0) close(fd);
  g_name = NULL;
  if (s) return s;
  return open_common(path, base, (size_t)st.st_size, base, params, out);
}

static llmc_status open_memory(const void *data, size_t size, const llmc_open_params *params,
                               llmc_model **out) {
  if (!data || !out) return null_arg();
  *out = NULL;
  if (params->flags & ~(uint32_t)LLMC_OPEN_KNOWN)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "unknown open flags 0x%x", params->flags);
  if ((uintptr_t)data % LLMC_WEIGHT_ALIGN)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "artifact buffer must be %u-byte aligned",
                LLMC_WEIGHT_ALIGN);
  return open_common("<memory>", data, size, NULL, params, out);
}

LLMC_API llmc_status llmc_model_open(const char *path, uint32_t flags, llmc_model **out) {
  llmc_open_params params = {flags, NULL, NULL, NULL, 0};
  return open_path(path, &params, out);
}

LLMC_API llmc_status llmc_model_open_with_params(const char *path,
                                                 const llmc_open_params *params,
                                                 llmc_model **out) {
  struct stat st;
  if (!params || !out) return null_arg();
  if (params->cache_dir && (stat(params->cache_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    return fail(LLMC_ERR_INVALID_ARGUMENT, "kernel cache directory '%s' does not exist",
                params->cache_dir);
  return path ? open_path(path, params, out)
              : open_memory(params->data, params->size, params, out);
}

LLMC_API llmc_status llmc_model_open_memory(const void *data, size_t size, uint32_t flags,
                                            llmc_model **out) {
  llmc_open_params params = {flags, NULL, NULL, NULL, 0};
  return open_memory(data, size, &params, out);
}

/* After a hold on m is dropped (its handle's or a context's): the last one
 * frees it. Called under g_live, which it releases. */
static void model_drop(llmc_model *m) {
  int found = 0;
  if (m->closed && !m->contexts) LIVE_UNLINK(g_models, m, found);
  pthread_mutex_unlock(&g_live);
  if (found) model_release(m);
}

/* 1 if m is an open model (not closed); under g_live. */
static int model_live(const llmc_model *m) {
  const llmc_model *at = g_models;
  while (at && at != m) at = at->live_next;
  return at && !m->closed;
}

LLMC_API llmc_status llmc_model_close(llmc_model *m) {
  if (!m) return LLMC_OK;
  pthread_mutex_lock(&g_live);
  if (!model_live(m)) {
    pthread_mutex_unlock(&g_live);
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_close: not an open model (closed "
                                           "twice?)");
  }
  m->closed = 1;
  model_drop(m);
  return LLMC_OK;
}

LLMC_API llmc_status llmc_model_get_info(const llmc_model *m, llmc_model_info *o) {
  if (!m || !o) return null_arg();
  *o = m->fb.info;
  o->kv_cache_bytes = o->kv_cache_bytes_per_token * (uint64_t)o->max_context;
  o->file_size = m->size;
  o->hal = m->exe ? m->hal->name : "";
  o->device = m->exe ? m->hal->executable_device(m->exe) : "";
  return LLMC_OK;
}

/* ---- contexts --------------------------------------------------------------- */

/* Frees c and drops its hold on the model. */
static void context_release(llmc_context *c) {
  llmc_model *m = c->m;
  const llmc_hal *hal = m->hal;
  for (int i = 0; i < NUM_SPACES; ++i) hal->buffer_free(c->buffers[i]);
  if (c->dev) hal->device_free(c->dev);
  if (c->host_copies) {
    free(c->tokens);
    free(c->logits);
  }
  free(c);
  pthread_mutex_lock(&g_live);
  --m->contexts;
  model_drop(m);
}

LLMC_API llmc_status llmc_context_free(llmc_context *c) {
  if (!c) return LLMC_OK;
  int found;
  pthread_mutex_lock(&g_live);
  LIVE_UNLINK(g_contexts, c, found);
  pthread_mutex_unlock(&g_live);
  if (!found)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_free: not a live context (freed "
                                           "twice?)");
  context_release(c);
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_create(llmc_model *m, const llmc_context_params *params,
                                         llmc_context **out) {
  if (!m || !out) return null_arg();
  pthread_mutex_lock(&g_live);
  int open = model_live(m);
  pthread_mutex_unlock(&g_live);
  if (!open) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_create: the model is closed");
  if (!m->exe)
    return fail(LLMC_ERR_UNSUPPORTED, "the model was opened without its code "
                                      "(LLMC_OPEN_METADATA_ONLY): no context");
  *out = NULL;
  const llmc_fb_model *f = &m->fb;
  int64_t n_ctx = params && params->n_ctx ? params->n_ctx : f->info.max_context;
  uint32_t flags = params ? params->flags : 0;
  int32_t n_threads = params ? params->n_threads : 0;
  if (n_ctx < 0 || n_ctx > f->info.max_context)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "n_ctx %lld outside [1, max_context %d]",
                (long long)n_ctx, (int)f->info.max_context);
  uint64_t kv_cap = params ? params->kv_cache_max_bytes : 0;
  if (kv_cap) {
    uint64_t fits = kv_cap / f->info.kv_cache_bytes_per_token;
    if (fits < 1)
      return fail(LLMC_ERR_INVALID_ARGUMENT,
                  "KV cache cap of %llu bytes holds no position (%llu bytes each)",
                  (unsigned long long)kv_cap,
                  (unsigned long long)f->info.kv_cache_bytes_per_token);
    if ((uint64_t)n_ctx > fits) n_ctx = (int64_t)fits;
  }
  if (flags & ~(uint32_t)LLMC_CONTEXT_ALL_LOGITS)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "unknown context flags 0x%x", flags);
  /* The model must be open; the context holds it until freed. */
  pthread_mutex_lock(&g_live);
  open = model_live(m);
  m->contexts += (uint32_t)open;
  pthread_mutex_unlock(&g_live);
  if (!open) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_create: the model is closed");
  llmc_context *c = calloc(1, sizeof *c);
  if (!c) {
    pthread_mutex_lock(&g_live);
    --m->contexts;
    model_drop(m);
    return fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a context");
  }
  c->m = m;
  c->n_ctx = n_ctx;
  c->flags = flags;
  const llmc_hal *hal = m->hal;
  llmc_status st = hal->device_create(m->exe, n_threads, &c->dev);
  if (st != LLMC_OK) {
    context_release(c);
    return st;
  }
  /* Logits: only the rows the lm_head writes (logit_rows per call). */
  uint64_t rows = (flags & LLMC_CONTEXT_ALL_LOGITS) ? (uint64_t)f->info.prefill_chunk : 1;
  const uint64_t sizes[NUM_SPACES] = {
      f->info.arena_size, 0, f->info.kv_cache_bytes_per_token * (uint64_t)f->info.max_context,
      (uint64_t)f->info.prefill_chunk * 4u, rows * (uint64_t)f->info.vocab_size * 4u};
  st = hal->buffer_import(c->dev, m->weights, f->info.weights_size, &c->buffers[SPACE_WEIGHTS]);
  for (int i = 0; i < NUM_SPACES && st == LLMC_OK; ++i)
    if (i != SPACE_WEIGHTS) st = hal->buffer_alloc(c->dev, sizes[i], &c->buffers[i]);
  if (st == LLMC_OK) {
    c->tokens = hal->buffer_host(c->buffers[SPACE_TOKENS]);
    c->logits = hal->buffer_host(c->buffers[SPACE_LOGITS]);
    if (!c->tokens || !c->logits) {
      /* A device with its own memory: host copies, moved by write / read. */
      c->host_copies = 1;
      c->tokens = NULL; /* run_chunk writes the caller's ids directly */
      c->logits = malloc((size_t)sizes[SPACE_LOGITS]);
      if (!c->logits) st = LLMC_ERR_OUT_OF_MEMORY;
    }
  }
  if (st != LLMC_OK) {
    context_release(c);
    return fail(LLMC_ERR_OUT_OF_MEMORY,
                "out of memory: arena %llu + KV cache %llu + logits %llu bytes",
                (unsigned long long)sizes[SPACE_ARENA], (unsigned long long)sizes[SPACE_KV],
                (unsigned long long)sizes[SPACE_LOGITS]);
  }
  pthread_mutex_lock(&g_live);
  c->live_next = g_contexts;
  g_contexts = c;
  pthread_mutex_unlock(&g_live);
  *out = c;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_get_n_ctx(const llmc_context *c, int64_t *out) {
  if (!c || !out) return null_arg();
  *out = c->n_ctx;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_get_threads(const llmc_context *c, int32_t *out) {
  if (!c || !out) return null_arg();
  *out = c->m->hal->device_threads(c->dev);
  return LLMC_OK;
}

/* One call of the schedule on k <= prefill_chunk tokens at c->pos. */
static llmc_status run_chunk(llmc_context *c, const int32_t *tokens, int64_t k,
                             int64_t all) {
  const llmc_model *m = c->m;
  const llmc_hal *hal = m->hal;
  if (c->host_copies) {
    llmc_status st = hal->write(c->dev, c->buffers[SPACE_TOKENS], 0, tokens,
                                (uint64_t)k * sizeof *tokens);
    if (st != LLMC_OK) return st;
  } else {
    memcpy(c->tokens, tokens, (size_t)k * sizeof *tokens);
  }
  const int64_t rows = all ? k : 1;
  llmc_hal_dispatch d;
  for (uint32_t i = 0; i < m->fb.info.num_dispatches; ++i) {
    const rt_dispatch *r = &m->schedule[i];
    d.kernel = r->kernel;
    d.num_bindings = r->num_bindings;
    d.num_scalars = r->num_scalars;
    for (uint32_t j = 0; j < r->num_bindings; ++j) {
      const uint8_t *op = r->operands + 24 * j;
      d.buffers[j] = c->buffers[op[0]];
      d.offsets[j] = llmc_rd64(op + 8);
      d.sizes[j] = llmc_rd64(op + 16);
    }
    for (uint32_t j = 0; j < r->num_scalars; ++j)
      d.scalars[j] = eval_scalar(r->scalars + 32 * j, k, c->pos, rows);
    d.grid = eval_scalar(r->grid, k, c->pos, rows);
    llmc_status st = hal->dispatch(c->dev, m->exe, &d);
    if (st != LLMC_OK) return st;
  }
  llmc_status st = hal->barrier(c->dev);
  if (st == LLMC_OK && c->host_copies)
    st = hal->read(c->dev, c->buffers[SPACE_LOGITS], 0, c->logits,
                   (uint64_t)rows * (uint64_t)m->fb.info.vocab_size * sizeof(float));
  return st;
}

LLMC_API llmc_status llmc_prefill(llmc_context *c, const int32_t *tokens, int64_t n) {
  if (!c || (n > 0 && !tokens) || n < 0)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "NULL argument or n < 0");
  const llmc_fb_model *f = &c->m->fb;
  if (n > c->n_ctx - c->pos)
    return fail(LLMC_ERR_CONTEXT_FULL,
                "context full: position %lld + %lld tokens > n_ctx %lld",
                (long long)c->pos, (long long)n, (long long)c->n_ctx);
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= f->info.vocab_size)
      return fail(LLMC_ERR_INVALID_ARGUMENT, "token %d at index %lld outside [0, %d)",
                  (int)tokens[i], (long long)i, (int)f->info.vocab_size);
  const int64_t all = (c->flags & LLMC_CONTEXT_ALL_LOGITS) != 0;
  for (int64_t i = 0; i < n;) {
    int64_t k = n - i < f->info.prefill_chunk ? n - i : f->info.prefill_chunk;
    llmc_status st = run_chunk(c, tokens + i, k, all);
    if (st != LLMC_OK) {
      c->has_logits = 0;
      return st;
    }
    c->logits_rows = all ? k : 1;
    c->logits_first_pos = all ? c->pos : c->pos + k - 1;
    c->has_logits = 1;
    c->pos += k;
    i += k;
  }
  return LLMC_OK;
}

LLMC_API llmc_status llmc_decode(llmc_context *c, int32_t token) {
  return llmc_prefill(c, &token, 1);
}

LLMC_API llmc_status llmc_get_logits(const llmc_context *c, const float **out) {
  if (!c || !out) return null_arg();
  if (!c->has_logits)
    return fail(LLMC_ERR_INVALID_STATE, "no logits: nothing has run since create/rewind");
  *out = c->logits + (size_t)(c->logits_rows - 1) * (size_t)c->m->fb.info.vocab_size;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_get_all_logits(const llmc_context *c, const float **out,
                                         int64_t *rows, int64_t *first_pos) {
  if (!c || !out || !rows || !first_pos)
    return null_arg();
  if (!(c->flags & LLMC_CONTEXT_ALL_LOGITS))
    return fail(LLMC_ERR_INVALID_STATE,
                "all-position logits need a context created with LLMC_CONTEXT_ALL_LOGITS");
  if (!c->has_logits)
    return fail(LLMC_ERR_INVALID_STATE, "no logits: nothing has run since create/rewind");
  *out = c->logits;
  *rows = c->logits_rows;
  *first_pos = c->logits_first_pos;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_get_position(const llmc_context *c, int64_t *pos) {
  if (!c || !pos) return null_arg();
  *pos = c->pos;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_rewind(llmc_context *c, int64_t pos) {
  if (!c) return null_arg();
  if (pos < 0 || pos > c->pos)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "rewind to %lld outside [0, position %lld]",
                (long long)pos, (long long)c->pos);
  c->pos = pos;
  c->has_logits = 0;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_reset(llmc_context *c) { return llmc_rewind(c, 0); }
