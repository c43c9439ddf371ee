/* The CPU HAL: executables are ELF shared objects loaded from memory
 * (memfd + dlopen, never a temporary file); a device is a pool of pthreads
 * that cuts each dispatch's grid into a few contiguous chunks per thread,
 * which the threads take in turn.
 *
 * Workers spin for a short while after a dispatch (the next one usually
 * follows within microseconds) and then sleep on a condition variable, so
 * an idle context costs no CPU. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runtime/hal/llmc_hal.h"

#include <dlfcn.h>
#if defined(__ANDROID__)
#include <android/dlext.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "runtime/include/llmc_kernel_abi.h"

#define MAX_THREADS 256
/* Spin iterations before a worker sleeps: ~100 us on a current core. */
#define SPIN_LIMIT 20000
/* Chunks a dispatch's grid is cut into, per thread: 4 keeps each chunk of
 * a 1B model's smallest matrix-vector product (2048 rows) at 256 rows, and
 * decode measured about 5% faster than with one fixed share per thread
 * (docs/benchmarks.md). */
#define CHUNKS_PER_THREAD 4

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- executables ------------------------------------------------------------ */

struct llmc_hal_executable {
  void *dl;
  uint32_t num_kernels;
  llmc_kernel_fn kernels[];
};

static void executable_free(llmc_hal_executable *exe) {
  if (!exe) return;
  if (exe->dl) dlclose(exe->dl);
  free(exe);
}

static llmc_status executable_load(const char *name, const uint8_t *code, uint64_t size,
                                   const char *const *entries, const llmc_hal_kernel_sig *sigs,
                                   uint32_t n, const char *cache_dir,
                                   llmc_hal_executable **out) {
  (void)sigs; /* an ELF symbol has no signature to check */
  (void)cache_dir;
  *out = NULL;
#if defined(__linux__) && defined(SYS_memfd_create)
  llmc_hal_executable *exe = calloc(1, sizeof *exe + n * sizeof(llmc_kernel_fn));
  if (!exe) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  exe->num_kernels = n;
  int fd = (int)syscall(SYS_memfd_create, "llmc-payload", 1u /* MFD_CLOEXEC */);
  if (fd < 0) {
    free(exe);
    return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD,
                         "%s: memfd_create failed (%s); llmc loads native code only "
                         "from memory and never writes temporary files",
                         name, strerror(errno));
  }
  const uint8_t *d = code;
  uint64_t left = size;
  while (left) {
    ssize_t w = write(fd, d, left > (1u << 30) ? (1u << 30) : (size_t)left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      free(exe);
      return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD,
                           "%s: writing the payload to a memfd failed (%s)", name,
                           strerror(e));
    }
    d += w;
    left -= (uint64_t)w;
  }
  /* glibc's dlopen first matches the *name* against loaded objects: a payload
   * loaded earlier through the same /proc/self/fd/N (still open, or kept by
   * DF_1_NODELETE) would be returned instead of ours. Move to another fd
   * number until the name is unused. */
  int fds[32], nfds = 0;
  char path[40];
  fds[nfds++] = fd;
  for (;;) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *old = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (!old) break;
    dlclose(old);
    fd = nfds < 32 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) {
      while (nfds) close(fds[--nfds]);
      free(exe);
      return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD,
                           "%s: no unused /proc/self/fd name for the payload", name);
    }
    fds[nfds++] = fd;
  }
#if defined(__ANDROID__)
  /* An app's linker namespace refuses paths outside its own (a memfd's is
   * "/memfd:..."); handing the linker the fd itself is bionic's way, and
   * FORCE_LOAD keeps it from matching an earlier payload. Not compiled on
   * the machines llmc is developed on (no NDK there): runtime/README.md. */
  android_dlextinfo ext;
  memset(&ext, 0, sizeof ext);
  ext.flags = ANDROID_DLEXT_USE_LIBRARY_FD | ANDROID_DLEXT_FORCE_LOAD;
  ext.library_fd = fd;
  exe->dl = android_dlopen_ext(path, RTLD_NOW | RTLD_LOCAL, &ext);
#else
  exe->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
#endif
  while (nfds) close(fds[--nfds]);
  if (!exe->dl) {
    const char *e = dlerror();
    free(exe);
    return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD, "%s: dlopen of the payload failed: %s",
                         name, e ? e : "unknown error");
  }
  for (uint32_t i = 0; i < n; ++i) {
    void *sym = dlsym(exe->dl, entries[i]);
    if (!sym) {
      executable_free(exe);
      return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD,
                           "%s: payload does not export kernel entry '%s'", name,
                           entries[i]);
    }
    /* POSIX guarantees data and function pointers convert (dlsym). */
    memcpy(&exe->kernels[i], &sym, sizeof sym);
  }
  *out = exe;
  return LLMC_OK;
#else
  (void)code;
  (void)size;
  (void)entries;
  (void)n;
  return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                       "%s: loading native code from memory needs memfd_create "
                       "(Linux/Android); on iOS link the static library from "
                       "`llmc build --emit static-lib`",
                       name);
#endif
}

llmc_status llmc_hal_cpu_link(const char *name, const llmc_kernel_table *table,
                              const char *const *entries, uint32_t n,
                              llmc_hal_executable **out) {
  llmc_hal_executable *exe = calloc(1, sizeof *exe + n * sizeof(llmc_kernel_fn));
  if (!(*out = exe)) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  exe->num_kernels = n;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < table->num_kernels && !exe->kernels[i]; ++k)
      if (!strcmp(table->names[k], entries[i])) exe->kernels[i] = table->kernels[k];
    if (!exe->kernels[i]) {
      free(exe);
      *out = NULL;
      return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD, "%s: the linked code has no kernel '%s'",
                           name, entries[i]);
    }
  }
  return LLMC_OK;
}

/* ---- buffers ----------------------------------------------------------------- */

struct llmc_hal_buffer {
  uint8_t *data;
  int owned;
  size_t mapped; /* bytes of an anonymous mapping, 0 if malloc'd */
};

/* Buffers from this size up are mapped, not allocated: the OS commits a
 * page when it is first written. The KV cache is position-major within each
 * layer, so a context compiled for 8192 positions that holds 100 uses
 * memory for about 100. */
#define LAZY_BYTES ((uint64_t)1 << 20)

static llmc_status buffer_alloc(llmc_hal_device *dev, uint64_t size, llmc_hal_buffer **out) {
  (void)dev;
  *out = NULL;
  void *p = NULL;
  size_t mapped = 0;
  if (size > SIZE_MAX / 2) return LLMC_ERR_OUT_OF_MEMORY;
  size = (size + 63) & ~(uint64_t)63;
  if (size >= LAZY_BYTES) {
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return LLMC_ERR_OUT_OF_MEMORY;
    mapped = (size_t)size;
  } else if (posix_memalign(&p, 64, size ? (size_t)size : 64)) {
    return LLMC_ERR_OUT_OF_MEMORY;
  }
  llmc_hal_buffer *b = malloc(sizeof *b);
  if (!b) {
    if (mapped) munmap(p, mapped);
    else free(p);
    return LLMC_ERR_OUT_OF_MEMORY;
  }
  b->data = p;
  b->owned = 1;
  b->mapped = mapped;
  *out = b;
  return LLMC_OK;
}

static llmc_status buffer_import(llmc_hal_device *dev, const void *host, uint64_t size,
                                 llmc_hal_buffer **out) {
  (void)dev;
  (void)size;
  llmc_hal_buffer *b = malloc(sizeof *b);
  if (!(*out = b)) return LLMC_ERR_OUT_OF_MEMORY;
  /* Kernels never write the weights; the cast only fits the one ABI. */
  memcpy(&b->data, &host, sizeof host);
  b->owned = 0;
  b->mapped = 0;
  return LLMC_OK;
}

static void buffer_free(llmc_hal_buffer *b) {
  if (!b) return;
  if (b->owned && b->mapped) munmap(b->data, b->mapped);
  else if (b->owned) free(b->data);
  free(b);
}

static void *buffer_host(llmc_hal_buffer *b) { return b->data; }

/* ---- the thread pool --------------------------------------------------------- */

struct llmc_hal_device {
  int32_t n;                  /* threads, the caller's included */
  pthread_t threads[MAX_THREADS];
  int32_t started;            /* workers created */
  /* The current job, published by `generation`. */
  llmc_kernel_fn fn;
  void *bindings[LLMC_HAL_MAX_BINDINGS];
  int64_t scalars[LLMC_HAL_MAX_SCALARS];
  int64_t grid;
  int64_t chunks;             /* the grid's split: threads take chunks in turn */
  _Atomic int64_t next;       /* the next chunk to take */
  _Atomic uint64_t generation;
  _Atomic int32_t remaining;  /* workers still running the job */
  _Atomic int32_t sleepers;
  _Atomic int32_t stop;
  pthread_mutex_t mu;
  pthread_cond_t wake;
};

/* Threads take the grid's chunks in turn rather than one fixed share each:
 * a worker that wakes late or a core the VM slows takes fewer, instead of
 * holding every other thread at the end of the dispatch. */
static void run_chunks(llmc_hal_device *d) {
  const int64_t grid = d->grid, chunks = d->chunks;
  for (int64_t c; (c = atomic_fetch_add_explicit(&d->next, 1, memory_order_relaxed)) < chunks;)
    d->fn(d->bindings, d->scalars, grid * c / chunks, grid * (c + 1) / chunks);
}

static void *worker_main(void *p) {
  llmc_hal_device *d = p;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g;
    int spins = 0;
    while ((g = atomic_load(&d->generation)) == seen && !atomic_load(&d->stop)) {
      if (++spins < SPIN_LIMIT) {
        cpu_relax();
        continue;
      }
      pthread_mutex_lock(&d->mu);
      atomic_fetch_add(&d->sleepers, 1);
      while (atomic_load(&d->generation) == seen && !atomic_load(&d->stop))
        pthread_cond_wait(&d->wake, &d->mu);
      atomic_fetch_sub(&d->sleepers, 1);
      pthread_mutex_unlock(&d->mu);
      spins = 0;
    }
    if (atomic_load(&d->stop)) return NULL;
    seen = g;
    run_chunks(d);
    atomic_fetch_sub(&d->remaining, 1);
  }
}

static void device_free(llmc_hal_device *d) {
  if (!d) return;
  pthread_mutex_lock(&d->mu);
  atomic_store(&d->stop, 1);
  pthread_cond_broadcast(&d->wake);
  pthread_mutex_unlock(&d->mu);
  for (int32_t i = 0; i < d->started; ++i) pthread_join(d->threads[i], NULL);
  pthread_cond_destroy(&d->wake);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

static llmc_status device_create(llmc_hal_executable *exe, int32_t n_threads,
                                 llmc_hal_device **out) {
  (void)exe;
  *out = NULL;
  if (n_threads < 0 || n_threads > MAX_THREADS)
    return llmc_hal_fail(LLMC_ERR_INVALID_ARGUMENT, "n_threads %d outside [0, %d]",
                         (int)n_threads, MAX_THREADS);
  if (n_threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (int32_t)cores;
  }
  llmc_hal_device *d = calloc(1, sizeof *d);
  if (!d) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a device");
  d->n = n_threads;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->wake, NULL);
  for (int32_t i = 1; i < n_threads; ++i) {
    if (pthread_create(&d->threads[d->started], NULL, worker_main, d) != 0) {
      device_free(d);
      return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "cannot start thread %d of %d",
                           (int)i, (int)n_threads);
    }
    d->started++;
  }
  *out = d;
  return LLMC_OK;
}

static int32_t device_threads(const llmc_hal_device *d) { return d->n; }

/* Runs the dispatch to completion, the calling thread taking chunks too. */
static llmc_status dispatch(llmc_hal_device *d, llmc_hal_executable *exe,
                            const llmc_hal_dispatch *x) {
  d->fn = exe->kernels[x->kernel];
  for (uint32_t i = 0; i < x->num_bindings; ++i)
    d->bindings[i] = x->buffers[i]->data + x->offsets[i];
  for (uint32_t i = 0; i < x->num_scalars; ++i) d->scalars[i] = x->scalars[i];
  d->grid = x->grid;
  if (d->n == 1 || x->grid <= 1) {
    if (x->grid > 0) d->fn(d->bindings, d->scalars, 0, x->grid);
    return LLMC_OK;
  }
  const int64_t chunks = (int64_t)d->n * CHUNKS_PER_THREAD;
  d->chunks = x->grid < chunks ? x->grid : chunks;
  atomic_store_explicit(&d->next, 0, memory_order_relaxed);
  atomic_store(&d->remaining, d->n - 1);
  atomic_fetch_add(&d->generation, 1);
  if (atomic_load(&d->sleepers)) {
    pthread_mutex_lock(&d->mu);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->mu);
  }
  run_chunks(d);
  while (atomic_load(&d->remaining)) cpu_relax();
  return LLMC_OK;
}

static llmc_status barrier(llmc_hal_device *d) {
  (void)d; /* dispatch returns when the work is done */
  return LLMC_OK;
}

static llmc_status read_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                               void *dst, uint64_t n) {
  (void)d;
  memcpy(dst, b->data + offset, (size_t)n);
  return LLMC_OK;
}

static llmc_status write_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                                const void *src, uint64_t n) {
  (void)d;
  memcpy(b->data + offset, src, (size_t)n);
  return LLMC_OK;
}

static const char *executable_device(const llmc_hal_executable *exe) {
  (void)exe;
  return "cpu";
}

static const llmc_hal k_cpu_hal = {
    "cpu",         executable_load, executable_free, executable_device,
    device_create, device_free,     device_threads,  buffer_alloc,
    buffer_import, buffer_free,     buffer_host,     dispatch,
    barrier,       read_buffer,     write_buffer,
};

const llmc_hal *llmc_hal_cpu(void) { return &k_cpu_hal; }
