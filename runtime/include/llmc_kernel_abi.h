/* ABI between the llmc runtime and the native code the compiler generates.
 *
 * A CPU payload is an ELF shared object (position independent): an
 * executable of kernels. Each kernel of the artifact's kernel table
 * (KernelPayload.kernels) is exported under its `entry` name with one
 * uniform signature, so a runtime can launch any of them, from any thread,
 * without knowing its arity. Kernels must not allocate, print, or keep state
 * between calls outside the buffers they are given.
 *
 * The same kernels may instead be linked into the program (`llmc build
 * --emit static-lib` or `shared-lib`): the library then exports one
 * function, declared in the header it comes with, that returns their
 * llmc_kernel_table (below), and the artifact next to it records the same
 * code_id; llmc_model_open_with_params takes the table.
 */
#ifndef LLMC_KERNEL_ABI_H
#define LLMC_KERNEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Computes iterations [begin, end) of the kernel's parallel dimension,
 * 0 <= begin <= end <= grid (the dispatch's grid for this call).
 * Disjoint ranges of one dispatch may run concurrently.
 *
 * bindings: one pointer per binding, in the kernel's argument order: the
 *           start of the binding's byte range in its buffer (arena, weights
 *           segment, KV cache, tokens or logits). Each points to at least
 *           Kernel.binding_sizes[i] bytes, aligned as the buffer's offset
 *           allows (buffers are 64-byte aligned).
 * scalars:  Kernel.num_scalars values (token count, start position, ...),
 *           already evaluated for this call. */
typedef void (*llmc_kernel_fn)(void *const *bindings, const int64_t *scalars,
                               int64_t begin, int64_t end);

/* What the code was compiled for, carried by the code itself: the last
 * sizeof(llmc_code_record) bytes of every payload in an artifact (ELF,
 * OpenCL C, SPIR-V, MSL), and llmc_kernel_table.record for linked code.
 * The runtime refuses an artifact whose metadata disagrees with it, before
 * any kernel runs: the kernels trust these values (their loops, strides and
 * buffer extents were generated from them), so metadata edited on its own,
 * even with valid checksums, must not reach them. Little-endian.
 *
 * digest folds, with llmc_code_mix (llmc_format.h), everything else the
 * runtime takes from the metadata to launch the kernels, in this order
 * (each value as a uint64; int32 fields sign-extended; a string as its
 * length, then its bytes in 8-byte little-endian words, zero-padded):
 *   the config's hidden_size, intermediate_size, num_layers, num_heads,
 *     num_kv_heads, head_dim, vocab_size, max_context, prefill_chunk;
 *   arena_size, kv_cache_bytes_per_token, kv_cache_dtype, weights_size;
 *   the number of kernels, then per kernel: entry, number of bindings,
 *     each binding size, number of scalars;
 *   the number of dispatches, then per dispatch: kernel_index, layer,
 *     number of operands, each operand's (space, offset, size), number of
 *     scalars, each scalar's (c, n_tokens, start_pos, logit_rows), the
 *     grid's four coefficients;
 *   the number of weights, then each weight's (offset, size).
 * Each step of the fold is a bijection of the running value for a fixed
 * input, so any single changed value changes the digest. It detects
 * accidents and metadata-only edits; it cannot stop someone who rewrites
 * the code as well (runtime/README.md, "Threat model"). */
#define LLMC_CODE_RECORD_MAGIC "LLMCCODE"
#define LLMC_CODE_RECORD_VERSION 1

typedef struct llmc_code_record {
  char magic[8];     /* LLMC_CODE_RECORD_MAGIC, no terminator */
  uint32_t version;  /* LLMC_CODE_RECORD_VERSION */
  uint32_t size;     /* sizeof(llmc_code_record) */
  uint64_t digest;
  /* Compared one by one, for a message that names the field. */
  uint64_t arena_size, kv_cache_bytes_per_token, weights_size;
  uint64_t num_layers, vocab_size, max_context, prefill_chunk;
  uint64_t num_kernels, num_dispatches;
} llmc_code_record;

/* Version of llmc_kernel_table's layout. */
#define LLMC_KERNEL_TABLE_VERSION 2

/* A model's kernels linked into the program. The runtime accepts it for an
 * artifact whose payload is "linked" with the same code_id (a hash of the
 * generated code), and finds each of the artifact's kernels here by its
 * entry name. */
typedef struct llmc_kernel_table {
  uint32_t version;     /* LLMC_KERNEL_TABLE_VERSION */
  uint32_t num_kernels;
  const char *const *names;     /* entry names, as the artifact's Kernel.entry */
  const llmc_kernel_fn *kernels;
  uint64_t code_id;
  const char *triple;   /* what the code was compiled for */
  const char *features; /* CPU features it needs ("+avx2,+fma,...") */
  const llmc_code_record *record; /* what the code was compiled for (version 2) */
} llmc_kernel_table;

#ifdef __cplusplus
}
#endif

#endif /* LLMC_KERNEL_ABI_H */
