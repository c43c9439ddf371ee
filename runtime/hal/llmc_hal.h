/* The runtime's hardware abstraction layer: what the runtime core needs from
 * a device to run a schedule, and nothing more.
 *
 *   load an executable (the payload's kernels), make buffers, dispatch a
 *   kernel over a grid with bindings and scalars, wait (barrier), read back.
 *
 * The core (llmc_runtime.c) walks the artifact's dispatch list and calls
 * these; it never knows which device it drives. One HAL per device kind:
 * the CPU HAL (runtime/hal/cpu/, a thread pool) and the OpenCL HAL
 * (runtime/hal/opencl/); GPU HALs load their driver with dlopen, so one runtime binary runs with
 * or without a GPU driver and reports LLMC_ERR_UNSUPPORTED when the driver
 * is missing.
 *
 * Executables belong to a model and are shared by its contexts; a device
 * (with its threads or queue) belongs to one context, so contexts run
 * concurrently without locks. */
#ifndef LLMC_HAL_H
#define LLMC_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/include/llmc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_hal_device llmc_hal_device;
typedef struct llmc_hal_executable llmc_hal_executable;
typedef struct llmc_hal_buffer llmc_hal_buffer;

/* Up to this many bindings and scalars per dispatch (checked at load). */
#define LLMC_HAL_MAX_BINDINGS 16
#define LLMC_HAL_MAX_SCALARS 8

/* What a kernel takes, from the artifact's kernel table; a HAL that can
 * see its code's signatures checks them at load. */
typedef struct llmc_hal_kernel_sig {
  uint32_t num_bindings, num_scalars;
} llmc_hal_kernel_sig;

/* One kernel launch: kernel `kernel` of the executable over iterations
 * [0, grid); binding i is bytes [offsets[i], offsets[i] + sizes[i]) of
 * buffers[i]. */
typedef struct llmc_hal_dispatch {
  uint32_t kernel;
  uint32_t num_bindings, num_scalars;
  llmc_hal_buffer *buffers[LLMC_HAL_MAX_BINDINGS];
  uint64_t offsets[LLMC_HAL_MAX_BINDINGS];
  uint64_t sizes[LLMC_HAL_MAX_BINDINGS];
  int64_t scalars[LLMC_HAL_MAX_SCALARS];
  int64_t grid;
} llmc_hal_dispatch;

typedef struct llmc_hal {
  const char *name; /* "cpu", "opencl", "vulkan", "metal" */

  /* An executable from a payload's code and the entry names of its kernels
   * (index i of `entries` is kernel i of every dispatch), kernel i taking
   * what sigs[i] says.
   * `cache_dir` (NULL: none) is where a GPU HAL keeps the programs its
   * driver compiled from source. Errors are set with the runtime's error
   * text and returned as status. */
  llmc_status (*executable_load)(const char *model_name, const uint8_t *code,
                                 uint64_t size, const char *const *entries,
                                 const llmc_hal_kernel_sig *sigs, uint32_t num_entries,
                                 const char *cache_dir, llmc_hal_executable **out);
  void (*executable_free)(llmc_hal_executable *exe);
  /* What runs the code, for messages: "cpu", "OpenCL: <device name>". */
  const char *(*executable_device)(const llmc_hal_executable *exe);

  /* A device for one context, on the executable's processor: n_threads
   * workers for the CPU (0: all online cores), a queue for a GPU. */
  llmc_status (*device_create)(llmc_hal_executable *exe, int32_t n_threads,
                               llmc_hal_device **out);
  void (*device_free)(llmc_hal_device *dev);
  int32_t (*device_threads)(const llmc_hal_device *dev);

  /* A device buffer of `size` bytes (64-byte aligned), or one that uses
   * host memory the caller keeps alive (the mmap'd weights). */
  llmc_status (*buffer_alloc)(llmc_hal_device *dev, uint64_t size,
                              llmc_hal_buffer **out);
  llmc_status (*buffer_import)(llmc_hal_device *dev, const void *host,
                               uint64_t size, llmc_hal_buffer **out);
  void (*buffer_free)(llmc_hal_buffer *buf);
  /* Host address of the buffer's bytes where the device shares memory with
   * the host (CPU), else NULL: use read. */
  void *(*buffer_host)(llmc_hal_buffer *buf);

  /* Queues a dispatch; it sees every effect of the dispatches before it. */
  llmc_status (*dispatch)(llmc_hal_device *dev, llmc_hal_executable *exe,
                          const llmc_hal_dispatch *d);
  /* Waits until every queued dispatch has finished. */
  llmc_status (*barrier)(llmc_hal_device *dev);
  /* Copies bytes [offset, offset + n) of a buffer to host memory (after a
   * barrier). */
  llmc_status (*read)(llmc_hal_device *dev, llmc_hal_buffer *buf,
                      uint64_t offset, void *dst, uint64_t n);
  /* Copies host memory into bytes [offset, offset + n) of a buffer, ordered
   * before the dispatches queued after it. */
  llmc_status (*write)(llmc_hal_device *dev, llmc_hal_buffer *buf,
                       uint64_t offset, const void *src, uint64_t n);
} llmc_hal;

/* The CPU HAL: ELF shared-object payloads, run by a pool of pthreads. */
const llmc_hal *llmc_hal_cpu(void);
/* A CPU executable of kernels linked into the program: entries[i] (the
 * artifact's kernel i) looked up by name in `table`. */
struct llmc_kernel_table;
llmc_status llmc_hal_cpu_link(const char *model_name, const struct llmc_kernel_table *table,
                              const char *const *entries, uint32_t n,
                              llmc_hal_executable **out);
/* The OpenCL HAL: "opencl-c" payloads, built by the driver that
 * libOpenCL.so (loaded at first use) finds; NULL when the runtime was built
 * without it (LLMC_WITH_OPENCL=OFF). */
const llmc_hal *llmc_hal_opencl(void);

/* The Vulkan HAL: "spirv" payloads, run through the Vulkan loader
 * (libvulkan.so.1, loaded at first use); NULL when the runtime was built
 * without it (LLMC_WITH_VULKAN=OFF). */
const llmc_hal *llmc_hal_vulkan(void);

/* The Metal HAL: "msl" payloads, compiled by Metal at first open. On Apple
 * platforms runtime/hal/metal (Objective-C); elsewhere NULL unless a HAL was
 * installed with llmc_hal_install_metal, as llmc-msl-run installs the
 * MSL-on-CPU harness (targets/metal/msl-cpu) to run Metal artifacts here. */
const llmc_hal *llmc_hal_metal(void);
void llmc_hal_install_metal(const llmc_hal *hal);

/* Driver caches of the GPU HALs (llmc_hal_cache.c), best effort: FNV-1a for
 * keys, a whole file (NULL: none), a file written through rename. */
uint64_t llmc_hal_fnv1a(uint64_t h, const void *data, size_t n);
unsigned char *llmc_hal_read_file(const char *path, size_t *size);
void llmc_hal_write_file(const char *path, const void *data, size_t size);

/* Reports an error in the runtime's last-error text (runtime/src/error.c),
 * prefixed by llmc_fail_name when set (the artifact being opened); returns
 * st. */
#ifdef __cplusplus
extern thread_local const char *llmc_fail_name;
#else
extern _Thread_local const char *llmc_fail_name;
#endif
llmc_status llmc_hal_fail(llmc_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#if defined(LLMC_NO_ERROR_TEXT) && !defined(LLMC_ERROR_C)
/* The runtime without its messages (libllmc_runtime_nomsg.a): the 4 KB of
 * message text and the formatting at every failure go, llmc_last_error()
 * says the status of the last failure. The arguments are still checked
 * against the format but never evaluated (the constant condition). */
llmc_status llmc_hal_fail_status(llmc_status st);
#define llmc_hal_fail(st, ...) \
  (0 ? llmc_hal_fail(st, __VA_ARGS__) : llmc_hal_fail_status(st))
#endif

#ifdef __cplusplus
}
#endif

#endif /* LLMC_HAL_H */
