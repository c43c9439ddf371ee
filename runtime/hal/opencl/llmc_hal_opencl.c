/* The OpenCL HAL: runs "opencl-c" payloads (targets/opencl) on the device an
 * OpenCL driver offers.
 *
 * No link-time dependency: libOpenCL.so is dlopen'ed at the first model that
 * needs it, so one runtime binary runs on phones with and without a GPU
 * driver (LLMC_ERR_UNSUPPORTED when there is none). The few OpenCL 1.2 types
 * and constants used are declared here, so building needs no OpenCL headers
 * (the values are fixed by the Khronos ABI).
 *
 * Model (executable): the platform and device, a cl_context, the program
 * built from the artifact's source (or loaded from the binary cache in the
 * directory the app named) and the kernel names. Context (device): an
 * in-order command queue and its own cl_kernel objects, so contexts set
 * kernel arguments without locks. The weights segment is wrapped with
 * CL_MEM_USE_HOST_PTR (no copy where the device shares memory with the
 * host); arena, KV cache, tokens and logits are device buffers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/hal/llmc_hal.h"

#ifdef LLMC_NO_OPENCL
const llmc_hal *llmc_hal_opencl(void) { return NULL; }
#else

/* ---- the slice of the OpenCL 1.2 API we use ----------------------------------- */

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef cl_ulong cl_bitfield;
typedef struct _cl_platform_id *cl_platform_id;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_context *cl_context;
typedef struct _cl_command_queue *cl_command_queue;
typedef struct _cl_mem *cl_mem;
typedef struct _cl_program *cl_program;
typedef struct _cl_kernel *cl_kernel;
typedef struct _cl_event *cl_event;
typedef intptr_t cl_context_properties;

#define CL_SUCCESS 0
#define CL_DEVICE_TYPE_CPU (1 << 1)
#define CL_DEVICE_TYPE_GPU (1 << 2)
#define CL_DEVICE_TYPE_ALL 0xFFFFFFFF
#define CL_DEVICE_TYPE 0x1000
#define CL_DEVICE_NAME 0x102B
#define CL_DEVICE_VERSION 0x102F
#define CL_DRIVER_VERSION 0x102D
#define CL_PLATFORM_NAME 0x0902
#define CL_MEM_READ_WRITE (1 << 0)
#define CL_MEM_READ_ONLY (1 << 2)
#define CL_MEM_USE_HOST_PTR (1 << 3)
#define CL_PROGRAM_BUILD_LOG 0x1183
#define CL_PROGRAM_BINARY_SIZES 0x1165
#define CL_PROGRAM_BINARIES 0x1166
#define CL_KERNEL_NUM_ARGS 0x1191
#define CL_KERNEL_COMPILE_WORK_GROUP_SIZE 0x11B1
#define CL_TRUE 1

#define CL_FUNCTIONS(X)                                                              \
  X(cl_int, clGetPlatformIDs, (cl_uint, cl_platform_id *, cl_uint *))                \
  X(cl_int, clGetPlatformInfo, (cl_platform_id, cl_uint, size_t, void *, size_t *))  \
  X(cl_int, clGetDeviceIDs, (cl_platform_id, cl_bitfield, cl_uint, cl_device_id *,   \
                             cl_uint *))                                             \
  X(cl_int, clGetDeviceInfo, (cl_device_id, cl_uint, size_t, void *, size_t *))      \
  X(cl_context, clCreateContext, (const cl_context_properties *, cl_uint,            \
                                  const cl_device_id *, void *, void *, cl_int *))   \
  X(cl_int, clReleaseContext, (cl_context))                                          \
  X(cl_command_queue, clCreateCommandQueue, (cl_context, cl_device_id, cl_bitfield,  \
                                             cl_int *))                              \
  X(cl_int, clReleaseCommandQueue, (cl_command_queue))                               \
  X(cl_mem, clCreateBuffer, (cl_context, cl_bitfield, size_t, void *, cl_int *))     \
  X(cl_int, clReleaseMemObject, (cl_mem))                                            \
  X(cl_program, clCreateProgramWithSource, (cl_context, cl_uint, const char **,      \
                                            const size_t *, cl_int *))               \
  X(cl_program, clCreateProgramWithBinary, (cl_context, cl_uint, const cl_device_id *, \
                                            const size_t *, const unsigned char **,  \
                                            cl_int *, cl_int *))                     \
  X(cl_int, clBuildProgram, (cl_program, cl_uint, const cl_device_id *, const char *, \
                             void *, void *))                                        \
  X(cl_int, clGetProgramBuildInfo, (cl_program, cl_device_id, cl_uint, size_t,       \
                                    void *, size_t *))                               \
  X(cl_int, clGetProgramInfo, (cl_program, cl_uint, size_t, void *, size_t *))       \
  X(cl_int, clReleaseProgram, (cl_program))                                          \
  X(cl_kernel, clCreateKernel, (cl_program, const char *, cl_int *))                 \
  X(cl_int, clReleaseKernel, (cl_kernel))                                            \
  X(cl_int, clGetKernelInfo, (cl_kernel, cl_uint, size_t, void *, size_t *))         \
  X(cl_int, clGetKernelWorkGroupInfo, (cl_kernel, cl_device_id, cl_uint, size_t,     \
                                       void *, size_t *))                            \
  X(cl_int, clSetKernelArg, (cl_kernel, cl_uint, size_t, const void *))              \
  X(cl_int, clEnqueueNDRangeKernel, (cl_command_queue, cl_kernel, cl_uint,           \
                                     const size_t *, const size_t *, const size_t *, \
                                     cl_uint, const cl_event *, cl_event *))         \
  X(cl_int, clEnqueueReadBuffer, (cl_command_queue, cl_mem, cl_uint, size_t, size_t, \
                                  void *, cl_uint, const cl_event *, cl_event *))    \
  X(cl_int, clEnqueueWriteBuffer, (cl_command_queue, cl_mem, cl_uint, size_t, size_t, \
                                   const void *, cl_uint, const cl_event *,          \
                                   cl_event *))                                      \
  X(cl_int, clFinish, (cl_command_queue))

static struct {
  int loaded;
  void *lib; /* RTLD_DEFAULT (NULL) when the process already had OpenCL */
#define X(ret, name, args) ret(*name) args;
  CL_FUNCTIONS(X)
#undef X
} cl;

/* Loads libOpenCL once (the ICD loader, or a vendor library on Android). */
static llmc_status load_opencl(const char *model) {
  if (cl.loaded) return LLMC_OK;
  static const char *const names[] = {"libOpenCL.so.1", "libOpenCL.so",
                                      "/vendor/lib64/libOpenCL.so",
                                      "/system/vendor/lib64/libOpenCL.so"};
  /* An OpenCL the process already has (linked by the app, or preloaded as
   * Oclgrind does) comes first: a second implementation beside it would
   * mix the two. */
  int found = dlsym(RTLD_DEFAULT, "clGetPlatformIDs") != NULL;
  cl.lib = RTLD_DEFAULT;
  for (size_t i = 0; i < sizeof names / sizeof *names && !found; ++i)
    found = (cl.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) != NULL;
  if (!found)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: needs OpenCL, and no libOpenCL.so could be loaded "
                         "(install an OpenCL driver, e.g. pocl-opencl-icd)",
                         model);
#define X(ret, name, args)                                                     \
  if (!(*(void **)&cl.name = dlsym(cl.lib, #name))) {                          \
    if (cl.lib != RTLD_DEFAULT) dlclose(cl.lib);                               \
    cl.lib = NULL;                                                             \
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: libOpenCL.so lacks " #name, \
                         model);                                               \
  }
  CL_FUNCTIONS(X)
#undef X
  cl.loaded = 1;
  return LLMC_OK;
}

/* ---- executables -------------------------------------------------------------- */

struct llmc_hal_executable {
  cl_device_id device;
  cl_context context;
  cl_program program;
  char device_desc[160];
  uint32_t num_kernels;
  char **entries;
  size_t *local_size; /* per kernel: its reqd_work_group_size (0: driver's) */
};

static void executable_free(llmc_hal_executable *exe) {
  if (!exe) return;
  if (exe->program) cl.clReleaseProgram(exe->program);
  if (exe->context) cl.clReleaseContext(exe->context);
  if (exe->entries)
    for (uint32_t i = 0; i < exe->num_kernels; ++i) free(exe->entries[i]);
  free(exe->entries);
  free(exe->local_size);
  free(exe);
}

static const char *executable_device(const llmc_hal_executable *exe) {
  return exe->device_desc;
}

/* The device LLMC_OPENCL_DEVICE names (an index over every platform's
 * devices in order, or a substring of the device name), else the first GPU,
 * else the first device of any kind (a CPU driver such as PoCL: for tests). */
static llmc_status pick_device(const char *model, cl_device_id *out, char *desc,
                               size_t desc_size) {
  cl_platform_id platforms[16];
  cl_uint np = 0;
  if (cl.clGetPlatformIDs(16, platforms, &np) != CL_SUCCESS || np == 0)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: no OpenCL platform", model);
  if (np > 16) np = 16;
  const char *want = getenv("LLMC_OPENCL_DEVICE");
  char *end = NULL;
  long want_index = want && *want ? strtol(want, &end, 10) : -1;
  int by_index = want && *want && end && *end == '\0';
  cl_device_id first = NULL, first_gpu = NULL, chosen = NULL;
  long index = 0;
  for (cl_uint p = 0; p < np && !chosen; ++p) {
    cl_device_id devices[16];
    cl_uint nd = 0;
    if (cl.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 16, devices, &nd) != CL_SUCCESS)
      continue;
    if (nd > 16) nd = 16;
    for (cl_uint d = 0; d < nd && !chosen; ++d, ++index) {
      char name[128] = "";
      cl_bitfield type = 0;
      cl.clGetDeviceInfo(devices[d], CL_DEVICE_NAME, sizeof name - 1, name, NULL);
      cl.clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
      if (!first) first = devices[d];
      if (!first_gpu && (type & CL_DEVICE_TYPE_GPU)) first_gpu = devices[d];
      if (want && *want && (by_index ? index == want_index : strstr(name, want) != NULL))
        chosen = devices[d];
    }
  }
  if (want && *want && !chosen)
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                         "%s: LLMC_OPENCL_DEVICE=%s matches none of the %ld OpenCL "
                         "devices", model, want, index);
  if (!chosen) chosen = first_gpu ? first_gpu : first;
  if (!chosen) return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: no OpenCL device", model);
  char name[128] = "";
  cl_bitfield type = 0;
  cl.clGetDeviceInfo(chosen, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
  cl.clGetDeviceInfo(chosen, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  snprintf(desc, desc_size, "OpenCL %s: %s", (type & CL_DEVICE_TYPE_GPU) ? "GPU"
                                             : (type & CL_DEVICE_TYPE_CPU) ? "CPU"
                                                                           : "device",
           name);
  *out = chosen;
  return LLMC_OK;
}

/* FNV-1a over the source and what the binary depends on (device, driver). */
static void cache_path(const char *dir, cl_device_id dev, const uint8_t *code, uint64_t size,
                       char *out, size_t out_size) {
  char info[512] = "";
  size_t used = 0;
  const cl_uint keys[] = {CL_DEVICE_NAME, CL_DEVICE_VERSION, CL_DRIVER_VERSION};
  for (size_t i = 0; i < 3; ++i) {
    size_t n = 0;
    if (cl.clGetDeviceInfo(dev, keys[i], sizeof info - used - 1, info + used, &n) == CL_SUCCESS &&
        n <= sizeof info - used - 1)
      used += n;
  }
  uint64_t h = llmc_hal_fnv1a(0xcbf29ce484222325ull, info, used);
  h = llmc_hal_fnv1a(h, code, (size_t)size);
  snprintf(out, out_size, "%s/llmc-opencl-%016llx.bin", dir, (unsigned long long)h);
}

/* Writes the built program's binary (best effort: a cache, not state). */
static void write_cache(const char *path, cl_program program) {
  size_t size = 0;
  if (cl.clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
          CL_SUCCESS ||
      size == 0)
    return;
  unsigned char *bin = malloc(size);
  if (!bin) return;
  if (cl.clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) ==
      CL_SUCCESS)
    llmc_hal_write_file(path, bin, size);
  free(bin);
}

static llmc_status build_failed(const char *model, llmc_hal_executable *exe, cl_int err) {
  char log[2048] = "";
  size_t n = 0;
  cl.clGetProgramBuildInfo(exe->program, exe->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1,
                           log, &n);
  log[n < sizeof log ? n : sizeof log - 1] = '\0';
  return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD,
                       "%s: the OpenCL driver could not build the kernels (error %d):\n%s",
                       model, (int)err, log);
}

static llmc_status executable_load(const char *model, const uint8_t *code, uint64_t size,
                                   const char *const *entries, const llmc_hal_kernel_sig *sigs,
                                   uint32_t n, const char *cache_dir,
                                   llmc_hal_executable **out) {
  *out = NULL;
  llmc_status st = load_opencl(model);
  if (st) return st;
  llmc_hal_executable *exe = calloc(1, sizeof *exe);
  if (!exe) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
  st = pick_device(model, &exe->device, exe->device_desc, sizeof exe->device_desc);
  if (st) {
    free(exe);
    return st;
  }
  cl_int err = 0;
  exe->context = cl.clCreateContext(NULL, 1, &exe->device, NULL, NULL, &err);
  if (!exe->context) {
    free(exe);
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: clCreateContext failed (%d) on %s",
                         model, (int)err, exe->device_desc);
  }
  char path[4096] = "";
  int cached = 0;
  if (cache_dir && *cache_dir) {
    cache_path(cache_dir, exe->device, code, size, path, sizeof path);
    size_t bin_size = 0;
    unsigned char *bin = llmc_hal_read_file(path, &bin_size);
    if (bin) {
      const unsigned char *bins[1] = {bin};
      cl_int status = 0;
      exe->program = cl.clCreateProgramWithBinary(exe->context, 1, &exe->device, &bin_size,
                                                  bins, &status, &err);
      free(bin);
      if (exe->program &&
          cl.clBuildProgram(exe->program, 1, &exe->device, "", NULL, NULL) == CL_SUCCESS) {
        cached = 1;
      } else if (exe->program) {
        /* A stale or foreign binary: rebuild from source and replace it. */
        cl.clReleaseProgram(exe->program);
        exe->program = NULL;
      }
    }
  }
  if (!exe->program) {
    const char *src = (const char *)code;
    size_t len = (size_t)size;
    exe->program = cl.clCreateProgramWithSource(exe->context, 1, &src, &len, &err);
    if (!exe->program) {
      executable_free(exe);
      return llmc_hal_fail(LLMC_ERR_PAYLOAD_LOAD, "%s: clCreateProgramWithSource failed (%d)",
                           model, (int)err);
    }
    err = cl.clBuildProgram(exe->program, 1, &exe->device, "-cl-std=CL1.2", NULL, NULL);
    if (err != CL_SUCCESS) {
      st = build_failed(model, exe, err);
      executable_free(exe);
      return st;
    }
  }
  if (path[0] && !cached) write_cache(path, exe->program);

  /* Every kernel the schedule names must exist with the signature the
   * artifact's kernel table records: 2 arguments per binding (buffer, byte
   * offset), one per scalar, and the grid. */
  exe->num_kernels = n;
  exe->entries = calloc(n, sizeof *exe->entries);
  exe->local_size = calloc(n, sizeof *exe->local_size);
  if (!exe->entries || !exe->local_size) {
    executable_free(exe);
    return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
  }
  for (uint32_t i = 0; i < n; ++i) {
    cl_kernel k = cl.clCreateKernel(exe->program, entries[i], &err);
    if (!k) {
      executable_free(exe);
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: the OpenCL program has no kernel '%s'",
                           model, entries[i]);
    }
    cl_uint args = 0;
    size_t wg[3] = {0, 0, 0};
    cl.clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof args, &args, NULL);
    cl.clGetKernelWorkGroupInfo(k, exe->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof wg,
                                wg, NULL);
    cl.clReleaseKernel(k);
    /* The ABI of OpenCLEmitter.h: (buffer, byte offset) per binding, the
     * scalars, the grid. */
    const cl_uint want = 2 * sigs[i].num_bindings + sigs[i].num_scalars + 1;
    if (args != want) {
      executable_free(exe);
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT,
                           "%s: kernel '%s' takes %u arguments, the artifact's kernel "
                           "table says %u", model, entries[i], (unsigned)args,
                           (unsigned)want);
    }
    exe->local_size[i] = wg[0];
    exe->entries[i] = strdup(entries[i]);
    if (!exe->entries[i]) {
      executable_free(exe);
      return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "%s: out of memory", model);
    }
  }
  *out = exe;
  return LLMC_OK;
}

/* ---- devices (one per context) ------------------------------------------------ */

struct llmc_hal_device {
  llmc_hal_executable *exe;
  cl_command_queue queue;
  cl_kernel kernels[];
};

struct llmc_hal_buffer {
  cl_mem mem;
};

static void device_free(llmc_hal_device *d) {
  if (!d) return;
  for (uint32_t i = 0; i < d->exe->num_kernels; ++i)
    if (d->kernels[i]) cl.clReleaseKernel(d->kernels[i]);
  if (d->queue) cl.clReleaseCommandQueue(d->queue);
  free(d);
}

static llmc_status device_create(llmc_hal_executable *exe, int32_t n_threads,
                                 llmc_hal_device **out) {
  (void)n_threads; /* the driver schedules the device */
  *out = NULL;
  llmc_hal_device *d = calloc(1, sizeof *d + exe->num_kernels * sizeof(cl_kernel));
  if (!d) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a device");
  d->exe = exe;
  cl_int err = 0;
  d->queue = cl.clCreateCommandQueue(exe->context, exe->device, 0, &err);
  if (!d->queue) {
    free(d);
    return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "clCreateCommandQueue failed (%d)", (int)err);
  }
  for (uint32_t i = 0; i < exe->num_kernels; ++i) {
    d->kernels[i] = cl.clCreateKernel(exe->program, exe->entries[i], &err);
    if (!d->kernels[i]) {
      device_free(d);
      return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "clCreateKernel(%s) failed (%d)",
                           exe->entries[i], (int)err);
    }
  }
  *out = d;
  return LLMC_OK;
}

static int32_t device_threads(const llmc_hal_device *d) {
  (void)d;
  return 1; /* one queue; the device's parallelism is the driver's */
}

/* ---- buffers ------------------------------------------------------------------- */

static llmc_status make_buffer(llmc_hal_device *dev, cl_bitfield flags, void *host,
                               uint64_t size, llmc_hal_buffer **out) {
  *out = NULL;
  if (size > SIZE_MAX / 2) return LLMC_ERR_OUT_OF_MEMORY;
  llmc_hal_buffer *b = malloc(sizeof *b);
  if (!b) return LLMC_ERR_OUT_OF_MEMORY;
  cl_int err = 0;
  /* OpenCL refuses empty buffers; a 64-byte one stands for "nothing". */
  b->mem = cl.clCreateBuffer(dev->exe->context, flags, size ? (size_t)size : 64,
                             size ? host : NULL, &err);
  if (!b->mem) {
    free(b);
    return LLMC_ERR_OUT_OF_MEMORY;
  }
  *out = b;
  return LLMC_OK;
}

static llmc_status buffer_alloc(llmc_hal_device *dev, uint64_t size, llmc_hal_buffer **out) {
  return make_buffer(dev, CL_MEM_READ_WRITE, NULL, size, out);
}

static llmc_status buffer_import(llmc_hal_device *dev, const void *host, uint64_t size,
                                 llmc_hal_buffer **out) {
  void *p;
  memcpy(&p, &host, sizeof p); /* read-only: the kernels never write weights */
  return make_buffer(dev, CL_MEM_READ_ONLY | (size ? CL_MEM_USE_HOST_PTR : 0), p, size,
                     out);
}

static void buffer_free(llmc_hal_buffer *b) {
  if (!b) return;
  cl.clReleaseMemObject(b->mem);
  free(b);
}

static void *buffer_host(llmc_hal_buffer *b) {
  (void)b;
  return NULL; /* tokens and logits travel by write / read */
}

/* ---- running ------------------------------------------------------------------ */

static llmc_status dispatch(llmc_hal_device *d, llmc_hal_executable *exe,
                            const llmc_hal_dispatch *x) {
  if (x->grid <= 0) return LLMC_OK;
  cl_kernel k = d->kernels[x->kernel];
  cl_uint arg = 0;
  cl_int err = CL_SUCCESS;
  for (uint32_t i = 0; i < x->num_bindings && err == CL_SUCCESS; ++i) {
    cl_ulong off = x->offsets[i];
    err = cl.clSetKernelArg(k, arg++, sizeof(cl_mem), &x->buffers[i]->mem);
    if (err == CL_SUCCESS) err = cl.clSetKernelArg(k, arg++, sizeof off, &off);
  }
  for (uint32_t i = 0; i < x->num_scalars && err == CL_SUCCESS; ++i)
    err = cl.clSetKernelArg(k, arg++, sizeof(int64_t), &x->scalars[i]);
  if (err == CL_SUCCESS) err = cl.clSetKernelArg(k, arg++, sizeof(int64_t), &x->grid);
  if (err != CL_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_INVALID_STATE, "clSetKernelArg(%s, %u) failed (%d)",
                         exe->entries[x->kernel], (unsigned)arg - 1, (int)err);
  /* One work-item per iteration, the grid rounded up to whole workgroups
   * (the kernels return past the grid). */
  size_t local = exe->local_size[x->kernel];
  size_t global = (size_t)x->grid;
  if (local) global = (global + local - 1) / local * local;
  err = cl.clEnqueueNDRangeKernel(d->queue, k, 1, NULL, &global, local ? &local : NULL, 0,
                                  NULL, NULL);
  if (err != CL_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_INVALID_STATE, "launching %s over %lld failed (%d)",
                         exe->entries[x->kernel], (long long)x->grid, (int)err);
  return LLMC_OK;
}

static llmc_status barrier(llmc_hal_device *d) {
  cl_int err = cl.clFinish(d->queue);
  if (err != CL_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_INVALID_STATE, "the OpenCL queue failed (%d)", (int)err);
  return LLMC_OK;
}

static llmc_status read_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                               void *dst, uint64_t n) {
  cl_int err = cl.clEnqueueReadBuffer(d->queue, b->mem, CL_TRUE, (size_t)offset, (size_t)n,
                                      dst, 0, NULL, NULL);
  if (err != CL_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_INVALID_STATE, "reading %llu bytes back failed (%d)",
                         (unsigned long long)n, (int)err);
  return LLMC_OK;
}

static llmc_status write_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                                const void *src, uint64_t n) {
  if (n == 0) return LLMC_OK;
  cl_int err = cl.clEnqueueWriteBuffer(d->queue, b->mem, CL_TRUE, (size_t)offset, (size_t)n,
                                       src, 0, NULL, NULL);
  if (err != CL_SUCCESS)
    return llmc_hal_fail(LLMC_ERR_INVALID_STATE, "writing %llu bytes failed (%d)",
                         (unsigned long long)n, (int)err);
  return LLMC_OK;
}

static const llmc_hal k_opencl_hal = {
    "opencl",      executable_load, executable_free, executable_device,
    device_create, device_free,     device_threads,  buffer_alloc,
    buffer_import, buffer_free,     buffer_host,     dispatch,
    barrier,       read_buffer,     write_buffer,
};

const llmc_hal *llmc_hal_opencl(void) { return &k_opencl_hal; }

#endif /* LLMC_NO_OPENCL */
