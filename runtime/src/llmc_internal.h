/* Internal interface between the runtime's C core (llmc_runtime.c) and its
 * one C++ translation unit (llmc_flatbuffer.cc), which runs the FlatBuffers
 * verifier and reads the verified buffer into plain C structs. */
#ifndef LLMC_RUNTIME_INTERNAL_H
#define LLMC_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values of llmc.fb.DType (runtime/schema/llmc.fbs). */
enum { LLMC_DT_F32 = 0, LLMC_DT_F16, LLMC_DT_BF16, LLMC_DT_I8, LLMC_DT_U8,
       LLMC_DT_I32, LLMC_DT_I64, LLMC_DT_Q8, LLMC_DT_Q4 };

/* Everything the loader needs from the Model table. Strings are never NULL
 * ("" when absent) and point into the verified buffer. */
typedef struct llmc_fb_model {
  const void *root; /* llmc::fb::Model* */
  int has_manifest, has_config, has_segment;
  /* Manifest */
  uint32_t format_version;
  const char *compiler_version, *target, *target_triple, *cpu_features,
      *quantization, *created_by;
  /* ModelConfig */
  int32_t hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads,
      head_dim, vocab_size, max_context, prefill_chunk;
  float rms_norm_eps, rope_theta;
  const char *rope_scaling_type;
  float rope_scaling_factor, rope_low_freq_factor, rope_high_freq_factor;
  int32_t rope_original_max_position_embeddings;
  int32_t tie_word_embeddings, bos_token_id;
  uint32_t num_eos;
  const uint8_t *eos_le; /* num_eos little-endian int32 */
  /* Plan */
  uint64_t arena_size, kv_cache_bytes_per_token, arena_size_unfused;
  uint32_t kv_cache_dtype;
  uint32_t seg_alignment, seg_file_alignment;
  uint64_t seg_size;
  uint32_t num_payloads, num_weights, num_dispatches;
  /* Tokenizer blob (NULL when the artifact has none) */
  const uint8_t *tokenizer_blob;
  uint64_t tokenizer_size;
} llmc_fb_model;

typedef struct llmc_fb_payload {
  const char *target, *format, *cpu_features;
  const uint8_t *data;
  uint64_t size;
  uint32_t num_kernels;
} llmc_fb_payload;

typedef struct llmc_fb_kernel {
  const char *name, *entry;
  uint32_t num_bindings, num_scalars;
  const uint8_t *binding_sizes_le; /* num_bindings little-endian uint64 */
} llmc_fb_kernel;

/* c + n_tokens * N + start_pos * P + logit_rows * L */
typedef struct llmc_fb_scalar {
  int64_t c, n_tokens, start_pos, logit_rows;
} llmc_fb_scalar;

typedef struct llmc_fb_dispatch {
  const char *kernel, *label;
  uint32_t kernel_index, num_operands, num_scalars;
  int has_grid;
  llmc_fb_scalar grid;
  uint32_t num_reads, num_writes; /* 0 or num_operands */
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
/* Operand j of dispatch i (j < num_operands). */
void llmc_fb_dispatch_operand(const llmc_fb_model *m, uint32_t i, uint32_t j,
                              uint32_t *space, uint64_t *offset, uint64_t *size);
/* Bytes binding j of dispatch i reads and writes (j < num_reads/num_writes). */
void llmc_fb_dispatch_traffic(const llmc_fb_model *m, uint32_t i, uint32_t j,
                              llmc_fb_scalar *read, llmc_fb_scalar *write);
/* Scalar j of dispatch i (j < num_scalars). */
void llmc_fb_dispatch_scalar(const llmc_fb_model *m, uint32_t i, uint32_t j,
                             llmc_fb_scalar *out);

#ifdef __cplusplus
}
#endif

#endif
