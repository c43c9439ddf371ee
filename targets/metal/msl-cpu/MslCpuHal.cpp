//===- MslCpuHal.cpp - the MSL-on-CPU harness as a runtime HAL -------------===//
//
// There is no Metal on Linux, so this runs an "msl" payload the way a GPU
// would, on the CPU: the source is compiled as C++20 against our
// metal_stdlib (this directory) with clang++, plus a trampoline per entry,
// into a shared object; a dispatch runs every threadgroup of its grid on
// real threads, one per thread of a threadgroup, whose SIMD-groups meet in
// barriers for simd_sum. It plugs into the runtime as its Metal HAL
// (llmc_hal_install_metal), so llmc-msl-run is `llmc run` on top of it and
// walks the artifact's schedule exactly as the Metal HAL would.
//
// What it checks: that the MSL compiles against Metal's semantics as the
// header models them, and computes the right numbers with one thread per
// GPU thread. What it does not: Metal's compiler, its fast-math defaults,
// performance. Test tool only: C++ with the standard library, which the
// shipped runtime never uses.
//
//===----------------------------------------------------------------------===//

#define LLMC_MSL_NO_KEYWORDS
#include "metal_stdlib"

#include "runtime/hal/llmc_hal.h"
#include "targets/metal/msl-cpu/MslCpuHal.h"

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#ifndef LLMC_MSL_CXX
#define LLMC_MSL_CXX "clang++-19"
#endif
#ifndef LLMC_MSL_INCLUDE
#define LLMC_MSL_INCLUDE "."
#endif

namespace {

using Entry = void (*)(void *const *bindings, const int *params, unsigned gid,
                       llmc_msl::SimdGroup *group, int lane);

std::string readFile(const std::string &path) {
  size_t n = 0;
  unsigned char *data = llmc_hal_read_file(path.c_str(), &n);
  std::string s(data ? reinterpret_cast<char *>(data) : "", data ? n : 0);
  std::free(data);
  return s;
}

bool writeFile(const std::string &path, const std::string &text) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

/// The threadgroup size every kernel of the source declares
/// ([[max_total_threads_per_threadgroup(N)]]); 0 if none or they differ.
int threadgroupSize(const std::string &src) {
  const std::string key = "max_total_threads_per_threadgroup(";
  int size = 0;
  for (size_t at = src.find(key); at != std::string::npos; at = src.find(key, at + 1)) {
    int n = std::atoi(src.c_str() + at + key.size());
    if (n <= 0 || (size && n != size))
      return 0;
    size = n;
  }
  return size;
}

} // namespace

struct llmc_hal_executable {
  void *library = nullptr;
  std::vector<Entry> entries;
  int threadgroup = 0;
  std::string device;
  ~llmc_hal_executable() {
    if (library)
      dlclose(library);
  }
};

struct llmc_hal_buffer {
  unsigned char *data = nullptr;
  uint64_t size = 0;
  bool owned = false;
  ~llmc_hal_buffer() {
    if (owned)
      std::free(data);
  }
};

/// One threadgroup's worth of threads, run for every threadgroup of a
/// dispatch in turn; they synchronize only inside simd_sum and at the
/// start and end of a dispatch.
struct llmc_hal_device {
  explicit llmc_hal_device(int threads)
      : threads(threads), start(threads + 1), done(threads + 1) {
    int width = std::min(threads, llmc_msl::SimdGroup::kMaxWidth);
    for (int g = 0; g < (threads + width - 1) / width; ++g)
      groups.push_back(std::make_unique<llmc_msl::SimdGroup>(
          std::min(width, threads - g * width)));
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([this, t] { work(t); });
  }
  ~llmc_hal_device() {
    quit = true;
    start.arrive_and_wait();
    for (std::thread &t : pool)
      t.join();
  }
  void work(int t) {
    const int width = llmc_msl::SimdGroup::kMaxWidth;
    for (;;) {
      start.arrive_and_wait();
      if (quit)
        return;
      for (int64_t g = 0; g < numGroups; ++g)
        entry(bindings, params.data(), unsigned(g * threads + t), groups[t / width].get(),
              t % width);
      done.arrive_and_wait();
    }
  }

  int threads;
  std::vector<std::unique_ptr<llmc_msl::SimdGroup>> groups;
  std::barrier<> start, done;
  std::vector<std::thread> pool;
  bool quit = false;
  // The dispatch being run.
  Entry entry = nullptr;
  void *bindings[LLMC_HAL_MAX_BINDINGS] = {};
  std::vector<int> params;
  int64_t numGroups = 0;
};

namespace {

llmc_status executableLoad(const char *name, const uint8_t *code, uint64_t size,
                           const char *const *entries, const llmc_hal_kernel_sig *sigs,
                           uint32_t numEntries, const char *cacheDir,
                           llmc_hal_executable **out) {
  (void)sigs;
  std::string src(reinterpret_cast<const char *>(code), size_t(size));
  auto exe = std::make_unique<llmc_hal_executable>();
  exe->threadgroup = threadgroupSize(src);
  if (exe->threadgroup < 1 || exe->threadgroup > 1024 ||
      (exe->threadgroup > llmc_msl::SimdGroup::kMaxWidth &&
       exe->threadgroup % llmc_msl::SimdGroup::kMaxWidth))
    return llmc_hal_fail(LLMC_ERR_BAD_FORMAT,
                         "%s: the MSL's kernels do not declare one usable "
                         "[[max_total_threads_per_threadgroup(N)]]",
                         name);

  // The translation unit: the MSL as it is, then a C trampoline per entry.
  std::string unit = "#include \"kernels.metal\"\n";
  for (uint32_t i = 0; i < numEntries; ++i)
    unit += std::string("extern \"C\" void llmc_msl_call_") + entries[i] +
            "(void *const *b, const int *p, unsigned gid, llmc_msl::SimdGroup *g, int "
            "lane) {\n  llmc_msl::current = {g, lane};\n  llmc_msl::invoke(&" +
            entries[i] + ", b, p, gid);\n}\n";

  // Compiled once per source and header (and cached where the app says).
  std::string header = readFile(std::string(LLMC_MSL_INCLUDE) + "/metal_stdlib");
  uint64_t h = llmc_hal_fnv1a(1469598103934665603ull, unit.data(), unit.size());
  h = llmc_hal_fnv1a(h, src.data(), src.size());
  h = llmc_hal_fnv1a(h, header.data(), header.size());
  char dirTemplate[] = "/tmp/llmc-msl-XXXXXX";
  std::string work = mkdtemp(dirTemplate) ? dirTemplate : "";
  if (work.empty())
    return llmc_hal_fail(LLMC_ERR_IO, "%s: cannot make a directory to compile the MSL",
                         name);
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h);
  std::string lib = cacheDir && *cacheDir
                        ? std::string(cacheDir) + "/llmc-msl-" + hash + ".so"
                        : work + "/kernels.so";
  if (access(lib.c_str(), R_OK) != 0) {
    if (!writeFile(work + "/kernels.metal", src) || !writeFile(work + "/unit.cc", unit))
      return llmc_hal_fail(LLMC_ERR_IO, "%s: cannot write the MSL to %s", name,
                           work.c_str());
    std::string cmd = std::string(LLMC_MSL_CXX) +
                      " -std=c++20 -O2 -fPIC -shared -Wno-unknown-attributes -I '" +
                      LLMC_MSL_INCLUDE + "' -o '" + work + "/kernels.so' '" + work +
                      "/unit.cc' 2> '" + work + "/errors.txt'";
    int rc = std::system(cmd.c_str());
    if (rc != 0) {
      std::string errors = readFile(work + "/errors.txt");
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT,
                           "%s: the MSL does not compile against the harness's "
                           "metal_stdlib (%s):\n%.2000s",
                           name, LLMC_MSL_CXX, errors.c_str());
    }
    if (lib != work + "/kernels.so")
      std::rename((work + "/kernels.so").c_str(), lib.c_str());
  }
  exe->library = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::error_code ignored;
  std::filesystem::remove_all(work, ignored);
  if (!exe->library)
    return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: dlopen of the compiled MSL failed: %s",
                         name, dlerror());
  for (uint32_t i = 0; i < numEntries; ++i) {
    auto fn = reinterpret_cast<Entry>(
        dlsym(exe->library, (std::string("llmc_msl_call_") + entries[i]).c_str()));
    if (!fn)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "%s: the MSL has no kernel '%s'", name,
                           entries[i]);
    exe->entries.push_back(fn);
  }
  exe->device = "MSL on the CPU (llmc-msl-run harness, threadgroups of " +
                std::to_string(exe->threadgroup) + " threads)";
  *out = exe.release();
  return LLMC_OK;
}

void executableFree(llmc_hal_executable *exe) { delete exe; }

const char *executableDevice(const llmc_hal_executable *exe) {
  return exe->device.c_str();
}

llmc_status deviceCreate(llmc_hal_executable *exe, int32_t, llmc_hal_device **out) {
  *out = new llmc_hal_device(exe->threadgroup);
  return LLMC_OK;
}

void deviceFree(llmc_hal_device *dev) { delete dev; }

int32_t deviceThreads(const llmc_hal_device *dev) { return dev->threads; }

llmc_status bufferAlloc(llmc_hal_device *, uint64_t size, llmc_hal_buffer **out) {
  auto b = std::make_unique<llmc_hal_buffer>();
  b->size = size;
  b->owned = true;
  b->data = static_cast<unsigned char *>(std::aligned_alloc(64, (size + 63) / 64 * 64 + 64));
  if (!b->data)
    return llmc_hal_fail(LLMC_ERR_OUT_OF_MEMORY, "out of memory for a %llu-byte buffer",
                         (unsigned long long)size);
  std::memset(b->data, 0, size);
  *out = b.release();
  return LLMC_OK;
}

llmc_status bufferImport(llmc_hal_device *, const void *host, uint64_t size,
                         llmc_hal_buffer **out) {
  auto b = std::make_unique<llmc_hal_buffer>();
  b->data = static_cast<unsigned char *>(const_cast<void *>(host));
  b->size = size;
  *out = b.release();
  return LLMC_OK;
}

void bufferFree(llmc_hal_buffer *b) { delete b; }

void *bufferHost(llmc_hal_buffer *b) { return b->data; }

llmc_status dispatch(llmc_hal_device *dev, llmc_hal_executable *exe,
                     const llmc_hal_dispatch *d) {
  if (d->kernel >= exe->entries.size())
    return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "dispatch of kernel %u, the MSL has %zu",
                         d->kernel, exe->entries.size());
  for (uint32_t i = 0; i < d->num_bindings; ++i) {
    // A binding may reach past its buffer's end where the runtime keeps
    // fewer rows than the schedule allows (the logits of the last token
    // only), as a Metal buffer bound at an offset would.
    if (d->offsets[i] > d->buffers[i]->size)
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "binding %u starts past its buffer", i);
    dev->bindings[i] = d->buffers[i]->data + d->offsets[i];
  }
  // The params slot: the scalars, then the grid, as int (the kernel ABI).
  dev->params.assign(d->scalars, d->scalars + d->num_scalars);
  dev->params.push_back(int(d->grid));
  for (uint32_t i = 0; i < d->num_scalars; ++i)
    if (d->scalars[i] != dev->params[i])
      return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "scalar %lld does not fit an int",
                           (long long)d->scalars[i]);
  if (d->grid < 0 || d->grid > INT32_MAX)
    return llmc_hal_fail(LLMC_ERR_BAD_FORMAT, "grid %lld does not fit an int",
                         (long long)d->grid);
  dev->entry = exe->entries[d->kernel];
  dev->numGroups = (d->grid + dev->threads - 1) / dev->threads;
  dev->start.arrive_and_wait();
  dev->done.arrive_and_wait();
  return LLMC_OK;
}

llmc_status barrier(llmc_hal_device *) { return LLMC_OK; }

llmc_status readBuffer(llmc_hal_device *, llmc_hal_buffer *b, uint64_t offset, void *dst,
                       uint64_t n) {
  std::memcpy(dst, b->data + offset, size_t(n));
  return LLMC_OK;
}

llmc_status writeBuffer(llmc_hal_device *, llmc_hal_buffer *b, uint64_t offset,
                        const void *src, uint64_t n) {
  std::memcpy(b->data + offset, src, size_t(n));
  return LLMC_OK;
}

const llmc_hal kMslCpuHal = {
    "metal",      executableLoad, executableFree, executableDevice, deviceCreate,
    deviceFree,   deviceThreads,  bufferAlloc,    bufferImport,     bufferFree,
    bufferHost,   dispatch,       barrier,        readBuffer,       writeBuffer,
};

} // namespace

const llmc_hal *llmc_msl_cpu_hal() { return &kMslCpuHal; }
