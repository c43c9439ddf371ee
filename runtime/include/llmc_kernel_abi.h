/* ABI between the llmc runtime and the native code the compiler generates.
 *
 * A CPU kernel payload is an ELF shared object (position independent) that
 * exports one function with this signature under the name recorded in
 * KernelPayload.entry (by default LLMC_KERNEL_ENTRY). It runs the whole model
 * for one chunk of tokens; it must not allocate, print, or keep state between
 * calls outside the buffers it is given.
 */
#ifndef LLMC_KERNEL_ABI_H
#define LLMC_KERNEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMC_KERNEL_ENTRY "llmc_forward"

/* Runs the model on tokens[0..n_tokens) at positions start_pos..,
 * 1 <= n_tokens <= prefill_chunk, start_pos + n_tokens <= max_context.
 *
 * weights:  the weights segment (64-byte aligned; each weight at its offset
 *           from the artifact's weight table, baked into the code).
 * arena:    arena_size bytes of scratch, 64-byte aligned, contents undefined.
 * kv_cache: layout [num_layers][2 (K,V)][max_context][num_kv_heads*head_dim]
 *           f32, 64-byte aligned; positions < start_pos hold earlier tokens.
 * tokens:   token ids, already validated: 0 <= id < vocab_size.
 * logits:   if all_logits != 0, n_tokens x vocab_size floats (row i for
 *           position start_pos + i), else vocab_size floats for the last
 *           token. */
typedef void (*llmc_forward_fn)(const uint8_t *weights, uint8_t *arena,
                                uint8_t *kv_cache, const int32_t *tokens,
                                int64_t n_tokens, int64_t start_pos,
                                float *logits, int64_t all_logits);

void llmc_forward(const uint8_t *weights, uint8_t *arena, uint8_t *kv_cache,
                  const int32_t *tokens, int64_t n_tokens, int64_t start_pos,
                  float *logits, int64_t all_logits);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_KERNEL_ABI_H */
