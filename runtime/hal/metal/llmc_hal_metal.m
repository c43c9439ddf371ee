/* The Metal HAL: runs "msl" payloads (targets/metal) on Apple GPUs.
 *
 * Compiled only on Apple platforms (runtime/CMakeLists.txt); it has never
 * been compiled or run by our CI, which has no Apple machine: the same
 * kernels run in CI on the MSL-on-CPU harness (targets/metal/msl-cpu), which
 * implements the same kernel ABI. See runtime/hal/metal/README.md.
 *
 *   load:     the artifact's MSL with newLibraryWithSource (fast math off:
 *             the kernels use IEEE infinities), one compute pipeline per
 *             kernel; with a cache directory, the pipelines go through a
 *             binary archive there, so later opens skip the GPU compiler
 *   buffers:  shared storage (unified memory), so the runtime reads the
 *             logits and writes the tokens in place; the mmap'd weights are
 *             wrapped without a copy (newBufferWithBytesNoCopy on the pages
 *             that hold them)
 *   dispatch: one serial compute encoder per call of the model: binding i
 *             at buffer index i with its offset, the scalars and the grid as
 *             int32 with setBytes after them, ceil(grid / T) threadgroups of
 *             the T threads the source declares; barrier commits and waits.
 *
 * Built with ARC (-fobjc-arc); objects kept in the C structs are retained
 * CF references (CFBridgingRetain, released with CFRelease or
 * CFBridgingRelease). */
#include "runtime/hal/llmc_hal.h"

#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OBJ(p) ((__bridge id)(p))

struct llmc_hal_executable {
  const void *device;    /* id<MTLDevice> */
  const void **pipelines; /* id<MTLComputePipelineState>, one per kernel */
  uint32_t num_pipelines;
  uint32_t threadgroup;
  char name[256];
};

struct llmc_hal_buffer {
  const void *buffer; /* id<MTLBuffer> */
  void *host;         /* its bytes (shared storage) */
  uint64_t size;
  uint64_t shift; /* bytes from the buffer's start to the caller's pointer */
};

struct llmc_hal_device {
  llmc_hal_executable *exe;
  const void *queue;   /* id<MTLCommandQueue> */
  const void *command; /* id<MTLCommandBuffer> of the call being recorded */
  const void *encoder; /* id<MTLComputeCommandEncoder> */
};

static void release(const void *p) {
  if (p) CFRelease(p);
}

/* The threadgroup size every kernel declares
 * ([[max_total_threads_per_threadgroup(N)]]); 0 if none or they differ. */
static uint32_t source_threadgroup(const char *src, size_t n) {
  static const char key[] = "max_total_threads_per_threadgroup(";
  const size_t k = sizeof key - 1;
  uint32_t size = 0;
  for (size_t i = 0; i + k < n; ++i) {
    if (memcmp(src + i, key, k)) continue;
    uint32_t v = (uint32_t)strtoul(src + i + k, NULL, 10);
    if (!v || (size && v != size)) return 0;
    size = v;
  }
  return size;
}

static void executable_free(llmc_hal_executable *exe) {
  if (!exe) return;
  for (uint32_t i = 0; i < exe->num_pipelines; ++i) release(exe->pipelines[i]);
  free(exe->pipelines);
  release(exe->device);
  free(exe);
}

static llmc_status executable_load(const char *name, const uint8_t *code, uint64_t size,
                                   const char *const *entries,
                                   const llmc_hal_kernel_sig *sigs, uint32_t num_entries,
                                   const char *cache_dir, llmc_hal_executable **out) {
  (void)sigs;
  @autoreleasepool {
    id<MTLDevice> device = MTLCreateSystemDefaultDevice();
    if (!device) return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "%s: no Metal device", name);
    uint32_t tg = source_threadgroup((const char *)code, (size_t)size);
    if (!tg || tg > 1024)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT,
                           "%s: the MSL's kernels do not declare one threadgroup size", name);
    NSString *src = [[NSString alloc] initWithBytes:code
                                             length:(NSUInteger)size
                                           encoding:NSUTF8StringEncoding];
    if (!src) return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: the MSL is not UTF-8", name);
    MTLCompileOptions *options = [MTLCompileOptions new];
    options.languageVersion = MTLLanguageVersion2_3;
    if (@available(macOS 15.0, iOS 18.0, *))
      options.mathMode = MTLMathModeSafe;
    else
      options.fastMathEnabled = NO;
    NSError *error = nil;
    id<MTLLibrary> library = [device newLibraryWithSource:src options:options error:&error];
    if (!library)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: Metal rejected the MSL: %s", name,
                           error.localizedDescription.UTF8String);

    /* Pipelines through a binary archive in the cache directory: compiled
     * by the GPU compiler once, then loaded. Best effort, as the other
     * HALs' caches. */
    id<MTLBinaryArchive> archive = nil;
    NSURL *archive_url = nil;
    if (cache_dir && *cache_dir) {
      char path[1024];
      snprintf(path, sizeof path, "%s/llmc-metal-%016llx.bin", cache_dir,
               (unsigned long long)llmc_hal_fnv1a(1469598103934665603ull, code, (size_t)size));
      archive_url = [NSURL fileURLWithPath:[NSString stringWithUTF8String:path]];
      MTLBinaryArchiveDescriptor *ad = [MTLBinaryArchiveDescriptor new];
      if (access(path, R_OK) == 0) ad.url = archive_url;
      archive = [device newBinaryArchiveWithDescriptor:ad error:nil];
    }

    llmc_hal_executable *exe = calloc(1, sizeof *exe);
    if (!exe) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
    exe->pipelines = calloc(num_entries ? num_entries : 1, sizeof *exe->pipelines);
    if (!exe->pipelines) {
      free(exe);
      return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
    }
    exe->device = CFBridgingRetain(device);
    exe->threadgroup = tg;
    snprintf(exe->name, sizeof exe->name, "Metal: %s", device.name.UTF8String);
    for (uint32_t i = 0; i < num_entries; ++i) {
      id<MTLFunction> fn = [library newFunctionWithName:@(entries[i])];
      if (!fn) {
        executable_free(exe);
        return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: the MSL has no kernel '%s'", name,
                             entries[i]);
      }
      MTLComputePipelineDescriptor *pd = [MTLComputePipelineDescriptor new];
      pd.computeFunction = fn;
      if (archive) {
        pd.binaryArchives = @[ archive ];
        [archive addComputePipelineFunctionsWithDescriptor:pd error:nil];
      }
      id<MTLComputePipelineState> p =
          [device newComputePipelineStateWithDescriptor:pd
                                                options:MTLPipelineOptionNone
                                             reflection:nil
                                                  error:&error];
      if (!p) {
        executable_free(exe);
        return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: kernel '%s': %s", name, entries[i],
                             error.localizedDescription.UTF8String);
      }
      /* A distributed kernel's row is one SIMD-group of T threads. */
      if (p.maxTotalThreadsPerThreadgroup < tg || p.threadExecutionWidth != tg) {
        unsigned long width = (unsigned long)p.threadExecutionWidth;
        unsigned long most = (unsigned long)p.maxTotalThreadsPerThreadgroup;
        executable_free(exe);
        return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                             "%s: kernel '%s' needs threadgroups of %u threads, one "
                             "SIMD-group; this GPU's SIMD-groups are %lu wide, at most %lu "
                             "threads",
                             name, entries[i], tg, width, most);
      }
      exe->pipelines[exe->num_pipelines++] = CFBridgingRetain(p);
    }
    if (archive && archive_url) [archive serializeToURL:archive_url error:nil];
    *out = exe;
    return LLMC_OK;
  }
}

static const char *executable_device(const llmc_hal_executable *exe) { return exe->name; }

static llmc_status device_create(llmc_hal_executable *exe, int32_t n_threads,
                                 llmc_hal_device **out) {
  (void)n_threads;
  @autoreleasepool {
    llmc_hal_device *d = calloc(1, sizeof *d);
    if (!d) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
    id<MTLCommandQueue> q = [OBJ(exe->device) newCommandQueue];
    if (!q) {
      free(d);
      return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "Metal: no command queue");
    }
    d->exe = exe;
    d->queue = CFBridgingRetain(q);
    *out = d;
    return LLMC_OK;
  }
}

static void device_free(llmc_hal_device *d) {
  if (!d) return;
  release(d->encoder);
  release(d->command);
  release(d->queue);
  free(d);
}

static int32_t device_threads(const llmc_hal_device *d) { return (int32_t)d->exe->threadgroup; }

static llmc_status buffer_alloc(llmc_hal_device *d, uint64_t size, llmc_hal_buffer **out) {
  @autoreleasepool {
    llmc_hal_buffer *b = calloc(1, sizeof *b);
    if (!b) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
    id<MTLBuffer> buf = [OBJ(d->exe->device) newBufferWithLength:(NSUInteger)(size ? size : 4)
                                                          options:MTLResourceStorageModeShared];
    if (!buf) {
      free(b);
      return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "Metal: no %llu-byte buffer",
                           (unsigned long long)size);
    }
    memset(buf.contents, 0, (size_t)size);
    b->buffer = CFBridgingRetain(buf);
    b->host = buf.contents;
    b->size = size;
    *out = b;
    return LLMC_OK;
  }
}

/* The weights: the whole pages holding them, wrapped without a copy (the
 * mmap maps whole pages, so the rounding stays inside the mapping). */
static llmc_status buffer_import(llmc_hal_device *d, const void *host, uint64_t size,
                                 llmc_hal_buffer **out) {
  @autoreleasepool {
    const uintptr_t page = (uintptr_t)getpagesize();
    uintptr_t start = (uintptr_t)host & ~(page - 1);
    uintptr_t end = ((uintptr_t)host + (uintptr_t)size + page - 1) & ~(page - 1);
    llmc_hal_buffer *b = calloc(1, sizeof *b);
    if (!b) return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory");
    id<MTLBuffer> buf = [OBJ(d->exe->device) newBufferWithBytesNoCopy:(void *)start
                                                               length:(NSUInteger)(end - start)
                                                              options:MTLResourceStorageModeShared
                                                          deallocator:nil];
    if (!buf) {
      free(b);
      return llmc_hal_fail(LLMC_ERR_UNSUPPORTED,
                           "Metal: cannot wrap the %llu bytes of weights without a copy",
                           (unsigned long long)size);
    }
    b->buffer = CFBridgingRetain(buf);
    b->host = (void *)host;
    b->size = size;
    b->shift = (uint64_t)((uintptr_t)host - start);
    *out = b;
    return LLMC_OK;
  }
}

static void buffer_free(llmc_hal_buffer *b) {
  if (!b) return;
  release(b->buffer);
  free(b);
}

static void *buffer_host(llmc_hal_buffer *b) { return b->host; }

static llmc_status dispatch(llmc_hal_device *d, llmc_hal_executable *exe,
                            const llmc_hal_dispatch *x) {
  @autoreleasepool {
    if (x->kernel >= exe->num_pipelines)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "dispatch of kernel %u, the MSL has %u",
                           x->kernel, exe->num_pipelines);
    if (x->grid < 0 || x->grid > INT32_MAX)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "grid %lld does not fit an int",
                           (long long)x->grid);
    /* The params slot: the scalars, then the grid, as int32. */
    int32_t params[LLMC_HAL_MAX_SCALARS + 1];
    for (uint32_t i = 0; i < x->num_scalars; ++i) {
      if (x->scalars[i] < INT32_MIN || x->scalars[i] > INT32_MAX)
        return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "scalar %lld does not fit an int",
                             (long long)x->scalars[i]);
      params[i] = (int32_t)x->scalars[i];
    }
    params[x->num_scalars] = (int32_t)x->grid;
    if (!d->command) {
      id<MTLCommandBuffer> cmd = [OBJ(d->queue) commandBuffer];
      id<MTLComputeCommandEncoder> enc = [cmd computeCommandEncoder]; /* serial */
      if (!cmd || !enc) return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "Metal: no command buffer");
      d->command = CFBridgingRetain(cmd);
      d->encoder = CFBridgingRetain(enc);
    }
    id<MTLComputeCommandEncoder> enc = OBJ(d->encoder);
    [enc setComputePipelineState:OBJ(exe->pipelines[x->kernel])];
    for (uint32_t i = 0; i < x->num_bindings; ++i) {
      llmc_hal_buffer *b = x->buffers[i];
      if (x->offsets[i] > b->size)
        return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "binding %u starts past its buffer", i);
      [enc setBuffer:OBJ(b->buffer) offset:(NSUInteger)(b->shift + x->offsets[i]) atIndex:i];
    }
    [enc setBytes:params length:sizeof(int32_t) * (x->num_scalars + 1) atIndex:x->num_bindings];
    NSUInteger groups = (NSUInteger)((x->grid + exe->threadgroup - 1) / exe->threadgroup);
    if (groups)
      [enc dispatchThreadgroups:MTLSizeMake(groups, 1, 1)
          threadsPerThreadgroup:MTLSizeMake(exe->threadgroup, 1, 1)];
    return LLMC_OK;
  }
}

static llmc_status barrier(llmc_hal_device *d) {
  @autoreleasepool {
    if (!d->command) return LLMC_OK;
    id<MTLCommandBuffer> cmd = CFBridgingRelease(d->command);
    id<MTLComputeCommandEncoder> enc = CFBridgingRelease(d->encoder);
    d->command = d->encoder = NULL;
    [enc endEncoding];
    [cmd commit];
    [cmd waitUntilCompleted];
    if (cmd.status == MTLCommandBufferStatusError)
      return llmc_hal_fail(LLMC_ERR_UNSUPPORTED, "Metal: the call failed: %s",
                           cmd.error.localizedDescription.UTF8String);
    return LLMC_OK;
  }
}

static llmc_status read_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                               void *dst, uint64_t n) {
  (void)d;
  memcpy(dst, (const char *)b->host + offset, (size_t)n);
  return LLMC_OK;
}

static llmc_status write_buffer(llmc_hal_device *d, llmc_hal_buffer *b, uint64_t offset,
                                const void *src, uint64_t n) {
  (void)d;
  memcpy((char *)b->host + offset, src, (size_t)n);
  return LLMC_OK;
}

static const llmc_hal k_metal_hal = {
    "metal",      executable_load, executable_free, executable_device, device_create,
    device_free,  device_threads,  buffer_alloc,    buffer_import,     buffer_free,
    buffer_host,  dispatch,        barrier,         read_buffer,       write_buffer,
};

const llmc_hal *llmc_hal_metal_native(void) { return &k_metal_hal; }
