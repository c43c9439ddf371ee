/* ABI between the llmc runtime and the native code the compiler generates.
 *
 * A CPU payload is an ELF shared object (position independent): an
 * executable of kernels. Each kernel of the artifact's kernel table
 * (KernelPayload.kernels) is exported under its `entry` name with one
 * uniform signature, so a runtime can launch any of them, from any thread,
 * without knowing its arity. Kernels must not allocate, print, or keep state
 * between calls outside the buffers they are given.
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

#ifdef __cplusplus
}
#endif

#endif /* LLMC_KERNEL_ABI_H */
