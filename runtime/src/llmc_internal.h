/* Internal interface between the runtime's core (llmc_runtime.c) and its
 * metadata reader (llmc_fb.c), which verifies the artifact's FlatBuffer and
 * reads it into plain C structs. */
#ifndef LLMC_RUNTIME_INTERNAL_H
#define LLMC_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/include/llmc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values of llmc.fb.DType (runtime/schema/llmc.fbs). */
enum { LLMC_DT_F32 = 0, LLMC_DT_F16, LLMC_DT_BF16, LLMC_DT_I8, LLMC_DT_U8,
       LLMC_DT_I32, LLMC_DT_I64, LLMC_DT_Q8, LLMC_DT_Q4, LLMC_DT_Q6 };

/* Everything the loader needs from the Model table. `info` is filled as
 * llmc_model_get_info reports it, except what the loader adds (file_size,
 * kv_cache_bytes, hal, device). Strings are never NULL ("" when absent) and
 * point into the verified buffer. */
typedef struct llmc_fb_model {
  llmc_model_info info;
  const uint8_t *buf;                   /* the verified FlatBuffer */
  /* The Model's vectors of tables (their offsets, in place). */
  const uint8_t *payloads_data, *schedule_data, *weights_data;
  int has_manifest, has_config, has_segment;
  uint32_t num_eos;
  const uint8_t *eos_le; /* num_eos little-endian int32 */
  uint32_t kv_cache_dtype;
  uint32_t seg_alignment, seg_file_alignment;
  uint32_t num_payloads;
  /* Tokenizer blob (NULL when the artifact has none) */
  const uint8_t *tokenizer_blob;
  uint32_t tokenizer_size;
} llmc_fb_model;

typedef struct llmc_fb_payload {
  const char *target, *format, *cpu_features;
  const uint8_t *data;
  uint32_t size;
  uint32_t num_kernels;
  const uint8_t *kernels; /* the kernel table's offsets, in place */
} llmc_fb_payload;

typedef struct llmc_fb_kernel {
  const char *name, *entry;
  uint32_t num_bindings, num_scalars;
  const uint8_t *binding_sizes_le; /* num_bindings little-endian uint64 */
} llmc_fb_kernel;

/* Arrays of the schedule point into the buffer, in its little-endian
 * layout: a BufferRef is 24 bytes (space u8 at 0, offset u64 at 8, size u64
 * at 16), a Scalar 32 (int64 c, n_tokens, start_pos, logit_rows: the value
 * c + n_tokens * N + start_pos * P + logit_rows * L). */
typedef struct llmc_fb_dispatch {
  const char *kernel, *label;
  uint32_t kernel_index, num_operands, num_scalars;
  uint32_t num_reads, num_writes; /* 0 or num_operands */
  const uint8_t *operands, *scalars, *reads, *writes;
  const uint8_t *grid;            /* one Scalar; NULL: absent */
  int32_t layer;                  /* -1: none */
} llmc_fb_dispatch;

typedef struct llmc_fb_weight {
  const char *name;
  uint32_t dtype;
  int has_quant;
  uint64_t offset, size;
  uint32_t rank;
  const uint8_t *shape_le; /* rank little-endian int64 */
} llmc_fb_weight;

/* Verifies buf[0..size) as a Model buffer with identifier "LLMC" and reads
 * it. size must be < 2^31. Returns 0 on success, -1 if the verifier rejects
 * the buffer. */
int llmc_fb_read(const uint8_t *buf, size_t size, llmc_fb_model *out);
void llmc_fb_payload_at(const llmc_fb_model *m, uint32_t i, llmc_fb_payload *out);
void llmc_fb_weight_at(const llmc_fb_model *m, uint32_t i, llmc_fb_weight *out);
void llmc_fb_kernel_at(const llmc_fb_model *m, uint32_t payload, uint32_t k,
                       llmc_fb_kernel *out);
void llmc_fb_dispatch_at(const llmc_fb_model *m, uint32_t i, llmc_fb_dispatch *out);
/* ---- the model (llmc_runtime.c; the tokenizer part reads it) ---- */

/* Buffers a dispatch binds (values of llmc.fb.BufferSpace). */
enum { SPACE_ARENA, SPACE_WEIGHTS, SPACE_KV, SPACE_TOKENS, SPACE_LOGITS, NUM_SPACES };

#ifndef __cplusplus
#include <stdatomic.h>

#include "runtime/hal/llmc_hal.h"
#include "runtime/include/llmc_tokenizer.h"

/* A dispatch of the schedule, checked at load; its arrays point into the
 * verified metadata (llmc_fb_dispatch). */
typedef struct rt_dispatch {
  uint32_t kernel, num_bindings, num_scalars;
  const uint8_t *operands, *scalars, *grid;
} rt_dispatch;

struct llmc_model {
  const uint8_t *base;
  size_t size;
  void *map; /* our mmap of the file (== base), or NULL for open_memory */
  const llmc_hal *hal;
  llmc_hal_executable *exe;
  const char *cache_dir; /* during open only */
  const struct llmc_kernel_table *linked; /* code linked into the program */
  rt_dispatch *schedule;
  const uint8_t *weights;
  llmc_fb_model fb;
  /* The tokenizer, checked at its first use (llmc_model_get_tokenizer, in
   * the tokenizer's part of the runtime: an app without it carries none of
   * its code): 0 unchecked, 1 being checked, 2 valid, 3 invalid. */
  _Atomic int tokenizer_state;
  llmc_tokenizer tokenizer; /* a view into the mapped artifact */
  /* Lifetime (llmc_runtime.c, under its lock): the open models form a
   * list, so a second close is recognized; contexts hold the model, so
   * one freed after its model's close still works. */
  struct llmc_model *live_next;
  uint32_t contexts;
  int closed;
};
#endif

#ifdef __cplusplus
}
#endif

#endif
