/* llmc runtime core: open + verify an artifact, load its native code through
 * a HAL (runtime/hal), run its schedule. C11; depends on libc, libdl and
 * pthreads (in the CPU HAL) and nothing else. See llmc.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runtime/include/llmc.h"

#include <errno.h>
#include <fcntl.h>
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

static _Thread_local char g_error[320];

LLMC_API const char *llmc_last_error(void) { return g_error; }

__attribute__((format(printf, 2, 3))) static llmc_status
fail(llmc_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return st;
}

LLMC_API const char *llmc_status_string(llmc_status s) {
  switch (s) {
  case LLMC_OK: return "ok";
  case LLMC_ERR_INVALID_ARGUMENT: return "invalid argument";
  case LLMC_ERR_IO: return "I/O error";
  case LLMC_ERR_BAD_FORMAT: return "bad artifact format";
  case LLMC_ERR_UNSUPPORTED_VERSION: return "unsupported format version";
  case LLMC_ERR_CHECKSUM: return "checksum mismatch";
  case LLMC_ERR_WRONG_TARGET: return "artifact built for another target";
  case LLMC_ERR_CPU_FEATURES: return "CPU lacks a required feature";
  case LLMC_ERR_OUT_OF_MEMORY: return "out of memory";
  case LLMC_ERR_CONTEXT_FULL: return "context full";
  case LLMC_ERR_PAYLOAD_LOAD: return "native code payload failed to load";
  case LLMC_ERR_INVALID_STATE: return "invalid state";
  case LLMC_ERR_UNSUPPORTED: return "unsupported on this platform";
  }
  return "unknown status";
}

llmc_status llmc_hal_fail(llmc_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return st;
}

/* ---- model ------------------------------------------------------------------ */

/* Buffers a dispatch binds (values of llmc.fb.BufferSpace). */
enum { SPACE_ARENA, SPACE_WEIGHTS, SPACE_KV, SPACE_TOKENS, SPACE_LOGITS, NUM_SPACES };

/* The schedule, decoded and checked once at load. */
typedef struct rt_dispatch {
  uint32_t kernel, num_bindings, num_scalars;
  uint8_t space[LLMC_HAL_MAX_BINDINGS];
  uint64_t offset[LLMC_HAL_MAX_BINDINGS];
  uint64_t size[LLMC_HAL_MAX_BINDINGS];
  llmc_fb_scalar scalars[LLMC_HAL_MAX_SCALARS];
  llmc_fb_scalar grid;
} rt_dispatch;

struct llmc_model {
  const uint8_t *base;
  size_t size;
  void *map; /* our mmap of the file (== base), or NULL for open_memory */
  const llmc_hal *hal;
  llmc_hal_executable *exe;
  const char *cache_dir; /* during open only */
  rt_dispatch *schedule;
  uint32_t num_dispatches;
  const uint8_t *weights;
  llmc_fb_model fb;
  int32_t eos[LLMC_MAX_EOS_TOKENS];
  int has_tokenizer;
  llmc_tokenizer tokenizer; /* a view into the mapped artifact */
};

struct llmc_context {
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

/* 1 if this CPU has the named feature, 0 if not, -1 if the runtime does not
 * know the name (unknown names are ignored: see README). */
static int cpu_has(const char *f, size_t n) {
#define LLMC_IS(s) (n == sizeof(s) - 1 && !memcmp(f, s, n))
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (LLMC_IS("sse4.2")) return __builtin_cpu_supports("sse4.2") != 0;
  if (LLMC_IS("avx")) return __builtin_cpu_supports("avx") != 0;
  if (LLMC_IS("avx2")) return __builtin_cpu_supports("avx2") != 0;
  if (LLMC_IS("fma")) return __builtin_cpu_supports("fma") != 0;
  if (LLMC_IS("avx512f")) return __builtin_cpu_supports("avx512f") != 0;
  if (LLMC_IS("avx512bw")) return __builtin_cpu_supports("avx512bw") != 0;
  if (LLMC_IS("avx512vl")) return __builtin_cpu_supports("avx512vl") != 0;
  if (LLMC_IS("avx512vnni")) return __builtin_cpu_supports("avx512vnni") != 0;
#elif defined(__aarch64__) && defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  if (LLMC_IS("neon")) return (hw & (1ul << 1)) != 0;     /* HWCAP_ASIMD */
  if (LLMC_IS("fullfp16")) return (hw & (1ul << 10)) != 0; /* HWCAP_ASIMDHP */
  if (LLMC_IS("dotprod")) return (hw & (1ul << 20)) != 0;  /* HWCAP_ASIMDDP */
  if (LLMC_IS("sve")) return (hw & (1ul << 22)) != 0;      /* HWCAP_SVE */
  if (LLMC_IS("i8mm")) return (hw2 & (1ul << 13)) != 0;    /* HWCAP2_I8MM */
#endif
#undef LLMC_IS
  (void)f;
  (void)n;
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

/* Coefficients of a scalar are checked at load to be at most 2^31 in
 * magnitude, and n, pos, rows are below 2^24 (LLMC_MAX_CONTEXT), so this
 * cannot overflow. */
static int64_t eval_scalar(const llmc_fb_scalar *s, int64_t n, int64_t pos,
                           int64_t rows) {
  return s->c + s->n_tokens * n + s->start_pos * pos + s->logit_rows * rows;
}

static int scalar_ok(const llmc_fb_scalar *s) {
  const int64_t lim = (int64_t)1 << 31;
  return s->c >= -lim && s->c <= lim && s->n_tokens >= -lim && s->n_tokens <= lim &&
         s->start_pos >= -lim && s->start_pos <= lim && s->logit_rows >= -lim &&
         s->logit_rows <= lim;
}

/* The metadata-vs-code check: every dispatch must launch a kernel of the
 * payload with exactly the bindings and scalars its code was compiled for,
 * every binding must hold what the kernel reads and lie inside its buffer,
 * and every grid must stay in range for any call the runtime allows. A file
 * that fails this is refused before any of its code runs. */
static llmc_status check_schedule(const char *name, llmc_model *m, uint32_t payload,
                                  uint32_t num_kernels) {
  const llmc_fb_model *f = &m->fb;
  const uint64_t chunk = (uint64_t)f->prefill_chunk;
  const uint64_t space_size[NUM_SPACES] = {
      f->arena_size, f->seg_size, f->kv_cache_bytes_per_token * (uint64_t)f->max_context,
      chunk * 4u, chunk * (uint64_t)f->vocab_size * 4u};
  if (f->num_dispatches == 0)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: the schedule is empty", name);
  if (f->num_dispatches > (1u << 20))
    return fail(LLMC_ERR_BAD_FORMAT, "%s: %u dispatches, too many", name, f->num_dispatches);
  m->schedule = calloc(f->num_dispatches, sizeof *m->schedule);
  if (!m->schedule) return fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  m->num_dispatches = f->num_dispatches;
  for (uint32_t i = 0; i < f->num_dispatches; ++i) {
    llmc_fb_dispatch d;
    llmc_fb_dispatch_at(f, i, &d);
    rt_dispatch *r = &m->schedule[i];
    if (d.kernel_index >= num_kernels)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: dispatch %u launches kernel %u of %u", name,
                  i, d.kernel_index, num_kernels);
    llmc_fb_kernel k;
    llmc_fb_kernel_at(f, payload, d.kernel_index, &k);
    if (d.num_operands != k.num_bindings || d.num_scalars != k.num_scalars ||
        !d.has_grid || (d.num_reads && d.num_reads != d.num_operands) ||
        (d.num_writes && d.num_writes != d.num_operands) || k.num_bindings > LLMC_HAL_MAX_BINDINGS ||
        k.num_scalars > LLMC_HAL_MAX_SCALARS)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "%s: dispatch %u (%s) passes %u bindings and %u scalars%s to kernel "
                  "%s, compiled for %u and %u",
                  name, i, d.label, d.num_operands, d.num_scalars,
                  d.has_grid ? "" : " and no grid", k.name, k.num_bindings,
                  k.num_scalars);
    if (d.layer < -1 || d.layer >= f->num_layers)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: dispatch %u (%s) names layer %d of %d", name, i,
                  d.label, (int)d.layer, (int)f->num_layers);
    r->kernel = d.kernel_index;
    r->num_bindings = d.num_operands;
    r->num_scalars = d.num_scalars;
    for (uint32_t j = 0; j < d.num_operands; ++j) {
      uint32_t space;
      uint64_t off, size, need = llmc_rd64(k.binding_sizes_le + 8 * j);
      llmc_fb_dispatch_operand(f, i, j, &space, &off, &size);
      if (space >= NUM_SPACES || size < need || off > space_size[space] ||
          size > space_size[space] - off)
        return fail(LLMC_ERR_BAD_FORMAT,
                    "%s: dispatch %u (%s) binding %u: [%llu, +%llu) of buffer %u does "
                    "not hold the %llu bytes kernel %s reads, inside the buffer",
                    name, i, d.label, j, (unsigned long long)off,
                    (unsigned long long)size, space, (unsigned long long)need, k.name);
      r->space[j] = (uint8_t)space;
      r->offset[j] = off;
      r->size[j] = size;
    }
    int ok = scalar_ok(&d.grid);
    for (uint32_t j = 0; j < d.num_scalars; ++j) {
      llmc_fb_dispatch_scalar(f, i, j, &r->scalars[j]);
      ok &= scalar_ok(&r->scalars[j]);
    }
    for (uint32_t j = 0; j < d.num_operands; ++j) {
      llmc_fb_scalar rd, wr;
      llmc_fb_dispatch_traffic(f, i, j, &rd, &wr);
      ok &= scalar_ok(&rd) & scalar_ok(&wr);
    }
    if (!ok)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "%s: dispatch %u (%s) has a scalar coefficient beyond 2^31", name,
                  i, d.label);
    r->grid = d.grid;
    /* The grid is affine in (n, pos, rows), so its extremes over the calls
     * the runtime makes (1 <= n <= chunk, 0 <= pos <= max_context - n,
     * rows in {1, n}) are at the corners. */
    const int64_t ns[2] = {1, (int64_t)chunk};
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 2; ++c) {
          int64_t n = ns[a], pos = b ? f->max_context - n : 0, rows = c ? n : 1;
          int64_t g = eval_scalar(&d.grid, n, pos, rows);
          if (g < 0 || g > (1ll << 31))
            return fail(LLMC_ERR_BAD_FORMAT,
                        "%s: dispatch %u (%s) has grid %lld for %lld tokens at %lld",
                        name, i, d.label, (long long)g, (long long)n, (long long)pos);
        }
  }
  return LLMC_OK;
}

static llmc_status load_payload(llmc_model *m, const char *name, uint32_t index,
                                const llmc_fb_payload *p, int load_code) {
  const llmc_fb_model *f = &m->fb;
  if (p->num_kernels == 0 || p->num_kernels > 4096)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: payload %u has %u kernels", name, index,
                p->num_kernels);
  const char **entries = calloc(p->num_kernels, sizeof *entries);
  llmc_hal_kernel_sig *sigs = calloc(p->num_kernels, sizeof *sigs);
  if (!entries || !sigs) {
    free(entries);
    free(sigs);
    return fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  }
  for (uint32_t k = 0; k < p->num_kernels; ++k) {
    llmc_fb_kernel kd;
    llmc_fb_kernel_at(f, index, k, &kd);
    size_t len = strlen(kd.entry);
    if (len == 0 || len > 255) {
      free(entries);
      free(sigs);
      return fail(LLMC_ERR_BAD_FORMAT, "%s: kernel %u has a bad entry name", name, k);
    }
    entries[k] = kd.entry;
    sigs[k].num_bindings = kd.num_bindings;
    sigs[k].num_scalars = kd.num_scalars;
  }
  llmc_status st = check_schedule(name, m, index, p->num_kernels);
  if (st == LLMC_OK && load_code)
    st = m->hal->executable_load(name, p->data, p->size, entries, sigs,
                                 p->num_kernels, m->cache_dir, &m->exe);
  free(entries);
  free(sigs);
  return st;
}

static llmc_status check_config(const char *name, const llmc_fb_model *f) {
  const int32_t dims[] = {f->hidden_size, f->intermediate_size, f->num_heads,
                          f->num_kv_heads, f->head_dim};
  static const char *const dim_names[] = {"hidden_size", "intermediate_size",
                                          "num_heads", "num_kv_heads", "head_dim"};
  for (int i = 0; i < 5; ++i)
    if (dims[i] <= 0 || dims[i] > LLMC_MAX_DIM)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: config %s = %d out of range", name,
                  dim_names[i], (int)dims[i]);
  if (f->num_layers <= 0 || f->num_layers > LLMC_MAX_LAYERS)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: config num_layers = %d out of range",
                name, (int)f->num_layers);
  if (f->vocab_size <= 0 || f->vocab_size > LLMC_MAX_VOCAB)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: config vocab_size = %d out of range",
                name, (int)f->vocab_size);
  if (f->max_context <= 0 || f->max_context > LLMC_MAX_CONTEXT)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: config max_context = %d out of range",
                name, (int)f->max_context);
  if (f->prefill_chunk <= 0 || f->prefill_chunk > f->max_context)
    return fail(LLMC_ERR_BAD_FORMAT,
                "%s: config prefill_chunk = %d not in [1, max_context]", name,
                (int)f->prefill_chunk);
  if (f->num_heads % f->num_kv_heads)
    return fail(LLMC_ERR_BAD_FORMAT,
                "%s: config num_heads %d not a multiple of num_kv_heads %d", name,
                (int)f->num_heads, (int)f->num_kv_heads);
  if (!(f->rms_norm_eps > 0.0f && f->rms_norm_eps < 1.0f) ||
      !(f->rope_theta > 0.0f && f->rope_theta < 1e30f))
    return fail(LLMC_ERR_BAD_FORMAT, "%s: config rms_norm_eps or rope_theta out of range",
                name);
  if (f->bos_token_id < -1 || f->bos_token_id >= f->vocab_size)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: bos_token_id %d outside the vocabulary",
                name, (int)f->bos_token_id);
  for (uint32_t i = 0; i < f->num_eos; ++i) {
    int32_t t = (int32_t)llmc_rd32(f->eos_le + 4 * i);
    if (t < 0 || t >= f->vocab_size)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: eos_token_ids[%u] = %d outside the vocabulary",
                  name, i, (int)t);
  }
  if (f->arena_size > LLMC_MAX_ARENA)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: arena_size %llu too large", name,
                (unsigned long long)f->arena_size);
  /* KV cache: [layers][2][max_context][kv_heads*head_dim], all < 2^53. */
  uint64_t per_token = (uint64_t)f->num_layers * 2u * (uint64_t)f->num_kv_heads *
                       (uint64_t)f->head_dim;
  if (f->kv_cache_dtype == LLMC_DT_F32) {
    if (f->kv_cache_bytes_per_token != per_token * 4u)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "%s: kv_cache_bytes_per_token %llu != layers*2*kv_heads*head_dim*4 = %llu",
                  name, (unsigned long long)f->kv_cache_bytes_per_token,
                  (unsigned long long)(per_token * 4u));
  } else if (f->kv_cache_bytes_per_token == 0 ||
             f->kv_cache_bytes_per_token > per_token * 8u) {
    return fail(LLMC_ERR_BAD_FORMAT, "%s: kv_cache_bytes_per_token out of range", name);
  }
  uint64_t kv;
  if (__builtin_mul_overflow(f->kv_cache_bytes_per_token, (uint64_t)f->max_context, &kv) ||
      kv > (uint64_t)(SIZE_MAX / 2))
    return fail(LLMC_ERR_BAD_FORMAT, "%s: KV cache size overflows", name);
  return LLMC_OK;
}

static uint64_t dtype_bytes(uint32_t dt) {
  switch (dt) {
  case LLMC_DT_F32: case LLMC_DT_I32: return 4;
  case LLMC_DT_F16: case LLMC_DT_BF16: return 2;
  case LLMC_DT_I8: case LLMC_DT_U8: return 1;
  case LLMC_DT_I64: return 8;
  default: return 0; /* block formats: size given by the quant descriptor */
  }
}

static llmc_status check_weights(const char *name, const llmc_fb_model *f,
                                 uint64_t weights_size) {
  for (uint32_t i = 0; i < f->num_weights; ++i) {
    llmc_fb_weight w;
    llmc_fb_weight_at(f, i, &w);
    if (w.offset % LLMC_WEIGHT_ALIGN)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: weight '%.64s' offset %llu not %u-byte aligned",
                  name, w.name, (unsigned long long)w.offset, LLMC_WEIGHT_ALIGN);
    if (w.offset > weights_size || w.size > weights_size - w.offset)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "%s: weight '%.64s' [%llu, +%llu) outside the weights segment (%llu bytes)",
                  name, w.name, (unsigned long long)w.offset, (unsigned long long)w.size,
                  (unsigned long long)weights_size);
    uint64_t eb = dtype_bytes(w.dtype);
    if (eb == 0 && !w.has_quant)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: weight '%.64s' has unknown dtype %u", name,
                  w.name, w.dtype);
    if (eb) {
      uint64_t n = eb;
      for (uint32_t d = 0; d < w.rank; ++d) {
        int64_t dim = (int64_t)llmc_rd64(w.shape_le + 8 * d);
        if (dim < 0 || __builtin_mul_overflow(n, (uint64_t)dim, &n))
          return fail(LLMC_ERR_BAD_FORMAT, "%s: weight '%.64s' has a bad shape", name,
                      w.name);
      }
      if (n != w.size)
        return fail(LLMC_ERR_BAD_FORMAT,
                    "%s: weight '%.64s' size %llu does not match its shape (%llu bytes)",
                    name, w.name, (unsigned long long)w.size, (unsigned long long)n);
    }
  }
  return LLMC_OK;
}

static llmc_status open_impl(const char *name, const uint8_t *base, size_t size,
                             uint32_t flags, llmc_model *m) {
  if (size < LLMC_HEADER_SIZE)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: %zu bytes, too small for an llmc artifact",
                name, size);
  llmc_file_header h;
  llmc_header_decode(base, &h);
  if (memcmp(h.magic, LLMC_MAGIC, LLMC_MAGIC_SIZE))
    return fail(LLMC_ERR_BAD_FORMAT, "%s: not an llmc artifact (bad magic)", name);
  if (h.format_version != LLMC_FORMAT_VERSION)
    return fail(LLMC_ERR_UNSUPPORTED_VERSION,
                "%s: format version %u, this runtime reads version %u", name,
                h.format_version, LLMC_FORMAT_VERSION);
  const uint64_t fsize = size;
  if (h.header_size < LLMC_HEADER_SIZE || h.flatbuffer_offset < h.header_size ||
      h.flatbuffer_offset % LLMC_FLATBUFFER_ALIGN || h.flatbuffer_offset > fsize ||
      h.flatbuffer_size < 8 || h.flatbuffer_size > fsize - h.flatbuffer_offset ||
      h.flatbuffer_size >= (1ull << 31))
    return fail(LLMC_ERR_BAD_FORMAT,
                "%s: flatbuffer [%llu, +%llu) does not fit in the file (%llu bytes)",
                name, (unsigned long long)h.flatbuffer_offset,
                (unsigned long long)h.flatbuffer_size, (unsigned long long)fsize);
  if (h.weights_offset % LLMC_WEIGHTS_FILE_ALIGN ||
      h.weights_offset < h.flatbuffer_offset + h.flatbuffer_size ||
      h.weights_offset > fsize || h.weights_size != fsize - h.weights_offset)
    return fail(LLMC_ERR_BAD_FORMAT,
                "%s: weights segment [%llu, +%llu) is not 4 KB aligned after the "
                "flatbuffer and ending the file (%llu bytes; truncated?)",
                name, (unsigned long long)h.weights_offset,
                (unsigned long long)h.weights_size, (unsigned long long)fsize);
  const uint8_t *fbuf = base + h.flatbuffer_offset;
  if (llmc_hash64(fbuf, (size_t)h.flatbuffer_size) != h.flatbuffer_checksum)
    return fail(LLMC_ERR_CHECKSUM, "%s: flatbuffer checksum mismatch (corrupt file)", name);
  llmc_fb_model *f = &m->fb;
  if (llmc_fb_read(fbuf, (size_t)h.flatbuffer_size, f) != 0)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: metadata flatbuffer fails verification", name);
  if (!(flags & LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM) &&
      llmc_hash64(base + h.weights_offset, (size_t)h.weights_size) != h.weights_checksum)
    return fail(LLMC_ERR_CHECKSUM, "%s: weights checksum mismatch (corrupt file)", name);
  if (!f->has_manifest || !f->has_config || !f->has_segment)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: manifest, config or weights_segment missing", name);
  if (f->format_version != h.format_version)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: manifest format_version %u != header %u", name,
                f->format_version, h.format_version);
  if (f->seg_size != h.weights_size || f->seg_alignment != LLMC_WEIGHT_ALIGN ||
      f->seg_file_alignment != LLMC_WEIGHTS_FILE_ALIGN)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: weights_segment disagrees with the header", name);
  llmc_status st = check_config(name, f);
  if (st) return st;
  st = check_weights(name, f, h.weights_size);
  if (st) return st;

  /* Target: a payload this runtime runs. Native code must be for this
   * architecture (for metadata only: the first native payload, whatever its
   * target); OpenCL C and SPIR-V are portable and go to the OpenCL and
   * Vulkan HALs. */
  const int meta_only = (flags & LLMC_OPEN_METADATA_ONLY) != 0;
  llmc_fb_payload p;
  uint32_t i;
  const llmc_hal *hal = NULL;
  int native = 0;
  for (i = 0; i < f->num_payloads; ++i) {
    llmc_fb_payload_at(f, i, &p);
    if (!strcmp(p.format, "elf-shared-object")) {
      native = 1;
      if (meta_only || (triple_matches(p.target) && triple_matches(f->target_triple))) {
        hal = llmc_hal_cpu();
        break;
      }
    } else if (!strcmp(p.format, "opencl-c") && (meta_only || llmc_hal_opencl())) {
      hal = meta_only ? llmc_hal_cpu() : llmc_hal_opencl();
      break;
    } else if (!strcmp(p.format, "spirv") && (meta_only || llmc_hal_vulkan())) {
      hal = meta_only ? llmc_hal_cpu() : llmc_hal_vulkan();
      break;
    } else if (!strcmp(p.format, "msl") && (meta_only || llmc_hal_metal())) {
      hal = meta_only ? llmc_hal_cpu() : llmc_hal_metal();
      break;
    }
  }
  if (i == f->num_payloads) {
    if (native)
      return fail(LLMC_ERR_WRONG_TARGET,
                  "%s: built for '%s' (target '%s'), this runtime is " LLMC_RUNTIME_ARCH,
                  name, f->target_triple, f->target);
    return fail(LLMC_ERR_WRONG_TARGET,
                "%s: no payload this runtime runs (target '%s'; %u payloads, e.g. "
                "format '%s'%s)",
                name, f->target, f->num_payloads, f->num_payloads ? p.format : "",
                f->num_payloads && !strcmp(p.format, "opencl-c") && !llmc_hal_opencl()
                    ? "; this runtime was built without OpenCL"
                : f->num_payloads && !strcmp(p.format, "spirv") && !llmc_hal_vulkan()
                    ? "; this runtime was built without Vulkan"
                : f->num_payloads && !strcmp(p.format, "msl") && !llmc_hal_metal()
                    ? "; Metal runs on Apple platforms (here: llmc-msl-run)"
                    : "");
  }
  if (p.size == 0 || p.size > LLMC_MAX_PAYLOAD)
    return fail(LLMC_ERR_BAD_FORMAT, "%s: payload %u has a bad size", name, i);
  const char *bad;
  size_t bad_len;
  if (!meta_only && hal == llmc_hal_cpu() &&
      check_features(p.cpu_features[0] ? p.cpu_features : f->cpu_features, &bad, &bad_len))
    return fail(LLMC_ERR_CPU_FEATURES, "%s: this CPU lacks '%.*s', required by the code",
                name, (int)(bad_len > 64 ? 64 : bad_len), bad);
  m->weights = base + h.weights_offset;
  if (f->tokenizer_blob) {
    /* The blob sits inside the verified flatbuffer; its own tables are
     * validated before any use, and ids must fit the model's vocabulary. */
    int ts = llmc_tokenizer_init(f->tokenizer_blob, (size_t)f->tokenizer_size,
                                 &m->tokenizer);
    if (ts != LLMC_OK)
      return fail(LLMC_ERR_BAD_FORMAT, "%s: bad tokenizer: %s", name,
                  m->tokenizer.error ? m->tokenizer.error : "invalid");
    if (llmc_tokenizer_vocab_size(&m->tokenizer) > (uint32_t)f->vocab_size)
      return fail(LLMC_ERR_BAD_FORMAT,
                  "%s: tokenizer has %u tokens, more than the model's vocabulary %d",
                  name, llmc_tokenizer_vocab_size(&m->tokenizer), f->vocab_size);
    m->has_tokenizer = 1;
  }
  m->hal = hal;
  return load_payload(m, name, i, &p, !meta_only);
}

LLMC_API llmc_status llmc_model_get_dispatch_info(const llmc_model *m, uint32_t index,
                                                  int64_t n, int64_t pos,
                                                  llmc_dispatch_info *out) {
  if (!m || !out)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_get_dispatch_info: NULL argument");
  if (index >= m->num_dispatches)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "dispatch %u of %u", index, m->num_dispatches);
  if (n < 1 || n > m->fb.prefill_chunk || pos < 0 || pos > m->fb.max_context - n)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "%lld tokens at position %lld: outside the "
                "compiled chunk %d / context %d", (long long)n, (long long)pos,
                (int)m->fb.prefill_chunk, (int)m->fb.max_context);
  llmc_fb_dispatch d;
  llmc_fb_dispatch_at(&m->fb, index, &d);
  const rt_dispatch *r = &m->schedule[index];
  out->kernel = d.kernel;
  out->label = d.label;
  out->layer = d.layer;
  out->kernel_index = r->kernel;
  out->num_bindings = r->num_bindings;
  out->num_scalars = r->num_scalars;
  out->grid = eval_scalar(&r->grid, n, pos, 1);
  out->bytes_read = out->bytes_written = out->weight_bytes_read = 0;
  for (uint32_t j = 0; j < r->num_bindings; ++j) {
    llmc_fb_scalar rd, wr;
    llmc_fb_dispatch_traffic(&m->fb, index, j, &rd, &wr);
    int64_t br = eval_scalar(&rd, n, pos, 1), bw = eval_scalar(&wr, n, pos, 1);
    out->bytes_read += br > 0 ? (uint64_t)br : 0;
    out->bytes_written += bw > 0 ? (uint64_t)bw : 0;
    if (r->space[j] == SPACE_WEIGHTS) out->weight_bytes_read += br > 0 ? (uint64_t)br : 0;
  }
  return LLMC_OK;
}

LLMC_API llmc_status llmc_model_get_tokenizer(const llmc_model *m,
                                              const llmc_tokenizer **out) {
  if (!m || !out)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_get_tokenizer: NULL argument");
  *out = NULL;
  if (!m->has_tokenizer)
    return fail(LLMC_ERR_UNSUPPORTED, "the artifact has no tokenizer (the checkpoint "
                                      "had no tokenizer.json)");
  *out = &m->tokenizer;
  return LLMC_OK;
}

static void model_release(llmc_model *m) {
  if (m->exe) m->hal->executable_free(m->exe);
  free(m->schedule);
  if (m->map) munmap(m->map, m->size);
  free(m);
}

static llmc_status open_common(const char *name, const uint8_t *base, size_t size,
                               void *map, uint32_t flags, const char *cache_dir,
                               llmc_model **out) {
  llmc_model *m = calloc(1, sizeof *m);
  if (!m) {
    if (map) munmap(map, size);
    return fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  }
  m->base = base;
  m->size = size;
  m->map = map;
  m->cache_dir = cache_dir;
  llmc_status st = open_impl(name, base, size, flags, m);
  m->cache_dir = NULL;
  if (st != LLMC_OK) {
    model_release(m);
    return st;
  }
  *out = m;
  return LLMC_OK;
}

static llmc_status open_path(const char *path, uint32_t flags, const char *cache_dir,
                             llmc_model **out) {
  if (!path || !out) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_open: NULL argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(LLMC_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    close(fd);
    return fail(LLMC_ERR_IO, "%s: not a regular file (%s)", path, strerror(e));
  }
  if ((uint64_t)st.st_size < LLMC_HEADER_SIZE || (uint64_t)st.st_size > SIZE_MAX / 2) {
    close(fd);
    return fail(LLMC_ERR_BAD_FORMAT, "%s: %lld bytes, not an llmc artifact", path,
                (long long)st.st_size);
  }
  size_t size = (size_t)st.st_size;
  void *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) return fail(LLMC_ERR_IO, "%s: mmap failed (%s)", path, strerror(e));
  return open_common(path, base, size, base, flags, cache_dir, out);
}

LLMC_API llmc_status llmc_model_open(const char *path, uint32_t flags, llmc_model **out) {
  return open_path(path, flags, NULL, out);
}

LLMC_API llmc_status llmc_model_open_with_params(const char *path,
                                                 const llmc_open_params *params,
                                                 llmc_model **out) {
  if (!params)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_open_with_params: NULL params");
  if (params->cache_dir) {
    struct stat st;
    if (stat(params->cache_dir, &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(LLMC_ERR_INVALID_ARGUMENT, "kernel cache directory '%s' does not exist",
                  params->cache_dir);
  }
  return open_path(path, params->flags, params->cache_dir, out);
}

LLMC_API llmc_status llmc_model_open_memory(const void *data, size_t size, uint32_t flags,
                                            llmc_model **out) {
  if (!data || !out)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_open_memory: NULL argument");
  *out = NULL;
  if ((uintptr_t)data % LLMC_WEIGHT_ALIGN)
    return fail(LLMC_ERR_INVALID_ARGUMENT,
                "<memory>: artifact buffer must be %u-byte aligned", LLMC_WEIGHT_ALIGN);
  return open_common("<memory>", data, size, NULL, flags, NULL, out);
}

LLMC_API llmc_status llmc_model_close(llmc_model *m) {
  if (m) model_release(m);
  return LLMC_OK;
}

LLMC_API llmc_status llmc_model_get_info(const llmc_model *m, llmc_model_info *o) {
  if (!m || !o) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_model_get_info: NULL argument");
  const llmc_fb_model *f = &m->fb;
  memset(o, 0, sizeof *o);
  o->hidden_size = f->hidden_size;
  o->intermediate_size = f->intermediate_size;
  o->num_layers = f->num_layers;
  o->num_heads = f->num_heads;
  o->num_kv_heads = f->num_kv_heads;
  o->head_dim = f->head_dim;
  o->vocab_size = f->vocab_size;
  o->max_context = f->max_context;
  o->prefill_chunk = f->prefill_chunk;
  o->rms_norm_eps = f->rms_norm_eps;
  o->rope_theta = f->rope_theta;
  o->rope_scaling_type = f->rope_scaling_type;
  o->rope_scaling_factor = f->rope_scaling_factor;
  o->rope_low_freq_factor = f->rope_low_freq_factor;
  o->rope_high_freq_factor = f->rope_high_freq_factor;
  o->rope_original_max_position_embeddings = f->rope_original_max_position_embeddings;
  o->tie_word_embeddings = f->tie_word_embeddings;
  o->bos_token_id = f->bos_token_id;
  o->num_eos_tokens = (int32_t)(f->num_eos < LLMC_MAX_EOS_TOKENS ? f->num_eos
                                                                  : LLMC_MAX_EOS_TOKENS);
  for (int32_t i = 0; i < o->num_eos_tokens; ++i)
    o->eos_token_ids[i] = (int32_t)llmc_rd32(f->eos_le + 4 * i);
  o->arena_size = f->arena_size;
  o->arena_size_unfused = f->arena_size_unfused;
  o->kv_cache_bytes_per_token = f->kv_cache_bytes_per_token;
  o->kv_cache_bytes = f->kv_cache_bytes_per_token * (uint64_t)f->max_context;
  o->weights_size = f->seg_size;
  o->file_size = m->size;
  o->num_weights = f->num_weights;
  o->num_dispatches = f->num_dispatches;
  o->format_version = f->format_version;
  o->compiler_version = f->compiler_version;
  o->target = f->target;
  o->target_triple = f->target_triple;
  o->cpu_features = f->cpu_features;
  o->quantization = f->quantization;
  o->created_by = f->created_by;
  o->hal = m->exe ? m->hal->name : "";
  o->device = m->exe ? m->hal->executable_device(m->exe) : "";
  return LLMC_OK;
}

/* ---- contexts --------------------------------------------------------------- */

LLMC_API llmc_status llmc_context_free(llmc_context *c) {
  if (c) {
    const llmc_hal *hal = c->m->hal;
    for (int i = 0; i < NUM_SPACES; ++i) hal->buffer_free(c->buffers[i]);
    if (c->dev) hal->device_free(c->dev);
    if (c->host_copies) {
      free(c->tokens);
      free(c->logits);
    }
    free(c);
  }
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_create(llmc_model *m, const llmc_context_params *params,
                                         llmc_context **out) {
  if (!m || !out) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_create: NULL argument");
  if (!m->exe)
    return fail(LLMC_ERR_UNSUPPORTED, "the model was opened without its code "
                                      "(LLMC_OPEN_METADATA_ONLY): no context");
  *out = NULL;
  const llmc_fb_model *f = &m->fb;
  int64_t n_ctx = params && params->n_ctx ? params->n_ctx : f->max_context;
  uint32_t flags = params ? params->flags : 0;
  int32_t n_threads = params ? params->n_threads : 0;
  if (n_ctx < 0 || n_ctx > f->max_context)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "n_ctx %lld outside [1, max_context %d]",
                (long long)n_ctx, (int)f->max_context);
  uint64_t kv_cap = params ? params->kv_cache_max_bytes : 0;
  if (kv_cap) {
    uint64_t fits = kv_cap / f->kv_cache_bytes_per_token;
    if (fits < 1)
      return fail(LLMC_ERR_INVALID_ARGUMENT,
                  "KV cache cap of %llu bytes holds no position (%llu bytes each)",
                  (unsigned long long)kv_cap,
                  (unsigned long long)f->kv_cache_bytes_per_token);
    if ((uint64_t)n_ctx > fits) n_ctx = (int64_t)fits;
  }
  if (flags & ~(uint32_t)LLMC_CONTEXT_ALL_LOGITS)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "unknown context flags 0x%x", flags);
  llmc_context *c = calloc(1, sizeof *c);
  if (!c) return fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a context");
  c->m = m;
  c->n_ctx = n_ctx;
  c->flags = flags;
  const llmc_hal *hal = m->hal;
  llmc_status st = hal->device_create(m->exe, n_threads, &c->dev);
  if (st != LLMC_OK) {
    free(c);
    return st;
  }
  /* Logits: only the rows the lm_head writes (logit_rows per call). */
  uint64_t rows = (flags & LLMC_CONTEXT_ALL_LOGITS) ? (uint64_t)f->prefill_chunk : 1;
  const uint64_t sizes[NUM_SPACES] = {
      f->arena_size, 0, f->kv_cache_bytes_per_token * (uint64_t)f->max_context,
      (uint64_t)f->prefill_chunk * 4u, rows * (uint64_t)f->vocab_size * 4u};
  st = hal->buffer_import(c->dev, m->weights, f->seg_size, &c->buffers[SPACE_WEIGHTS]);
  for (int i = 0; i < NUM_SPACES && st == LLMC_OK; ++i)
    if (i != SPACE_WEIGHTS) st = hal->buffer_alloc(c->dev, sizes[i], &c->buffers[i]);
  if (st != LLMC_OK) {
    llmc_context_free(c);
    return fail(LLMC_ERR_OUT_OF_MEMORY,
                "out of memory: arena %llu + KV cache %llu + logits %llu bytes",
                (unsigned long long)sizes[SPACE_ARENA], (unsigned long long)sizes[SPACE_KV],
                (unsigned long long)sizes[SPACE_LOGITS]);
  }
  c->tokens = hal->buffer_host(c->buffers[SPACE_TOKENS]);
  c->logits = hal->buffer_host(c->buffers[SPACE_LOGITS]);
  if (!c->tokens || !c->logits) {
    /* A device with its own memory: host copies, moved by write / read. */
    c->host_copies = 1;
    c->tokens = NULL; /* run_chunk writes the caller's ids directly */
    c->logits = malloc((size_t)sizes[SPACE_LOGITS]);
    if (!c->logits) {
      llmc_context_free(c);
      return fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for the logits (%llu bytes)",
                  (unsigned long long)sizes[SPACE_LOGITS]);
    }
  }
  *out = c;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_get_n_ctx(const llmc_context *c, int64_t *out) {
  if (!c || !out) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_get_n_ctx: NULL argument");
  *out = c->n_ctx;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_context_get_threads(const llmc_context *c, int32_t *out) {
  if (!c || !out) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_context_get_threads: NULL argument");
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
  for (uint32_t i = 0; i < m->num_dispatches; ++i) {
    const rt_dispatch *r = &m->schedule[i];
    d.kernel = r->kernel;
    d.num_bindings = r->num_bindings;
    d.num_scalars = r->num_scalars;
    for (uint32_t j = 0; j < r->num_bindings; ++j) {
      d.buffers[j] = c->buffers[r->space[j]];
      d.offsets[j] = r->offset[j];
      d.sizes[j] = r->size[j];
    }
    for (uint32_t j = 0; j < r->num_scalars; ++j)
      d.scalars[j] = eval_scalar(&r->scalars[j], k, c->pos, rows);
    d.grid = eval_scalar(&r->grid, k, c->pos, rows);
    llmc_status st = hal->dispatch(c->dev, m->exe, &d);
    if (st != LLMC_OK) return st;
  }
  llmc_status st = hal->barrier(c->dev);
  if (st == LLMC_OK && c->host_copies)
    st = hal->read(c->dev, c->buffers[SPACE_LOGITS], 0, c->logits,
                   (uint64_t)rows * (uint64_t)m->fb.vocab_size * sizeof(float));
  return st;
}

LLMC_API llmc_status llmc_prefill(llmc_context *c, const int32_t *tokens, int64_t n) {
  if (!c || (n > 0 && !tokens) || n < 0)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_prefill: NULL context/tokens or n < 0");
  const llmc_fb_model *f = &c->m->fb;
  if (n > c->n_ctx - c->pos)
    return fail(LLMC_ERR_CONTEXT_FULL,
                "context full: position %lld + %lld tokens > n_ctx %lld",
                (long long)c->pos, (long long)n, (long long)c->n_ctx);
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= f->vocab_size)
      return fail(LLMC_ERR_INVALID_ARGUMENT, "token %d at index %lld outside [0, %d)",
                  (int)tokens[i], (long long)i, (int)f->vocab_size);
  const int64_t all = (c->flags & LLMC_CONTEXT_ALL_LOGITS) != 0;
  for (int64_t i = 0; i < n;) {
    int64_t k = n - i < f->prefill_chunk ? n - i : f->prefill_chunk;
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
  if (!c || !out) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_get_logits: NULL argument");
  if (!c->has_logits)
    return fail(LLMC_ERR_INVALID_STATE, "no logits: nothing has run since create/rewind");
  *out = c->logits + (size_t)(c->logits_rows - 1) * (size_t)c->m->fb.vocab_size;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_get_all_logits(const llmc_context *c, const float **out,
                                         int64_t *rows, int64_t *first_pos) {
  if (!c || !out || !rows || !first_pos)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_get_all_logits: NULL argument");
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
  if (!c || !pos) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_get_position: NULL argument");
  *pos = c->pos;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_rewind(llmc_context *c, int64_t pos) {
  if (!c) return fail(LLMC_ERR_INVALID_ARGUMENT, "llmc_rewind: NULL context");
  if (pos < 0 || pos > c->pos)
    return fail(LLMC_ERR_INVALID_ARGUMENT, "rewind to %lld outside [0, position %lld]",
                (long long)pos, (long long)c->pos);
  c->pos = pos;
  c->has_logits = 0;
  return LLMC_OK;
}

LLMC_API llmc_status llmc_reset(llmc_context *c) { return llmc_rewind(c, 0); }
