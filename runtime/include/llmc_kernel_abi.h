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

/* Version of llmc_kernel_table's layout. */
#define LLMC_KERNEL_TABLE_VERSION 1

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
} llmc_kernel_table;

#ifdef __cplusplus
}
#endif

#endif /* LLMC_KERNEL_ABI_H */
