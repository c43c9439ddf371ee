// Tests of the artifact writer (compiler/packager) and the C runtime
// (runtime/), using a fake kernel payload (fake_payload.c).
#include "compiler/packager/ArtifactWriter.h"
#include "runtime/include/llmc.h"
#include "runtime/include/llmc_format.h"
#include "runtime/include/llmc_kernel_abi.h"
#include "runtime/schema/llmc_generated.h"
#include "runtime/src/llmc_internal.h"
#include "test/runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace llmc::packager;

// The GPU HALs are linked into a program that asks for them (the OpenCL and
// Vulkan tests below use them through the public API).
static const bool kGpuEnabled = (llmc_enable_gpu(), true);

namespace {

std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return std::vector<uint8_t>(s.begin(), s.end());
}

void writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()), (std::streamsize)bytes.size());
}

bool exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

std::string tempPath(const std::string &name) {
  return testing::TempDir() + "llmc-rt-" + std::to_string(getpid()) + "-" + name;
}

std::string triple() {
#if defined(__x86_64__)
  return "x86_64-unknown-linux-gnu";
#else
  return "aarch64-unknown-linux-gnu";
#endif
}

// Temporary files the writer left beside `path` (".NAME.*.tmp").
int temporaries(const std::string &path) {
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  const std::string prefix = "." + path.substr(dir.size()) + ".";
  int n = 0;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      n += name.rfind(prefix, 0) == 0 && name.size() > 4 &&
           name.compare(name.size() - 4, 4, ".tmp") == 0;
    }
    closedir(d);
  }
  return n;
}

// Deterministic bytes of weight i (weights 0 and 1 are f32 tensors).
std::vector<uint8_t> weightBytes(size_t i, uint64_t size) {
  std::vector<uint8_t> b(size);
  if (i < 2) {
    for (uint64_t k = 0; k < size / 4; ++k) {
      float v = i == 0 ? 1.5f + (float)k : 42.0f;
      std::memcpy(&b[k * 4], &v, 4);
    }
  } else {
    for (uint64_t k = 0; k < size; ++k) b[k] = (uint8_t)(k * 7 + i);
  }
  return b;
}

ArtifactDesc fakeDesc() {
  ArtifactDesc d;
  d.manifest.compilerVersion = "0.1.0-test";
  d.manifest.target = "host";
  d.manifest.targetTriple = triple();
  d.manifest.cpuFeatures = "+llmc-unknown-feature";
  d.manifest.quantization = "f32";
  d.manifest.createdBy = "RuntimeTest";
  ModelConfigDesc &c = d.config;
  c.hiddenSize = FAKE_HIDDEN;
  c.intermediateSize = FAKE_INTERMEDIATE;
  c.numLayers = FAKE_LAYERS;
  c.numHeads = FAKE_HEADS;
  c.numKvHeads = FAKE_KV_HEADS;
  c.headDim = FAKE_HEAD_DIM;
  c.vocabSize = FAKE_VOCAB;
  c.maxContext = FAKE_MAX_CONTEXT;
  c.prefillChunk = FAKE_PREFILL_CHUNK;
  c.ropeScalingType = "llama3";
  c.ropeScalingFactor = 32.0f;
  c.bosTokenId = 1;
  c.eosTokenIds = {2, 3};
  const uint64_t kvBytes = uint64_t(FAKE_LAYERS) * 2 * FAKE_MAX_CONTEXT * FAKE_KV_DIM * 4;
  const uint64_t logitBytes = uint64_t(FAKE_PREFILL_CHUNK) * FAKE_VOCAB * 4;
  PayloadDesc p;
  p.target = triple();
  p.data = readFile(LLMC_FAKE_PAYLOAD_PATH);
  p.kernels = {{"fake_fill", "llmc_fake_fill", {FAKE_ARENA}, 1},
               {"fake_forward", "llmc_fake_forward",
                {FAKE_WEIGHTS_BOUND, FAKE_ARENA, kvBytes, FAKE_PREFILL_CHUNK * 4, logitBytes},
                3}};
  d.payloads.push_back(p);
  DispatchDesc fill;
  fill.kernel = "fake_fill";
  fill.label = "fill";
  fill.kernelIndex = 0;
  fill.operands = {{BufferSpace::Arena, 0, FAKE_ARENA}};
  fill.scalars = {{0, 1, 0, 0}};
  fill.grid = {FAKE_ARENA / 4, 0, 0, 0};
  d.schedule.push_back(fill);
  DispatchDesc fwd;
  fwd.kernel = "fake_forward";
  fwd.label = "forward";
  fwd.kernelIndex = 1;
  fwd.layer = FAKE_LAYERS - 1;
  fwd.operands = {{BufferSpace::Weights, 0, FAKE_WEIGHTS_BOUND},
                  {BufferSpace::Arena, 0, FAKE_ARENA},
                  {BufferSpace::KVCache, 0, kvBytes},
                  {BufferSpace::Tokens, 0, FAKE_PREFILL_CHUNK * 4},
                  {BufferSpace::Logits, 0, logitBytes}};
  fwd.scalars = {{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  fwd.grid = {1, 0, 0, 0};
  d.schedule.push_back(fwd);
  auto weight = [](const char *name, DType dtype, std::vector<int64_t> shape, uint64_t size) {
    WeightDesc w;
    w.name = name;
    w.dtype = dtype;
    w.shape = std::move(shape);
    w.size = size;
    return w;
  };
  d.weights = {weight("tok_embeddings", DType::F32, {3, 5}, 60),
               weight("norm", DType::F32, {7}, 28), weight("q", DType::I8, {100}, 100)};
  d.arenaSize = FAKE_ARENA;
  return d;
}

// Streams each weight in 7-byte pieces.
std::string fakeSource(size_t i, const WeightDesc &w, WeightSink &sink) {
  std::vector<uint8_t> b = weightBytes(i, w.size);
  for (size_t k = 0; k < b.size(); k += 7) {
    std::string e = sink.write(b.data() + k, std::min<size_t>(7, b.size() - k));
    if (!e.empty()) return e;
  }
  return "";
}

// Ends each payload the artifact carries with the record of what its code
// was compiled for, as `llmc build` does (linked code has it in its table).
void seal(ArtifactDesc &d) {
  for (PayloadDesc &p : d.payloads)
    if (p.format != "linked") {
      std::vector<uint8_t> r = codeRecord(d, p.kernels);
      p.data.insert(p.data.end(), r.begin(), r.end());
    }
}

// Writes d, its weights laid out and (unless `sealed` is false: the caller
// sealed it before editing) its payloads sealed for the final metadata.
std::string writeDesc(ArtifactDesc d, const std::string &path, const WriteOptions &o = {},
                      bool sealed = true) {
  std::string e = layoutWeights(d);
  if (!e.empty()) return e;
  if (sealed) seal(d);
  return writeArtifact(d, path, fakeSource, o);
}

// An artifact in memory, 4 KB aligned, for open_memory.
struct Buffer {
  void *p = nullptr;
  size_t n = 0;
  explicit Buffer(const std::vector<uint8_t> &bytes) : n(bytes.size()) {
    p = std::aligned_alloc(4096, (bytes.size() + 4095) / 4096 * 4096 + 4096);
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  }
  ~Buffer() { std::free(p); }
};

llmc_status openBytes(const std::vector<uint8_t> &bytes, uint32_t flags = 0) {
  Buffer b(bytes);
  llmc_model *m = nullptr;
  llmc_status st = llmc_model_open_memory(b.p, b.n, flags, &m);
  if (st == LLMC_OK) {
    EXPECT_NE(m, nullptr);
    llmc_model_close(m);
  } else {
    EXPECT_EQ(m, nullptr);
    EXPECT_STRNE(llmc_last_error(), "") << "status " << st;
  }
  return st;
}

void setHeader64(std::vector<uint8_t> &f, size_t at, uint64_t v) { llmc_wr64(&f[at], v); }
void fixFlatbufferChecksum(std::vector<uint8_t> &f) {
  llmc_file_header h;
  llmc_header_decode(f.data(), &h);
  setHeader64(f, 48, llmc_hash64(&f[h.flatbuffer_offset], h.flatbuffer_size));
}

class RuntimeTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    path_ = new std::string(tempPath("good.llmc"));
    ASSERT_EQ(writeDesc(fakeDesc(), *path_), "");
    bytes_ = new std::vector<uint8_t>(readFile(*path_));
  }
  static void TearDownTestSuite() {
    std::remove(path_->c_str());
    delete path_;
    delete bytes_;
  }
  void SetUp() override {
    ASSERT_EQ(llmc_model_open(path_->c_str(), 0, &model_), LLMC_OK) << llmc_last_error();
  }
  void TearDown() override {
    llmc_context_free(ctx_);
    llmc_model_close(model_);
  }
  void makeContext(int32_t n_ctx = 0, uint32_t flags = 0, int32_t n_threads = 0) {
    llmc_context_params p{n_ctx, flags, n_threads, 0};
    ASSERT_EQ(llmc_context_create(model_, &p, &ctx_), LLMC_OK) << llmc_last_error();
  }
  const float *logits() {
    const float *l = nullptr;
    EXPECT_EQ(llmc_get_logits(ctx_, &l), LLMC_OK) << llmc_last_error();
    return l;
  }
  int64_t position() {
    int64_t p = -1;
    EXPECT_EQ(llmc_get_position(ctx_, &p), LLMC_OK);
    return p;
  }
  static void expectRow(const float *row, int32_t tok, int64_t pos, float tokenSum,
                        int64_t nTokens, int64_t startPos) {
    EXPECT_EQ(row[0], (float)(tok * 1000 + pos + 1));
    EXPECT_EQ(row[1], tokenSum);
    EXPECT_EQ(row[2], (float)nTokens);
    EXPECT_EQ(row[3], 1.5f);
    EXPECT_EQ(row[4], (float)startPos);
    EXPECT_EQ(row[5], 42.0f);
    for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) EXPECT_EQ(row[v], v * 0.5f);
  }
  static std::string *path_;
  static std::vector<uint8_t> *bytes_;
  llmc_model *model_ = nullptr;
  llmc_context *ctx_ = nullptr;
};
std::string *RuntimeTest::path_;
std::vector<uint8_t> *RuntimeTest::bytes_;

} // namespace

// ---- format and writer ------------------------------------------------------

TEST(Format, HashMatchesXXH64) {
  EXPECT_EQ(llmc_hash64("", 0), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(llmc_hash64("abc", 3), 0x44BC2CF5AD770999ull);
  std::vector<uint8_t> b(1000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = (uint8_t)(i * 31);
  // xxhash.xxh64(bytes((i * 31) & 255 for i in range(1000))).intdigest(),
  // PyPI xxhash 4.1.0: the 32-byte block path.
  EXPECT_EQ(llmc_hash64(b.data(), b.size()), 0xB1280F6428126532ull);
  // The streaming form (the writer's) and the one-shot form (the loader's)
  // agree at every length around the 32-byte block and the 8 / 4-byte tails.
  for (size_t n : {size_t(1), size_t(4), size_t(7), size_t(8), size_t(31), size_t(32),
                   size_t(33), size_t(63), size_t(64), size_t(69), size_t(1000)}) {
    llmc_hash_state s;
    llmc_hash_init(&s);
    for (size_t i = 0; i < n; i += 13) llmc_hash_update(&s, &b[i], std::min<size_t>(13, n - i));
    EXPECT_EQ(llmc_hash_final(&s), llmc_hash64(b.data(), n)) << n;
  }
}

TEST(Writer, LayoutAlignsSequentially) {
  ArtifactDesc d = fakeDesc();
  ASSERT_EQ(layoutWeights(d), "");
  EXPECT_EQ(d.weights[0].offset, 0u);
  EXPECT_EQ(d.weights[1].offset, (uint64_t)FAKE_W1_OFFSET);
  EXPECT_EQ(d.weights[2].offset, 128u);
  EXPECT_EQ(d.weightsSize, 228u);
  d.weights[0].size = 61;  // does not match f32 [3,5]
  EXPECT_NE(layoutWeights(d), "");
  d = fakeDesc();
  d.weights[2].dtype = DType::Q4;  // block format without a descriptor
  EXPECT_NE(layoutWeights(d), "");
}

TEST(Writer, FileLayoutAndProgress) {
  std::string path = tempPath("layout.llmc");
  uint64_t last = 0, total = 0;
  int calls = 0;
  WriteOptions o;
  o.progress = [&](uint64_t w, uint64_t t) { last = w; total = t; ++calls; };
  ASSERT_EQ(writeDesc(fakeDesc(), path, o), "");
  EXPECT_EQ(temporaries(path), 0);
  std::vector<uint8_t> f = readFile(path);
  llmc_file_header h;
  llmc_header_decode(f.data(), &h);
  EXPECT_EQ(std::memcmp(h.magic, "LLMCART\0", 8), 0);
  EXPECT_EQ(h.format_version, 3u);
  EXPECT_EQ(h.header_size, 64u);
  EXPECT_EQ(h.flatbuffer_offset, 64u);
  EXPECT_EQ(h.weights_offset % 4096, 0u);
  EXPECT_GE(h.weights_offset, h.flatbuffer_offset + h.flatbuffer_size);
  EXPECT_EQ(h.weights_size, 228u);
  EXPECT_EQ(f.size(), h.weights_offset + h.weights_size);
  EXPECT_EQ(h.flatbuffer_checksum, llmc_hash64(&f[64], h.flatbuffer_size));
  EXPECT_EQ(h.weights_checksum, llmc_hash64(&f[h.weights_offset], h.weights_size));
  EXPECT_GE(calls, 1);
  EXPECT_EQ(last, f.size());
  EXPECT_EQ(total, f.size());
  // The flatbuffer is a verified Model with identifier "LLMC".
  flatbuffers::Verifier v(&f[64], h.flatbuffer_size);
  ASSERT_TRUE(llmc::fb::VerifyModelBuffer(v));
  const llmc::fb::Model *m = llmc::fb::GetModel(&f[64]);
  ASSERT_EQ(m->weights()->size(), 3u);
  EXPECT_EQ(m->weights()->Get(1)->offset(), (uint64_t)FAKE_W1_OFFSET);
  const llmc::fb::Dispatch *fwd = m->schedule()->Get(1);
  EXPECT_EQ(fwd->kernel_index(), 1u);
  EXPECT_EQ(fwd->operands()->Get(2)->space(), llmc::fb::BufferSpace::KVCache);
  EXPECT_EQ(fwd->scalars()->Get(1)->start_pos(), 1);
  EXPECT_EQ(m->schedule()->Get(0)->grid()->c(), FAKE_ARENA / 4);
  EXPECT_STREQ(m->payloads()->Get(0)->kernels()->Get(1)->entry()->c_str(),
               "llmc_fake_forward");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m->payloads()->Get(0)->data()->data()) % 16, 0u);
  // Weight bytes in place, with zero padding between them.
  std::vector<uint8_t> w2 = weightBytes(2, 100);
  EXPECT_EQ(std::memcmp(&f[h.weights_offset + 128], w2.data(), 100), 0);
  EXPECT_EQ(f[h.weights_offset + 60], 0);
  std::remove(path.c_str());
}

TEST(Writer, FailuresLeaveNothingBehind) {
  std::string path = tempPath("fail.llmc");
  ArtifactDesc d = fakeDesc();
  ASSERT_EQ(layoutWeights(d), "");
  // Source error.
  std::string e = writeArtifact(d, path, [](size_t i, const WeightDesc &w, WeightSink &s) {
    return i == 2 ? std::string("disk on fire") : fakeSource(i, w, s);
  });
  EXPECT_NE(e.find("disk on fire"), std::string::npos) << e;
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(temporaries(path), 0);
  // Too few bytes.
  e = writeArtifact(d, path, [](size_t, const WeightDesc &, WeightSink &) { return std::string(); });
  EXPECT_NE(e, "");
  EXPECT_EQ(temporaries(path), 0);
  // Too many bytes.
  e = writeArtifact(d, path, [](size_t, const WeightDesc &w, WeightSink &s) {
    std::vector<uint8_t> b(w.size + 1);
    return s.write(b.data(), b.size());
  });
  EXPECT_NE(e, "");
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(temporaries(path), 0);
  // Not laid out: refused before anything is written, the temporary file's
  // descriptor closed.
  auto openFds = [] {
    int n = 0;
    if (DIR *d = opendir("/proc/self/fd")) {
      while (readdir(d)) ++n;
      closedir(d);
    }
    return n;
  };
  ArtifactDesc raw = fakeDesc();
  raw.weights[1].offset = 3;
  const int fds = openFds();
  EXPECT_NE(writeArtifact(raw, path, fakeSource), "");
  EXPECT_EQ(openFds(), fds);
  EXPECT_EQ(temporaries(path), 0);
  // Unwritable directory.
  EXPECT_NE(writeArtifact(d, "/nonexistent-dir/x.llmc", fakeSource), "");
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(temporaries(path), 0);
}

// The temporary file: a new name in the output's directory, created
// exclusively (a symlink planted at the old predictable name, or at any
// name, is never followed), reported to the caller for removal on signals,
// verified before the rename, gone afterwards.
TEST(Writer, TemporaryFileIsNewAndVerified) {
  std::string path = tempPath("tmpfile.llmc"), victim = tempPath("victim.txt");
  { std::ofstream(victim) << "precious"; }
  ASSERT_EQ(::symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
  std::vector<std::pair<std::string, bool>> seen;
  WriteOptions o;
  o.trackTemporary = [&](const std::string &t, bool live) { seen.push_back({t, live}); };
  std::string verified;
  o.verify = [&](const std::string &t) {
    verified = t;
    llmc_model *m = nullptr;
    llmc_status st = llmc_model_open(t.c_str(), LLMC_OPEN_METADATA_ONLY, &m);
    llmc_model_close(m);
    return st == LLMC_OK ? std::string() : std::string(llmc_last_error());
  };
  ASSERT_EQ(writeDesc(fakeDesc(), path, o), "");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].second);
  EXPECT_FALSE(seen[1].second);
  EXPECT_EQ(seen[0].first, seen[1].first);
  EXPECT_EQ(verified, seen[0].first);
  const std::string dir = path.substr(0, path.rfind('/') + 1);
  EXPECT_EQ(seen[0].first.rfind(dir + "." + path.substr(dir.size()) + ".", 0), 0u)
      << seen[0].first;
  EXPECT_FALSE(exists(seen[0].first));
  std::vector<uint8_t> kept = readFile(victim);
  EXPECT_EQ(std::string(kept.begin(), kept.end()), "precious");
  EXPECT_EQ(readFile(path).size() > 4096, true);
  // A refusal by verify: no output, no temporary file.
  std::remove(path.c_str());
  o.verify = [](const std::string &) { return std::string("the loader refuses it"); };
  std::string e = writeDesc(fakeDesc(), path, o);
  EXPECT_NE(e.find("the loader refuses it"), std::string::npos) << e;
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(temporaries(path), 0);
  std::remove((path + ".tmp").c_str());
  std::remove(victim.c_str());
}

// Two writers to one output: each writes its own temporary file, the last
// rename wins, and the output is one whole artifact.
TEST(Writer, ConcurrentWritersLeaveOneWholeArtifact) {
  std::string path = tempPath("race.llmc");
  std::string e1, e2;
  std::thread a([&] { e1 = writeDesc(fakeDesc(), path); });
  std::thread b([&] { e2 = writeDesc(fakeDesc(), path); });
  a.join();
  b.join();
  EXPECT_EQ(e1, "");
  EXPECT_EQ(e2, "");
  llmc_model *m = nullptr;
  EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  EXPECT_EQ(temporaries(path), 0);
  std::remove(path.c_str());
}

// ---- runtime: API -------------------------------------------------------------

TEST(Runtime, StatusStringsAndNullArguments) {
  for (int s = LLMC_OK; s <= LLMC_ERR_UNSUPPORTED; ++s)
    EXPECT_STRNE(llmc_status_string((llmc_status)s), "unknown status");
  EXPECT_STREQ(llmc_status_string((llmc_status)999), "unknown status");
  llmc_model *m = nullptr;
  EXPECT_EQ(llmc_model_open(nullptr, 0, &m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_STRNE(llmc_last_error(), "");
  EXPECT_EQ(llmc_model_open("x", 0, nullptr), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_model_open_memory(nullptr, 10, 0, &m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_model_open(tempPath("missing.llmc").c_str(), 0, &m), LLMC_ERR_IO);
  EXPECT_NE(std::string(llmc_last_error()).find("missing.llmc"), std::string::npos);
  EXPECT_EQ(llmc_model_open("/", 0, &m), LLMC_ERR_IO);
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(llmc_model_close(nullptr), LLMC_OK);
  EXPECT_EQ(llmc_context_free(nullptr), LLMC_OK);
  EXPECT_EQ(llmc_model_get_info(nullptr, nullptr), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_context_create(nullptr, nullptr, nullptr), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_prefill(nullptr, nullptr, 1), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_decode(nullptr, 1), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_get_logits(nullptr, nullptr), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_rewind(nullptr, 0), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_reset(nullptr), LLMC_ERR_INVALID_ARGUMENT);
}

// Misuse that is cheap to catch: a context outliving its model's close
// keeps working (it holds the model), a second close or free is refused
// with a status, a context on a closed model is refused, unknown open flags
// are refused. Under ASan in CI: no use after free, no leak.
TEST_F(RuntimeTest, LifetimeMisuse) {
  llmc_model *m = nullptr;
  ASSERT_EQ(llmc_model_open(path_->c_str(), 0, &m), LLMC_OK) << llmc_last_error();
  llmc_context *c = nullptr, *c2 = nullptr;
  ASSERT_EQ(llmc_context_create(m, nullptr, &c), LLMC_OK);
  ASSERT_EQ(llmc_context_create(m, nullptr, &c2), LLMC_OK);
  EXPECT_EQ(llmc_model_close(m), LLMC_OK);
  EXPECT_EQ(llmc_model_close(m), LLMC_ERR_INVALID_ARGUMENT);  // the handle is gone
  EXPECT_NE(std::string(llmc_last_error()).find("closed twice"), std::string::npos);
  llmc_context *c3 = nullptr;
  EXPECT_EQ(llmc_context_create(m, nullptr, &c3), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c3, nullptr);
  // The contexts still run: the model lives until the last one is freed.
  EXPECT_EQ(llmc_decode(c, 3), LLMC_OK) << llmc_last_error();
  const float *l = nullptr;
  ASSERT_EQ(llmc_get_logits(c, &l), LLMC_OK);
  EXPECT_EQ(l[0], 3 * 1000 + 1.0f);
  EXPECT_EQ(llmc_context_free(c), LLMC_OK);
  EXPECT_EQ(llmc_context_free(c), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("freed twice"), std::string::npos);
  EXPECT_EQ(llmc_decode(c2, 5), LLMC_OK) << llmc_last_error();
  EXPECT_EQ(llmc_context_free(c2), LLMC_OK);  // frees the model
  EXPECT_EQ(llmc_model_close(m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_context_create(m, nullptr, &c3), LLMC_ERR_INVALID_ARGUMENT);
  // A handle that was never a model.
  EXPECT_EQ(llmc_model_close(reinterpret_cast<llmc_model *>(&c3)), LLMC_ERR_INVALID_ARGUMENT);
  // Unknown open flags, on every open path.
  EXPECT_EQ(llmc_model_open(path_->c_str(), 1u << 7, &m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("unknown open flags 0x80"), std::string::npos);
  Buffer b(*bytes_);
  EXPECT_EQ(llmc_model_open_memory(b.p, b.n, 1u << 31, &m), LLMC_ERR_INVALID_ARGUMENT);
  llmc_open_params params = {};
  params.flags = 1u << 2;
  EXPECT_EQ(llmc_model_open_with_params(path_->c_str(), &params, &m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
}

TEST_F(RuntimeTest, Info) {
  llmc_model_info i;
  ASSERT_EQ(llmc_model_get_info(model_, &i), LLMC_OK);
  EXPECT_EQ(i.hidden_size, FAKE_HIDDEN);
  EXPECT_EQ(i.intermediate_size, FAKE_INTERMEDIATE);
  EXPECT_EQ(i.num_layers, FAKE_LAYERS);
  EXPECT_EQ(i.num_heads, FAKE_HEADS);
  EXPECT_EQ(i.num_kv_heads, FAKE_KV_HEADS);
  EXPECT_EQ(i.head_dim, FAKE_HEAD_DIM);
  EXPECT_EQ(i.vocab_size, FAKE_VOCAB);
  EXPECT_EQ(i.max_context, FAKE_MAX_CONTEXT);
  EXPECT_EQ(i.prefill_chunk, FAKE_PREFILL_CHUNK);
  EXPECT_FLOAT_EQ(i.rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(i.rope_theta, 500000.0f);
  EXPECT_STREQ(i.rope_scaling_type, "llama3");
  EXPECT_FLOAT_EQ(i.rope_scaling_factor, 32.0f);
  EXPECT_EQ(i.rope_original_max_position_embeddings, 8192);
  EXPECT_EQ(i.bos_token_id, 1);
  ASSERT_EQ(i.num_eos_tokens, 2);
  EXPECT_EQ(i.eos_token_ids[0], 2);
  EXPECT_EQ(i.eos_token_ids[1], 3);
  EXPECT_EQ(i.arena_size, (uint64_t)FAKE_ARENA);
  EXPECT_EQ(i.kv_cache_bytes_per_token, (uint64_t)FAKE_LAYERS * 2 * FAKE_KV_DIM * 4);
  EXPECT_EQ(i.kv_cache_bytes, i.kv_cache_bytes_per_token * FAKE_MAX_CONTEXT);
  EXPECT_EQ(i.weights_size, 228u);
  EXPECT_EQ(i.file_size, bytes_->size());
  EXPECT_EQ(i.num_weights, 3u);
  EXPECT_EQ(i.num_dispatches, 2u);
  EXPECT_EQ(i.format_version, 3u);
  EXPECT_STREQ(i.target, "host");
  EXPECT_EQ(std::string(i.target_triple), triple());
  EXPECT_STREQ(i.quantization, "f32");
  EXPECT_STREQ(i.compiler_version, "0.1.0-test");
  EXPECT_STREQ(i.created_by, "RuntimeTest");
}

// Each dispatch says which layer it belongs to (-1: none), for inspect.
TEST_F(RuntimeTest, DispatchLayers) {
  llmc_dispatch_info d;
  ASSERT_EQ(llmc_model_get_dispatch_info(model_, 0, 1, 0, &d), LLMC_OK);
  EXPECT_EQ(d.layer, -1);
  ASSERT_EQ(llmc_model_get_dispatch_info(model_, 1, 1, 0, &d), LLMC_OK);
  EXPECT_EQ(d.layer, FAKE_LAYERS - 1);
}

TEST_F(RuntimeTest, PrefillIsChunked) {
  makeContext();
  const float *l = nullptr;
  EXPECT_EQ(llmc_get_logits(ctx_, &l), LLMC_ERR_INVALID_STATE);
  std::vector<int32_t> toks = {5, 9, 2, 31, 0, 7, 7, 1, 30, 4, 11, 6};  // 12 = 5 + 5 + 2
  float sum = 0;
  for (int32_t t : toks) sum += (float)t;
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), (int64_t)toks.size()), LLMC_OK);
  EXPECT_EQ(position(), 12);
  expectRow(logits(), 6, 11, sum, /*nTokens=*/2, /*startPos=*/10);
  // Empty prefill is a no-op.
  EXPECT_EQ(llmc_prefill(ctx_, nullptr, 0), LLMC_OK);
  EXPECT_EQ(position(), 12);
  EXPECT_EQ(llmc_prefill(ctx_, toks.data(), -1), LLMC_ERR_INVALID_ARGUMENT);
  // Exactly one chunk.
  ASSERT_EQ(llmc_reset(ctx_), LLMC_OK);
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 5), LLMC_OK);
  expectRow(logits(), 0, 4, 5 + 9 + 2 + 31 + 0, 5, 0);
}

TEST_F(RuntimeTest, DecodeRewindReset) {
  makeContext();
  std::vector<int32_t> toks = {3, 4, 5, 6, 7, 8, 9};
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 7), LLMC_OK);
  ASSERT_EQ(llmc_decode(ctx_, 10), LLMC_OK);
  EXPECT_EQ(position(), 8);
  expectRow(logits(), 10, 7, 52, 1, 7);
  ASSERT_EQ(llmc_decode(ctx_, 1), LLMC_OK);
  expectRow(logits(), 1, 8, 53, 1, 8);
  // Rewind: positions >= 3 are forgotten and overwritten.
  ASSERT_EQ(llmc_rewind(ctx_, 3), LLMC_OK);
  EXPECT_EQ(position(), 3);
  const float *l = nullptr;
  EXPECT_EQ(llmc_get_logits(ctx_, &l), LLMC_ERR_INVALID_STATE);
  EXPECT_EQ(llmc_rewind(ctx_, 4), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_rewind(ctx_, -1), LLMC_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(llmc_decode(ctx_, 20), LLMC_OK);
  expectRow(logits(), 20, 3, 3 + 4 + 5 + 20, 1, 3);
  ASSERT_EQ(llmc_reset(ctx_), LLMC_OK);
  EXPECT_EQ(position(), 0);
  ASSERT_EQ(llmc_decode(ctx_, 2), LLMC_OK);
  expectRow(logits(), 2, 0, 2, 1, 0);
}

TEST_F(RuntimeTest, ContextFull) {
  makeContext(10);
  std::vector<int32_t> toks(8, 1);
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 8), LLMC_OK);
  EXPECT_EQ(llmc_prefill(ctx_, toks.data(), 3), LLMC_ERR_CONTEXT_FULL);
  EXPECT_NE(std::string(llmc_last_error()).find("context full"), std::string::npos);
  EXPECT_EQ(position(), 8);
  expectRow(logits(), 1, 7, 8, 3, 5);  // untouched by the failed call
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 2), LLMC_OK);
  EXPECT_EQ(llmc_decode(ctx_, 1), LLMC_ERR_CONTEXT_FULL);
  EXPECT_EQ(llmc_prefill(ctx_, toks.data(), INT64_MAX), LLMC_ERR_CONTEXT_FULL);
  // The compiled maximum.
  llmc_context *full = nullptr;
  ASSERT_EQ(llmc_context_create(model_, nullptr, &full), LLMC_OK);
  std::vector<int32_t> many(FAKE_MAX_CONTEXT, 2);
  EXPECT_EQ(llmc_prefill(full, many.data(), FAKE_MAX_CONTEXT), LLMC_OK);
  EXPECT_EQ(llmc_decode(full, 2), LLMC_ERR_CONTEXT_FULL);
  llmc_context_free(full);
}

// Several contexts of one model decoding at once, each with its own thread
// pool: every context sees only its own tokens and positions. CI also runs
// this under ThreadSanitizer (scripts/test.sh, build-tsan).
TEST_F(RuntimeTest, ContextsDecodeConcurrently) {
  constexpr int kContexts = 4, kSteps = 20;
  std::vector<std::thread> threads;
  std::vector<int> failures(kContexts, 0);
  for (int t = 0; t < kContexts; ++t)
    threads.emplace_back([this, t, &failures] {
      llmc_context_params p{0, 0, 2, 0};
      llmc_context *c = nullptr;
      if (llmc_context_create(model_, &p, &c) != LLMC_OK) {
        failures[t] = 1;
        return;
      }
      int32_t first[3] = {t + 1, t + 2, t + 3};
      failures[t] |= llmc_prefill(c, first, 3) != LLMC_OK;
      for (int i = 0; i < kSteps && !failures[t]; ++i) {
        int32_t tok = (t * 7 + i) % FAKE_VOCAB;
        const float *l = nullptr;
        failures[t] |= llmc_decode(c, tok) != LLMC_OK || llmc_get_logits(c, &l) != LLMC_OK ||
                       l[0] != float(tok * 1000 + 3 + i + 1) || l[4] != float(3 + i);
      }
      llmc_context_free(c);
    });
  for (std::thread &th : threads) th.join();
  for (int t = 0; t < kContexts; ++t) EXPECT_EQ(failures[t], 0) << "context " << t;
}

// Out of memory is a status, not an abort: a context whose arena cannot be
// had under a 1 GB address-space limit (in a child process).
TEST(RuntimeStress, OutOfMemoryIsAStatus) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot apply";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot apply";
#endif
#endif
  ArtifactDesc d = fakeDesc();
  d.arenaSize = uint64_t(4) << 30;  // 4 GB of scratch
  std::string path = tempPath("huge-arena.llmc");
  ASSERT_EQ(writeDesc(d, path), "");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct rlimit lim = {uint64_t(1) << 30, uint64_t(1) << 30};
    if (setrlimit(RLIMIT_AS, &lim) != 0) _exit(10);
    llmc_model *m = nullptr;
    if (llmc_model_open(path.c_str(), 0, &m) != LLMC_OK) _exit(11);
    llmc_context *c = nullptr;
    llmc_status st = llmc_context_create(m, nullptr, &c);
    bool said = std::string(llmc_last_error()).find("out of memory") != std::string::npos;
    llmc_model_close(m);
    _exit(st == LLMC_ERR_OUT_OF_MEMORY && c == nullptr && said ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::remove(path.c_str());
}

TEST_F(RuntimeTest, BadTokenIds) {
  makeContext();
  std::vector<int32_t> toks = {1, 2, FAKE_VOCAB, 3};
  EXPECT_EQ(llmc_prefill(ctx_, toks.data(), 4), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("token"), std::string::npos);
  EXPECT_EQ(position(), 0);
  EXPECT_EQ(llmc_decode(ctx_, -1), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_decode(ctx_, INT32_MIN), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_decode(ctx_, FAKE_VOCAB - 1), LLMC_OK);
  EXPECT_EQ(position(), 1);
}

TEST_F(RuntimeTest, ContextParams) {
  llmc_context *c = nullptr;
  llmc_context_params p{FAKE_MAX_CONTEXT + 1, 0, 0, 0};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  EXPECT_STRNE(llmc_last_error(), "");
  p = {-1, 0, 0, 0};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  p = {4, 0x80, 0, 0};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  p = {4, 0, -1, 0};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  p = {4, 0, 100000, 0};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  p = {FAKE_MAX_CONTEXT, 0, 0, 0};
  ASSERT_EQ(llmc_context_create(model_, &p, &c), LLMC_OK);
  const float *l;
  int64_t rows, first;
  ASSERT_EQ(llmc_decode(c, 3), LLMC_OK);
  EXPECT_EQ(llmc_get_all_logits(c, &l, &rows, &first), LLMC_ERR_INVALID_STATE);
  llmc_context_free(c);
}

// A KV memory cap limits the positions a context holds: 3 positions' worth
// of bytes (of the model's kv_cache_bytes_per_token) gives a context of 3,
// full at the fourth token; a cap below one position is refused.
TEST_F(RuntimeTest, KVCacheCap) {
  const uint64_t perToken = uint64_t(FAKE_LAYERS) * 2 * FAKE_KV_DIM * 4;
  llmc_context *c = nullptr;
  llmc_context_params p{0, 0, 1, perToken - 1};
  EXPECT_EQ(llmc_context_create(model_, &p, &c), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("holds no position"), std::string::npos);
  p = {0, 0, 1, 3 * perToken + perToken / 2};
  ASSERT_EQ(llmc_context_create(model_, &p, &c), LLMC_OK) << llmc_last_error();
  int64_t nCtx = 0;
  EXPECT_EQ(llmc_context_get_n_ctx(c, &nCtx), LLMC_OK);
  EXPECT_EQ(nCtx, 3);
  std::vector<int32_t> toks = {1, 2, 3, 4};
  EXPECT_EQ(llmc_prefill(c, toks.data(), 4), LLMC_ERR_CONTEXT_FULL);
  EXPECT_EQ(llmc_prefill(c, toks.data(), 3), LLMC_OK);
  EXPECT_EQ(llmc_decode(c, 5), LLMC_ERR_CONTEXT_FULL);
  llmc_context_free(c);
}

TEST_F(RuntimeTest, AllLogitsOfLastChunk) {
  makeContext(0, LLMC_CONTEXT_ALL_LOGITS);
  std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6, 7};  // chunks 5 + 2
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 7), LLMC_OK);
  const float *l = nullptr;
  int64_t rows = 0, first = -1;
  ASSERT_EQ(llmc_get_all_logits(ctx_, &l, &rows, &first), LLMC_OK);
  ASSERT_EQ(rows, 2);
  EXPECT_EQ(first, 5);
  expectRow(l, 6, 5, 21, 2, 5);
  expectRow(l + FAKE_VOCAB, 7, 6, 28, 2, 5);
  EXPECT_EQ(logits(), l + FAKE_VOCAB);
  ASSERT_EQ(llmc_reset(ctx_), LLMC_OK);
  ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 5), LLMC_OK);
  ASSERT_EQ(llmc_get_all_logits(ctx_, &l, &rows, &first), LLMC_OK);
  ASSERT_EQ(rows, 5);
  EXPECT_EQ(first, 0);
  float sum = 0;
  for (int i = 0; i < 5; ++i) {
    sum += (float)toks[i];
    expectRow(l + i * FAKE_VOCAB, toks[i], i, sum, 5, 0);
  }
}

TEST_F(RuntimeTest, ThreadsSplitTheGrid) {
  // fake_fill's grid of FAKE_ARENA / 4 must be covered exactly once for any
  // thread count (fake_forward marks the logits otherwise).
  for (int32_t threads : {1, 2, 3, 7}) {
    llmc_context_free(ctx_);
    ctx_ = nullptr;
    makeContext(0, 0, threads);
    int32_t got = 0;
    ASSERT_EQ(llmc_context_get_threads(ctx_, &got), LLMC_OK);
    EXPECT_EQ(got, threads);
    std::vector<int32_t> toks = {5, 9, 2, 31, 0, 7, 7};
    ASSERT_EQ(llmc_prefill(ctx_, toks.data(), 7), LLMC_OK);
    expectRow(logits(), 7, 6, 61, 2, 5);
    ASSERT_EQ(llmc_decode(ctx_, 4), LLMC_OK);
    expectRow(logits(), 4, 7, 65, 1, 7);
  }
  llmc_context_free(ctx_);
  ctx_ = nullptr;
  makeContext(0, 0, 0);  // all cores
  int32_t got = 0;
  ASSERT_EQ(llmc_context_get_threads(ctx_, &got), LLMC_OK);
  EXPECT_GE(got, 1);
}

TEST_F(RuntimeTest, ContextsAreIndependent) {
  makeContext();
  llmc_context *other = nullptr;
  ASSERT_EQ(llmc_context_create(model_, nullptr, &other), LLMC_OK);
  ASSERT_EQ(llmc_decode(ctx_, 4), LLMC_OK);
  ASSERT_EQ(llmc_decode(other, 9), LLMC_OK);
  ASSERT_EQ(llmc_decode(ctx_, 5), LLMC_OK);
  expectRow(logits(), 5, 1, 9, 1, 1);
  llmc_context_free(other);
}

TEST_F(RuntimeTest, OpenMemory) {
  Buffer b(*bytes_);
  llmc_model *m = nullptr;
  ASSERT_EQ(llmc_model_open_memory(b.p, b.n, 0, &m), LLMC_OK) << llmc_last_error();
  llmc_context *c = nullptr;
  ASSERT_EQ(llmc_context_create(m, nullptr, &c), LLMC_OK);
  ASSERT_EQ(llmc_decode(c, 3), LLMC_OK);
  const float *l = nullptr;
  ASSERT_EQ(llmc_get_logits(c, &l), LLMC_OK);
  expectRow(l, 3, 0, 3, 1, 0);
  llmc_context_free(c);
  llmc_model_close(m);
  // Misaligned buffers are refused.
  std::vector<uint8_t> shifted(bytes_->size() + 64);
  Buffer b2(shifted);
  std::memcpy((uint8_t *)b2.p + 8, bytes_->data(), bytes_->size());
  EXPECT_EQ(llmc_model_open_memory((uint8_t *)b2.p + 8, bytes_->size(), 0, &m),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("aligned"), std::string::npos);
}

// ---- runtime: code linked into the program ---------------------------------------

// The fake kernels as a linked library would hand them over: the table of
// `llmc build --emit static-lib`, here filled from the fake payload loaded
// by the test (the runtime never dlopens anything for such an artifact).
struct LinkedFake {
  void *dl = dlopen(LLMC_FAKE_PAYLOAD_PATH, RTLD_NOW | RTLD_LOCAL);
  const char *names[2] = {"llmc_fake_forward", "llmc_fake_fill"}; // any order
  llmc_kernel_fn fns[2] = {};
  std::vector<uint8_t> record;
  llmc_kernel_table table = {LLMC_KERNEL_TABLE_VERSION, 2, names, fns, 0x1234abcd5678ef90ull,
                             "", "", nullptr};
  LinkedFake() {
    ArtifactDesc d = fakeDesc();
    EXPECT_EQ(layoutWeights(d), "");
    record = codeRecord(d, d.payloads[0].kernels);
    table.record = reinterpret_cast<const llmc_code_record *>(record.data());
    for (int i = 0; i < 2; ++i) {
      void *sym = dl ? dlsym(dl, names[i]) : nullptr;
      std::memcpy(&fns[i], &sym, sizeof sym);
    }
  }
  ~LinkedFake() {
    if (dl) dlclose(dl);
  }
};

// The artifact of a linked build: payload "linked", its data the code id.
ArtifactDesc linkedDesc(uint64_t codeId) {
  ArtifactDesc d = fakeDesc();
  d.payloads[0].format = "linked";
  d.payloads[0].data.resize(8);
  llmc_wr64(d.payloads[0].data.data(), codeId);
  return d;
}

TEST(RuntimeLinked, RunsTheProgramsKernels) {
  LinkedFake fake;
  ASSERT_NE(fake.dl, nullptr) << dlerror();
  std::string path = tempPath("linked.llmc");
  ASSERT_EQ(writeDesc(linkedDesc(fake.table.code_id), path), "");
  llmc_open_params params = {};
  params.kernels = &fake.table;
  llmc_model *m = nullptr;
  ASSERT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_OK)
      << llmc_last_error();
  llmc_context *c = nullptr;
  ASSERT_EQ(llmc_context_create(m, nullptr, &c), LLMC_OK) << llmc_last_error();
  int32_t toks[3] = {3, 5, 7};
  ASSERT_EQ(llmc_prefill(c, toks, 3), LLMC_OK) << llmc_last_error();
  const float *l = nullptr;
  ASSERT_EQ(llmc_get_logits(c, &l), LLMC_OK);
  // What the same kernels give through the artifact's own payload.
  EXPECT_EQ(l[0], 7 * 1000 + 2 + 1.0f);
  EXPECT_EQ(l[1], 15.0f);
  EXPECT_EQ(l[5], 42.0f);
  llmc_context_free(c);
  llmc_model_close(m);

  // From memory too (path NULL, params.data).
  std::vector<uint8_t> bytes = readFile(path);
  struct Buffer b(bytes);
  params.data = b.p;
  params.size = b.n;
  ASSERT_EQ(llmc_model_open_with_params(nullptr, &params, &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  params.data = nullptr;

  // Without the table: refused, saying how to open it; metadata only works.
  EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("llmc_open_params.kernels"), std::string::npos)
      << llmc_last_error();
  ASSERT_EQ(llmc_model_open(path.c_str(), LLMC_OPEN_METADATA_ONLY, &m), LLMC_OK);
  llmc_model_close(m);

  // Code of another build (its id differs): refused before anything runs.
  fake.table.code_id ^= 1;
  EXPECT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_ERR_PAYLOAD_LOAD);
  EXPECT_NE(std::string(llmc_last_error()).find("not the code this artifact was built with"),
            std::string::npos);
  fake.table.code_id ^= 1;

  // A table without one of the artifact's kernels.
  fake.table.num_kernels = 1;
  EXPECT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_ERR_PAYLOAD_LOAD);
  EXPECT_NE(std::string(llmc_last_error()).find("llmc_fake_fill"), std::string::npos)
      << llmc_last_error();
  fake.table.num_kernels = 2;

  // A table of another layout version.
  fake.table.version = 99;
  EXPECT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_ERR_PAYLOAD_LOAD);
  fake.table.version = LLMC_KERNEL_TABLE_VERSION;

  // A record that disagrees with the artifact (the digest changed), or none.
  llmc_wr64(&fake.record[16], llmc_rd64(&fake.record[16]) ^ 1);
  EXPECT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("compiled with"), std::string::npos)
      << llmc_last_error();
  llmc_wr64(&fake.record[16], llmc_rd64(&fake.record[16]) ^ 1);
  fake.table.record = nullptr;
  EXPECT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_ERR_BAD_FORMAT);
  fake.table.record = reinterpret_cast<const llmc_code_record *>(fake.record.data());
  ASSERT_EQ(llmc_model_open_with_params(path.c_str(), &params, &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  std::remove(path.c_str());

  // A table for an artifact that carries its own code: refused, not ignored.
  std::string own = tempPath("own.llmc");
  ASSERT_EQ(writeDesc(fakeDesc(), own), "");
  EXPECT_EQ(llmc_model_open_with_params(own.c_str(), &params, &m), LLMC_ERR_INVALID_ARGUMENT);
  std::remove(own.c_str());
}

// ---- runtime: hostile files -----------------------------------------------------

TEST_F(RuntimeTest, TruncatedAtManyLengths) {
  const std::vector<uint8_t> &good = *bytes_;
  for (size_t n = 0; n < good.size(); n += (n < 256 ? 1 : 7)) {
    std::vector<uint8_t> t(good.begin(), good.begin() + n);
    EXPECT_NE(openBytes(t), LLMC_OK) << "length " << n;
  }
  EXPECT_EQ(openBytes(std::vector<uint8_t>(good.begin(), good.end() - 1)), LLMC_ERR_BAD_FORMAT);
  // Through the file path too, including an empty file.
  std::string p = tempPath("trunc.llmc");
  for (size_t n : {size_t(0), size_t(10), size_t(64), size_t(700), good.size() - 1}) {
    writeFile(p, std::vector<uint8_t>(good.begin(), good.begin() + n));
    llmc_model *m = nullptr;
    EXPECT_EQ(llmc_model_open(p.c_str(), 0, &m), LLMC_ERR_BAD_FORMAT) << n;
    EXPECT_NE(std::string(llmc_last_error()).find(p), std::string::npos);
  }
  std::remove(p.c_str());
  // Trailing bytes are refused too.
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_EQ(openBytes(longer), LLMC_ERR_BAD_FORMAT);
  EXPECT_EQ(openBytes(good), LLMC_OK);
}

TEST(Runtime, VersionsAndPreviousFormat) {
  EXPECT_STREQ(llmc_version(), LLMC_TEST_VERSION);
  EXPECT_EQ(llmc_api_version(), (uint32_t)LLMC_API_VERSION);
  // An artifact of the previous format (version 2: payloads without the
  // record of what their code was compiled for), consistent in header and manifest with
  // valid checksums: refused as an unsupported version, never misread.
  std::string path = tempPath("v1.llmc");
  WriteOptions o;
  o.mutateFlatBuffer = [](std::vector<uint8_t> &fb) {
    ASSERT_TRUE(llmc::fb::GetMutableModel(fb.data())->mutable_manifest()->mutate_format_version(
        LLMC_FORMAT_VERSION - 1));
  };
  ASSERT_EQ(writeDesc(fakeDesc(), path, o), "");
  std::vector<uint8_t> f = readFile(path);
  std::remove(path.c_str());
  llmc_wr32(&f[8], LLMC_FORMAT_VERSION - 1);
  EXPECT_EQ(openBytes(f), LLMC_ERR_UNSUPPORTED_VERSION);
  EXPECT_NE(std::string(llmc_last_error()).find("format version 2, this runtime reads 3"),
            std::string::npos)
      << llmc_last_error();
}

TEST_F(RuntimeTest, BadHeader) {
  std::vector<uint8_t> f = *bytes_;
  f[0] = 'X';
  EXPECT_EQ(openBytes(f), LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("magic"), std::string::npos);
  f = *bytes_;
  llmc_wr32(&f[8], 1);  // llmc_forward payloads: refused, not misread
  EXPECT_EQ(openBytes(f), LLMC_ERR_UNSUPPORTED_VERSION);
  llmc_wr32(&f[8], 2);  // payloads without a code record
  EXPECT_EQ(openBytes(f), LLMC_ERR_UNSUPPORTED_VERSION);
  llmc_wr32(&f[8], 4);
  EXPECT_EQ(openBytes(f), LLMC_ERR_UNSUPPORTED_VERSION);
  llmc_wr32(&f[8], 0);
  EXPECT_EQ(openBytes(f), LLMC_ERR_UNSUPPORTED_VERSION);

  const uint64_t fields[] = {16, 24, 32, 40};  // fb offset/size, weights offset/size
  const uint64_t evil[] = {0, 1, 8, 63, 4096, 1ull << 40, ~0ull, ~0ull - 63, ~0ull - 4095,
                           (uint64_t)bytes_->size(), (uint64_t)bytes_->size() + 4096};
  for (uint64_t at : fields)
    for (uint64_t v : evil) {
      f = *bytes_;
      if (llmc_rd64(&f[at]) == v) continue;
      setHeader64(f, at, v);
      llmc_status st = openBytes(f);
      EXPECT_TRUE(st == LLMC_ERR_BAD_FORMAT || st == LLMC_ERR_CHECKSUM)
          << "field " << at << " = " << v << ": " << st;
    }
  f = *bytes_;
  llmc_wr32(&f[12], 32);  // header_size below 64
  EXPECT_EQ(openBytes(f), LLMC_ERR_BAD_FORMAT);
  llmc_wr32(&f[12], 0xFFFFFFFFu);
  EXPECT_EQ(openBytes(f), LLMC_ERR_BAD_FORMAT);
}

TEST_F(RuntimeTest, FlippedBytes) {
  llmc_file_header h;
  llmc_header_decode(bytes_->data(), &h);
  for (uint64_t at : {h.flatbuffer_offset, h.flatbuffer_offset + h.flatbuffer_size / 2,
                      h.flatbuffer_offset + h.flatbuffer_size - 1}) {
    std::vector<uint8_t> f = *bytes_;
    f[at] ^= 0x40;
    EXPECT_EQ(openBytes(f), LLMC_ERR_CHECKSUM) << at;
    EXPECT_NE(std::string(llmc_last_error()).find("flatbuffer checksum"), std::string::npos);
  }
  for (uint64_t at : {h.weights_offset, h.weights_offset + 100, h.weights_offset + 227}) {
    std::vector<uint8_t> f = *bytes_;
    f[at] ^= 1;
    EXPECT_EQ(openBytes(f), LLMC_ERR_CHECKSUM) << at;
    EXPECT_NE(std::string(llmc_last_error()).find("weights checksum"), std::string::npos);
    // The weights hash can be skipped at open (documented).
    EXPECT_EQ(openBytes(f, LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM), LLMC_OK);
  }
  // Padding between the flatbuffer and the weights is not covered by the
  // checksums and not read.
  std::vector<uint8_t> f = *bytes_;
  f[h.weights_offset - 1] ^= 1;
  EXPECT_EQ(openBytes(f), LLMC_OK);
}

namespace {
// Writes the fake model with a flatbuffer edit (checksums stay valid) and
// returns the open status.
llmc_status openMutated(const std::function<void(std::vector<uint8_t> &)> &mutate,
                        ArtifactDesc d = fakeDesc()) {
  std::string path = tempPath("mutated.llmc");
  WriteOptions o;
  o.mutateFlatBuffer = mutate;
  std::string e = writeDesc(d, path, o);
  EXPECT_EQ(e, "");
  llmc_model *m = nullptr;
  llmc_status st = llmc_model_open(path.c_str(), 0, &m);
  if (st == LLMC_OK) llmc_model_close(m);
  else EXPECT_STRNE(llmc_last_error(), "");
  std::remove(path.c_str());
  return st;
}
llmc::fb::Weight *mutableWeight(std::vector<uint8_t> &fb, unsigned i) {
  return llmc::fb::GetMutableModel(fb.data())->mutable_weights()->GetMutableObject(i);
}
} // namespace

TEST(RuntimeHostile, WeightOutsideSegment) {
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(mutableWeight(fb, 1)->mutate_offset(1u << 20));
            }),
            LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("outside the weights segment"), std::string::npos)
      << llmc_last_error();
  // offset + size overflows.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(mutableWeight(fb, 2)->mutate_size(~0ull - 64));
            }),
            LLMC_ERR_BAD_FORMAT);
  // Ends one byte past the segment.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(mutableWeight(fb, 2)->mutate_size(101));
            }),
            LLMC_ERR_BAD_FORMAT);
  // Misaligned.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(mutableWeight(fb, 1)->mutate_offset(68));
            }),
            LLMC_ERR_BAD_FORMAT);
  // Size disagrees with shape x dtype.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(mutableWeight(fb, 1)->mutate_size(24));
            }),
            LLMC_ERR_BAD_FORMAT);
  // weights_segment.size disagrees with the header.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              ASSERT_TRUE(llmc::fb::GetMutableModel(fb.data())->mutable_weights_segment()->mutate_size(100));
            }),
            LLMC_ERR_BAD_FORMAT);
}

TEST(RuntimeHostile, VerifierRejectsCraftedFlatbuffers) {
  // Root offset pointing past the end.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) { llmc_wr32(fb.data(), 0x7FFFFFF0u); }),
            LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("verification"), std::string::npos);
  // Wrong file identifier.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) { fb[4] = 'X'; }), LLMC_ERR_BAD_FORMAT);
  // A string length running past the buffer: a kernel's entry name.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              auto *p = llmc::fb::GetMutableModel(fb.data())->mutable_payloads()->GetMutableObject(0);
              const auto *k = p->kernels()->Get(0);
              size_t at = (size_t)(reinterpret_cast<const uint8_t *>(k->entry()) - fb.data());
              llmc_wr32(&fb[at], 0x10000000u);
            }),
            LLMC_ERR_BAD_FORMAT);
  // Vtable offset of the root table pointing outside.
  EXPECT_EQ(openMutated([](std::vector<uint8_t> &fb) {
              uint32_t root = llmc_rd32(fb.data());
              llmc_wr32(&fb[root], 0x7FFFFFFFu);
            }),
            LLMC_ERR_BAD_FORMAT);
  // Every single-byte corruption of the metadata (checksum re-fixed) is
  // either rejected or still a consistent model; never a crash. The payload
  // bytes are skipped: they are native code handed to the dynamic loader, so
  // only the checksum protects them (an artifact is as trusted as a .so).
  std::string path = tempPath("base.llmc");
  ASSERT_EQ(writeDesc(fakeDesc(), path), "");
  std::vector<uint8_t> good = readFile(path);
  std::remove(path.c_str());
  llmc_file_header h;
  llmc_header_decode(good.data(), &h);
  const uint8_t *fbStart = &good[h.flatbuffer_offset];
  const auto *pdata = llmc::fb::GetModel(fbStart)->payloads()->Get(0)->data();
  const uint64_t codeBegin = (uint64_t)(pdata->data() - fbStart), codeEnd = codeBegin + pdata->size();
  for (uint64_t i = 0; i < h.flatbuffer_size; ++i) {
    if (i >= codeBegin && i < codeEnd) continue;
    std::vector<uint8_t> f = good;
    f[h.flatbuffer_offset + i] ^= 0xA5;
    fixFlatbufferChecksum(f);
    openBytes(f);
  }
}

// ---- runtime: the C metadata reader against FlatBuffers' own verifier -------------

namespace {
// The metadata FlatBuffer of the fake artifact, with every optional part set.
std::vector<uint8_t> fakeFlatBuffer() {
  ArtifactDesc d = fakeDesc();
  d.config.ropeScalingType = "llama3";
  d.config.ropeScalingFactor = 32.0f;
  d.config.bosTokenId = 1;
  d.config.tieWordEmbeddings = true;
  d.weights[2].hasQuant = true;
  d.weights[2].quant.scheme = "q4_g32";
  d.tokenizerBlob.assign(48, 7);
  d.arenaSizeUnfused = 12345;
  std::string path = tempPath("fb.llmc");
  EXPECT_EQ(writeDesc(d, path), "");
  std::vector<uint8_t> file = readFile(path);
  std::remove(path.c_str());
  llmc_file_header h;
  llmc_header_decode(file.data(), &h);
  return std::vector<uint8_t>(file.begin() + h.flatbuffer_offset,
                              file.begin() + h.flatbuffer_offset + h.flatbuffer_size);
}

// FlatBuffers' verdict with the options the C++ verifier had in the runtime.
bool flatbuffersAccepts(const std::vector<uint8_t> &b) {
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = 1u << 22;
  flatbuffers::Verifier v(b.data(), b.size(), opts);
  return llmc::fb::VerifyModelBuffer(v);
}

bool cAccepts(const std::vector<uint8_t> &b) {
  llmc_fb_model m;
  return llmc_fb_read(b.data(), b.size(), &m) == 0;
}

// A Scalar as the C reader exposes it (32 little-endian bytes).
void expectSameScalar(const uint8_t *a, const llmc::fb::Scalar &b) {
  EXPECT_EQ((int64_t)llmc_rd64(a), b.c());
  EXPECT_EQ((int64_t)llmc_rd64(a + 8), b.n_tokens());
  EXPECT_EQ((int64_t)llmc_rd64(a + 16), b.start_pos());
  EXPECT_EQ((int64_t)llmc_rd64(a + 24), b.logit_rows());
}
} // namespace

// Every value the runtime reads, read by the C reader and by flatc's C++
// accessors from the same buffer.
TEST(FbReader, ReadsWhatFlatBuffersReads) {
  std::vector<uint8_t> b = fakeFlatBuffer();
  llmc_fb_model f;
  ASSERT_EQ(llmc_fb_read(b.data(), b.size(), &f), 0);
  const llmc::fb::Model *m = llmc::fb::GetModel(b.data());
  const auto *man = m->manifest();
  EXPECT_EQ(f.info.format_version, man->format_version());
  EXPECT_STREQ(f.info.compiler_version, man->compiler_version()->c_str());
  EXPECT_STREQ(f.info.target, man->target()->c_str());
  EXPECT_STREQ(f.info.target_triple, man->target_triple()->c_str());
  EXPECT_STREQ(f.info.cpu_features, man->cpu_features()->c_str());
  EXPECT_STREQ(f.info.quantization, man->quantization()->c_str());
  EXPECT_STREQ(f.info.created_by, man->created_by()->c_str());
  const auto *c = m->config();
  EXPECT_EQ(f.info.hidden_size, c->hidden_size());
  EXPECT_EQ(f.info.intermediate_size, c->intermediate_size());
  EXPECT_EQ(f.info.num_layers, c->num_layers());
  EXPECT_EQ(f.info.num_heads, c->num_heads());
  EXPECT_EQ(f.info.num_kv_heads, c->num_kv_heads());
  EXPECT_EQ(f.info.head_dim, c->head_dim());
  EXPECT_EQ(f.info.vocab_size, c->vocab_size());
  EXPECT_EQ(f.info.max_context, c->max_context());
  EXPECT_EQ(f.info.prefill_chunk, c->prefill_chunk());
  EXPECT_EQ(f.info.rms_norm_eps, c->rms_norm_eps());
  EXPECT_EQ(f.info.rope_theta, c->rope_theta());
  EXPECT_STREQ(f.info.rope_scaling_type, "llama3");
  EXPECT_EQ(f.info.rope_scaling_factor, 32.0f);
  EXPECT_EQ(f.info.rope_low_freq_factor, c->rope_low_freq_factor());
  EXPECT_EQ(f.info.rope_high_freq_factor, c->rope_high_freq_factor());
  EXPECT_EQ(f.info.rope_original_max_position_embeddings, c->rope_original_max_position_embeddings());
  EXPECT_EQ(f.info.tie_word_embeddings, 1);
  EXPECT_EQ(f.info.bos_token_id, 1);
  ASSERT_EQ(f.num_eos, c->eos_token_ids()->size());
  for (uint32_t i = 0; i < f.num_eos; ++i)
    EXPECT_EQ((int32_t)llmc_rd32(f.eos_le + 4 * i), c->eos_token_ids()->Get(i));
  EXPECT_EQ(f.info.arena_size, m->arena_size());
  EXPECT_EQ(f.info.arena_size_unfused, 12345u);
  EXPECT_EQ(f.info.kv_cache_bytes_per_token, m->kv_cache_bytes_per_token());
  EXPECT_EQ(f.kv_cache_dtype, (uint32_t)m->kv_cache_dtype());
  EXPECT_EQ(f.info.weights_size, m->weights_segment()->size());
  EXPECT_EQ(f.seg_alignment, m->weights_segment()->alignment());
  EXPECT_EQ(f.seg_file_alignment, m->weights_segment()->file_alignment());
  EXPECT_EQ(f.tokenizer_blob, m->tokenizer()->blob()->data());
  EXPECT_EQ(f.tokenizer_size, 48u);

  ASSERT_EQ(f.num_payloads, m->payloads()->size());
  for (uint32_t i = 0; i < f.num_payloads; ++i) {
    llmc_fb_payload p;
    llmc_fb_payload_at(&f, i, &p);
    const auto *q = m->payloads()->Get(i);
    EXPECT_STREQ(p.target, q->target()->c_str());
    EXPECT_STREQ(p.format, q->format()->c_str());
    EXPECT_EQ(p.data, q->data()->data());
    EXPECT_EQ(p.size, q->data()->size());
    ASSERT_EQ(p.num_kernels, q->kernels()->size());
    for (uint32_t k = 0; k < p.num_kernels; ++k) {
      llmc_fb_kernel kd;
      llmc_fb_kernel_at(&f, i, k, &kd);
      const auto *kq = q->kernels()->Get(k);
      EXPECT_STREQ(kd.name, kq->name()->c_str());
      EXPECT_STREQ(kd.entry, kq->entry()->c_str());
      EXPECT_EQ(kd.num_scalars, kq->num_scalars());
      ASSERT_EQ(kd.num_bindings, kq->binding_sizes()->size());
      for (uint32_t j = 0; j < kd.num_bindings; ++j)
        EXPECT_EQ(llmc_rd64(kd.binding_sizes_le + 8 * j), kq->binding_sizes()->Get(j));
    }
  }
  ASSERT_EQ(f.info.num_dispatches, m->schedule()->size());
  for (uint32_t i = 0; i < f.info.num_dispatches; ++i) {
    llmc_fb_dispatch d;
    llmc_fb_dispatch_at(&f, i, &d);
    const auto *q = m->schedule()->Get(i);
    EXPECT_STREQ(d.kernel, q->kernel()->c_str());
    EXPECT_STREQ(d.label, q->label()->c_str());
    EXPECT_EQ(d.kernel_index, q->kernel_index());
    EXPECT_EQ(d.layer, q->layer());
    ASSERT_NE(d.grid, nullptr);
    expectSameScalar(d.grid, *q->grid());
    ASSERT_EQ(d.num_operands, q->operands()->size());
    for (uint32_t j = 0; j < d.num_operands; ++j) {
      const uint8_t *op = d.operands + 24 * j;
      EXPECT_EQ(op[0], (uint32_t)q->operands()->Get(j)->space());
      EXPECT_EQ(llmc_rd64(op + 8), q->operands()->Get(j)->offset());
      EXPECT_EQ(llmc_rd64(op + 16), q->operands()->Get(j)->size());
    }
    ASSERT_EQ(d.num_scalars, q->scalars()->size());
    for (uint32_t j = 0; j < d.num_scalars; ++j)
      expectSameScalar(d.scalars + 32 * j, *q->scalars()->Get(j));
    EXPECT_EQ(d.num_reads, q->reads() ? q->reads()->size() : 0u);
    EXPECT_EQ(d.num_writes, q->writes() ? q->writes()->size() : 0u);
    for (uint32_t j = 0; j < d.num_reads; ++j) {
      expectSameScalar(d.reads + 32 * j, *q->reads()->Get(j));
      expectSameScalar(d.writes + 32 * j, *q->writes()->Get(j));
    }
  }
  ASSERT_EQ(f.info.num_weights, m->weights()->size());
  for (uint32_t i = 0; i < f.info.num_weights; ++i) {
    llmc_fb_weight w;
    llmc_fb_weight_at(&f, i, &w);
    const auto *q = m->weights()->Get(i);
    EXPECT_STREQ(w.name, q->name()->c_str());
    EXPECT_EQ(w.dtype, (uint32_t)q->dtype());
    EXPECT_EQ(w.has_quant, q->quant() != nullptr);
    EXPECT_EQ(w.offset, q->offset());
    EXPECT_EQ(w.size, q->size());
    ASSERT_EQ(w.rank, q->shape()->size());
    for (uint32_t d = 0; d < w.rank; ++d)
      EXPECT_EQ((int64_t)llmc_rd64(w.shape_le + 8 * d), q->shape()->Get(d));
  }
}

// The C verifier gives FlatBuffers' verdict on every buffer: each byte of the
// metadata changed three ways, aligned words set to boundary values, random
// multi-byte edits and truncations. Equality both ways: refusing what
// FlatBuffers accepts would break good files, accepting what it refuses
// would read out of bounds.
TEST(FbReader, VerdictMatchesFlatBuffersVerifier) {
  const std::vector<uint8_t> good = fakeFlatBuffer();
  ASSERT_TRUE(flatbuffersAccepts(good));
  ASSERT_TRUE(cAccepts(good));
  size_t accepted = 0, refused = 0;
  auto check = [&](const std::vector<uint8_t> &b, const char *what, size_t at) {
    bool ref = flatbuffersAccepts(b);
    ASSERT_EQ(cAccepts(b), ref) << what << " at " << at;
    ++(ref ? accepted : refused);
  };
  for (size_t i = 0; i < good.size(); ++i)
    for (uint8_t x : {0x01, 0x80, 0xFF}) {
      std::vector<uint8_t> b = good;
      b[i] ^= x;
      check(b, "byte flip", i);
    }
  const uint32_t words[] = {0, 1, 2, 3, 4, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu,
                            (uint32_t)good.size(), (uint32_t)good.size() - 4};
  for (size_t i = 0; i + 4 <= good.size(); i += 2)
    for (uint32_t w : words) {
      std::vector<uint8_t> b = good;
      llmc_wr32(&b[i], w);
      check(b, "word", i);
    }
  std::mt19937 rng(20261127);
  for (int t = 0; t < 20000; ++t) {
    std::vector<uint8_t> b = good;
    int edits = 1 + (int)(rng() % 4);
    for (int e = 0; e < edits; ++e) b[rng() % b.size()] = (uint8_t)rng();
    check(b, "random edit", (size_t)t);
  }
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> b(good.begin(), good.begin() + n);
    check(b, "truncated to", n);
  }
  // Both outcomes were exercised, many times.
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(refused, 1000u);
}

bool haveVulkanLoader() {
  void *lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib) dlclose(lib);
  return lib != nullptr;
}

TEST(RuntimeHostile, WrongTarget) {
  ArtifactDesc d = fakeDesc();
  d.manifest.targetTriple = "riscv64-unknown-linux-gnu";
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_WRONG_TARGET);
  EXPECT_NE(std::string(llmc_last_error()).find("riscv64"), std::string::npos);
  d = fakeDesc();
#if defined(__x86_64__)
  d.payloads[0].target = "aarch64-linux-android";
#else
  d.payloads[0].target = "x86_64-unknown-linux-gnu";
#endif
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_WRONG_TARGET);
  d = fakeDesc();
  d.payloads[0].format = "msl";  // no HAL of this runtime runs Metal
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_WRONG_TARGET);
  d = fakeDesc();
  d.payloads[0].format = "spirv";  // the Vulkan HAL's, but not SPIR-V
  EXPECT_EQ(openMutated(nullptr, d), haveVulkanLoader() ? LLMC_ERR_BAD_FORMAT
                                                        : LLMC_ERR_UNSUPPORTED);
  d = fakeDesc();
  d.payloads.clear();
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_WRONG_TARGET);
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx512f")) {
    d = fakeDesc();
    d.manifest.cpuFeatures = "+avx2,+avx512f";
    EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_CPU_FEATURES);
    EXPECT_NE(std::string(llmc_last_error()).find("avx512f"), std::string::npos);
  }
#endif
}

// An artifact for another machine opens for its metadata (llmc inspect,
// llmc tokenize of an android/cpu build on x86-64), never for running.
TEST(Runtime, MetadataOnlyOpensForeignArtifacts) {
  ArtifactDesc d = fakeDesc();
#if defined(__x86_64__)
  d.manifest.targetTriple = "aarch64-linux-android";
  d.payloads[0].target = "aarch64-linux-android";
#else
  d.manifest.targetTriple = "x86_64-unknown-linux-gnu";
  d.payloads[0].target = "x86_64-unknown-linux-gnu";
#endif
  d.manifest.cpuFeatures = "+neon,+dotprod,+i8mm,+avx512f";
  std::string path = tempPath("foreign.llmc");
  ASSERT_EQ(writeDesc(d, path, WriteOptions()), "");
  llmc_model *m = nullptr;
  EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_ERR_WRONG_TARGET);
  ASSERT_EQ(llmc_model_open(path.c_str(), LLMC_OPEN_METADATA_ONLY, &m), LLMC_OK)
      << llmc_last_error();
  llmc_model_info info;
  ASSERT_EQ(llmc_model_get_info(m, &info), LLMC_OK);
  EXPECT_EQ(std::string(info.target_triple), d.manifest.targetTriple);
  ASSERT_GT(info.num_dispatches, 0u);
  llmc_dispatch_info di;
  EXPECT_EQ(llmc_model_get_dispatch_info(m, 0, 1, 0, &di), LLMC_OK);
  llmc_context *c = nullptr;
  llmc_context_params params = {0, 0, 1, 0};
  EXPECT_EQ(llmc_context_create(m, &params, &c), LLMC_ERR_UNSUPPORTED);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(llmc_last_error()).find("METADATA_ONLY"), std::string::npos);
  llmc_model_close(m);
  std::remove(path.c_str());
}

TEST(RuntimeHostile, BadPayload) {
  ArtifactDesc d = fakeDesc();
  d.payloads[0].data.assign(4096, 0x90);  // not an ELF file
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_PAYLOAD_LOAD);
  d = fakeDesc();
  d.payloads[0].kernels[1].entry = "no_such_entry";
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_PAYLOAD_LOAD);
  EXPECT_NE(std::string(llmc_last_error()).find("no_such_entry"), std::string::npos);
  d = fakeDesc();
  d.payloads[0].kernels[0].entry = "";
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_BAD_FORMAT);
  d = fakeDesc();
  d.payloads[0].kernels.clear();
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_BAD_FORMAT);
  d = fakeDesc();
  d.payloads[0].data.clear();
  EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_BAD_FORMAT);
}

TEST(RuntimeHostile, InsaneConfig) {
  const std::vector<std::function<void(ArtifactDesc &)>> edits = {
      [](ArtifactDesc &d) { d.config.numHeads = 5; },  // not a multiple of kv heads
      [](ArtifactDesc &d) { d.config.numKvHeads = 0; },
      [](ArtifactDesc &d) { d.config.vocabSize = 0; },
      [](ArtifactDesc &d) { d.config.vocabSize = -3; },
      [](ArtifactDesc &d) { d.config.prefillChunk = 0; },
      [](ArtifactDesc &d) { d.config.prefillChunk = FAKE_MAX_CONTEXT + 1; },
      [](ArtifactDesc &d) { d.config.maxContext = 0; },
      [](ArtifactDesc &d) { d.config.maxContext = INT32_MAX; },
      [](ArtifactDesc &d) { d.config.numLayers = 100000; },
      [](ArtifactDesc &d) { d.config.headDim = -1; },
      [](ArtifactDesc &d) { d.config.rmsNormEps = 0; },
      [](ArtifactDesc &d) { d.config.ropeTheta = -1; },
      [](ArtifactDesc &d) { d.config.eosTokenIds = {FAKE_VOCAB}; },
      [](ArtifactDesc &d) { d.config.bosTokenId = FAKE_VOCAB; },
      [](ArtifactDesc &d) { d.arenaSize = ~0ull; },
      [](ArtifactDesc &d) { d.kvCacheBytesPerToken = 12; },
      [](ArtifactDesc &d) { d.manifest.compilerVersion.clear(); d.config.hiddenSize = 0; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    ArtifactDesc d = fakeDesc();
    edits[i](d);
    EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_BAD_FORMAT) << "edit " << i;
  }
}

// The schedule must match the kernels' compiled signatures and stay inside
// the buffers: refused at open, before any code runs.
TEST(RuntimeHostile, ScheduleDisagreesWithKernels) {
  const std::vector<std::function<void(ArtifactDesc &)>> edits = {
      [](ArtifactDesc &d) { d.schedule[1].kernelIndex = 2; },
      [](ArtifactDesc &d) { d.schedule[1].kernelIndex = 0; },  // wrong arity
      [](ArtifactDesc &d) { d.schedule[1].operands.pop_back(); },
      [](ArtifactDesc &d) { d.schedule[1].scalars.pop_back(); },
      [](ArtifactDesc &d) { d.schedule[0].operands[0].size = FAKE_ARENA - 4; },
      [](ArtifactDesc &d) { d.schedule[0].operands[0].offset = 64; },  // past the arena
      [](ArtifactDesc &d) { d.schedule[0].operands[0].space = BufferSpace(9); },
      [](ArtifactDesc &d) { d.schedule[1].operands[2].offset = 4; },  // past the KV cache
      [](ArtifactDesc &d) { d.schedule[1].operands[0].offset = 1u << 20; },
      [](ArtifactDesc &d) { d.payloads[0].kernels[1].bindingSizes[4] += 4; },
      [](ArtifactDesc &d) { d.schedule[0].grid = {-1, 0, 0, 0}; },
      [](ArtifactDesc &d) { d.schedule[0].grid = {0, 0, -1, 0}; },  // < 0 late in the context
      [](ArtifactDesc &d) { d.schedule[0].grid = {0, 1ll << 40, 0, 0}; },
      [](ArtifactDesc &d) { d.schedule[0].grid = {0, -(1ll << 62), 0, 1ll << 62}; },
      [](ArtifactDesc &d) { d.schedule[1].scalars[0] = {INT64_MIN, INT64_MAX, 0, 0}; },
      [](ArtifactDesc &d) { d.schedule[1].reads = std::vector<ScalarDesc>(5, {0, 0, INT64_MIN, 0}); },
      [](ArtifactDesc &d) { d.schedule[1].writes = {{1, 0, 0, 0}}; },  // not one per binding
      [](ArtifactDesc &d) { d.schedule.clear(); },
      [](ArtifactDesc &d) { d.schedule[1].layer = FAKE_LAYERS; },  // no such layer
      [](ArtifactDesc &d) { d.schedule[0].layer = -2; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    ArtifactDesc d = fakeDesc();
    edits[i](d);
    EXPECT_EQ(openMutated(nullptr, d), LLMC_ERR_BAD_FORMAT) << "edit " << i;
  }
}

// Metadata edited after the code was compiled (checksums recomputed, every
// other check passed): the record the code carries disagrees, and the file
// is refused before any kernel runs. Without this check the larger prefill
// chunk alone makes the real kernels write past the arena.
TEST(RuntimeHostile, MetadataDisagreesWithCode) {
  const std::vector<std::pair<std::string, std::function<void(ArtifactDesc &)>>> edits = {
      {"prefill_chunk", [](ArtifactDesc &d) { d.config.prefillChunk *= 2; }},
      {"max_context", [](ArtifactDesc &d) { d.config.maxContext *= 2; }},
      {"arena_size", [](ArtifactDesc &d) { d.arenaSize += 64; }},
      {"dispatches", [](ArtifactDesc &d) { d.schedule.push_back(d.schedule[0]); }},
      {"compiled with", [](ArtifactDesc &d) { d.payloads[0].kernels[1].bindingSizes[1] -= 4; }},
      {"compiled with", [](ArtifactDesc &d) { d.schedule[0].scalars[0].c = 1; }},
      {"compiled with", [](ArtifactDesc &d) { d.schedule[0].grid.c -= 1; }},
      {"compiled with", [](ArtifactDesc &d) { d.schedule[1].operands[1].offset = 0; d.schedule[1].layer = 0; }},
      {"compiled with", [](ArtifactDesc &d) { d.schedule[1].operands[0].size -= 4; }},
      {"compiled with", [](ArtifactDesc &d) {
         std::swap(d.payloads[0].kernels[0].entry, d.payloads[0].kernels[1].entry);
       }},
      {"compiled with", [](ArtifactDesc &d) { d.config.hiddenSize += 1; }},
      {"compiled with", [](ArtifactDesc &d) { d.kvCacheDType = DType::F16; }},
  };
  std::string path = tempPath("edited.llmc");
  for (size_t i = 0; i < edits.size(); ++i) {
    ArtifactDesc d = fakeDesc();
    ASSERT_EQ(layoutWeights(d), "");
    seal(d);
    edits[i].second(d);
    ASSERT_EQ(writeDesc(d, path, {}, /*sealed=*/false), "");
    llmc_model *m = nullptr;
    EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_ERR_BAD_FORMAT) << "edit " << i;
    EXPECT_NE(std::string(llmc_last_error()).find(edits[i].first), std::string::npos)
        << "edit " << i << ": " << llmc_last_error();
  }
  // The same file sealed for its final metadata opens: the record, not the
  // edit, is what the first loop tests.
  ArtifactDesc d = fakeDesc();
  d.config.prefillChunk *= 2;
  ASSERT_EQ(writeDesc(d, path), "");
  llmc_model *m = nullptr;
  EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  // A payload without a record (cut off): refused, saying so.
  d = fakeDesc();
  ASSERT_EQ(writeDesc(d, path, {}, /*sealed=*/false), "");
  EXPECT_EQ(llmc_model_open(path.c_str(), 0, &m), LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("no record"), std::string::npos)
      << llmc_last_error();
  std::remove(path.c_str());
}

TEST(RuntimeLoader, PayloadsAreNeverConfused) {
  // Payload A is linked with -z nodelete: it stays loaded after close, under
  // its /proc/self/fd/N name. Payloads loaded later must still be their own.
  ArtifactDesc a = fakeDesc();
  a.payloads[0].data = readFile(LLMC_FAKE_PAYLOAD_NODELETE_PATH);
  std::string pa = tempPath("a.llmc"), pb = tempPath("b.llmc");
  ASSERT_EQ(writeDesc(a, pa), "");
  ASSERT_EQ(writeDesc(fakeDesc(), pb), "");
  auto tagOf = [](llmc_model *m) {
    llmc_context *c = nullptr;
    EXPECT_EQ(llmc_context_create(m, nullptr, &c), LLMC_OK);
    EXPECT_EQ(llmc_decode(c, 1), LLMC_OK);
    const float *l = nullptr;
    EXPECT_EQ(llmc_get_logits(c, &l), LLMC_OK);
    float tag = l[FAKE_ROW_FIXED] - FAKE_ROW_FIXED * 0.5f;
    llmc_context_free(c);
    return tag;
  };
  llmc_model *ma = nullptr, *mb = nullptr, *mc = nullptr;
  ASSERT_EQ(llmc_model_open(pa.c_str(), 0, &ma), LLMC_OK) << llmc_last_error();
  ASSERT_EQ(llmc_model_open(pb.c_str(), 0, &mb), LLMC_OK) << llmc_last_error();
  EXPECT_EQ(tagOf(ma), 1.0f);
  EXPECT_EQ(tagOf(mb), 0.0f);
  llmc_model_close(ma);
  llmc_model_close(mb);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(llmc_model_open(pb.c_str(), 0, &mb), LLMC_OK) << llmc_last_error();
    ASSERT_EQ(llmc_model_open(pa.c_str(), 0, &ma), LLMC_OK) << llmc_last_error();
    ASSERT_EQ(llmc_model_open(pb.c_str(), 0, &mc), LLMC_OK) << llmc_last_error();
    EXPECT_EQ(tagOf(mb), 0.0f);
    EXPECT_EQ(tagOf(ma), 1.0f);
    EXPECT_EQ(tagOf(mc), 0.0f);
    llmc_model_close(ma);
    llmc_model_close(mb);
    llmc_model_close(mc);
  }
  std::remove(pa.c_str());
  std::remove(pb.c_str());
}

// ---- the OpenCL HAL ------------------------------------------------------------
//
// The fake model's two kernels written in OpenCL C with the OpenCL target's
// kernel ABI ((buffer, byte offset) per binding, the scalars, the grid), run
// by the OpenCL HAL on whatever driver is installed (PoCL in CI): the same
// checks as the CPU HAL's (chunking, positions, the KV cache kept between
// calls, the weights mapped, tokens written and logits read back), plus
// the HAL's own refusals. Without an OpenCL platform the tests skip, except
// under LLMC_REQUIRE_OPENCL (scripts/test.sh), where they fail.

namespace {

bool haveOpenCL() {
  void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return false;
  using GetPlatforms = int32_t (*)(uint32_t, void *, uint32_t *);
  auto get = reinterpret_cast<GetPlatforms>(dlsym(lib, "clGetPlatformIDs"));
  uint32_t n = 0;
  bool ok = get && get(0, nullptr, &n) == 0 && n > 0;
  dlclose(lib);
  return ok;
}

#define REQUIRE_OPENCL()                                                        \
  do {                                                                          \
    if (!haveOpenCL()) {                                                        \
      if (std::getenv("LLMC_REQUIRE_OPENCL"))                                   \
        FAIL() << "LLMC_REQUIRE_OPENCL is set and no OpenCL platform works";    \
      GTEST_SKIP() << "no OpenCL platform";                                     \
    }                                                                           \
  } while (0)

#define STR2(x) #x
#define STR(x) STR2(x)
const std::string kFakeOpenCL =
    "#define FAKE_ARENA " STR(FAKE_ARENA) "\n"
    "#define FAKE_LAYERS " STR(FAKE_LAYERS) "\n"
    "#define FAKE_MAX_CONTEXT " STR(FAKE_MAX_CONTEXT) "\n"
    "#define FAKE_KV_DIM " STR(FAKE_KV_DIM) "\n"
    "#define FAKE_VOCAB " STR(FAKE_VOCAB) "\n"
    "#define FAKE_W1_OFFSET " STR(FAKE_W1_OFFSET) "\n"
    "#define FAKE_ROW_FIXED " STR(FAKE_ROW_FIXED) "\n"
    R"CL(
__kernel void llmc_fake_fill(__global uchar *b0, ulong o0, long n_tokens, long grid) {
  long i = get_global_id(0);
  if (i >= grid) return;
  ((__global float *)(b0 + o0))[i] = (float)(10 * i + n_tokens);
}
__kernel void llmc_fake_forward(__global uchar *b0, ulong o0, __global uchar *b1, ulong o1,
                                __global uchar *b2, ulong o2, __global uchar *b3, ulong o3,
                                __global uchar *b4, ulong o4, long n_tokens, long start_pos,
                                long rows, long grid) {
  if (get_global_id(0) != 0) return;
  __global uchar *weights = b0 + o0;
  __global float *arena = (__global float *)(b1 + o1);
  __global float *kv = (__global float *)(b2 + o2);
  __global int *tokens = (__global int *)(b3 + o3);
  __global float *logits = (__global float *)(b4 + o4);
  int all_logits = rows == n_tokens, filled = 1;
  for (long i = 0; i < FAKE_ARENA / 4; ++i) filled &= arena[i] == (float)(10 * i + n_tokens);
  for (long i = 0; i < FAKE_ARENA / 4; ++i) arena[i] = -1.0f;
  for (long i = 0; i < n_tokens; ++i)
    for (int l = 0; l < FAKE_LAYERS; ++l)
      for (int k = 0; k < 2; ++k)
        for (int d = 0; d < FAKE_KV_DIM; ++d)
          kv[((l * 2 + k) * FAKE_MAX_CONTEXT + start_pos + i) * FAKE_KV_DIM + d] = (float)tokens[i];
  float w0 = *(__global float *)weights, w1 = *(__global float *)(weights + FAKE_W1_OFFSET);
  for (long i = 0; i < n_tokens; ++i) {
    if (!all_logits && i != n_tokens - 1) continue;
    __global float *row = logits + (all_logits ? i * FAKE_VOCAB : 0);
    long p = start_pos + i;
    float sum = 0;
    for (long q = 0; q <= p; ++q)
      sum += kv[(((FAKE_LAYERS - 1) * 2 + 1) * FAKE_MAX_CONTEXT + q) * FAKE_KV_DIM + FAKE_KV_DIM - 1];
    row[0] = (float)(tokens[i] * 1000 + p + 1);
    row[1] = sum;
    row[2] = (float)n_tokens;
    row[3] = w0;
    row[4] = (float)start_pos;
    row[5] = w1;
    for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) row[v] = (float)v * 0.5f;
    if (!filled) row[FAKE_ROW_FIXED + 1] = -1.0f;
  }
}
)CL";

ArtifactDesc openclDesc(const std::string &source) {
  ArtifactDesc d = fakeDesc();
  d.manifest.target = "android/adreno740";
  d.manifest.targetTriple = "aarch64-linux-android";
  d.manifest.cpuFeatures = "";
  d.payloads[0].format = "opencl-c";
  d.payloads[0].target = "aarch64-linux-android";
  d.payloads[0].data.assign(source.begin(), source.end());
  return d;
}

/// Opens the OpenCL variant of the fake model with `source` as its program.
llmc_status openOpenCL(const std::string &source, llmc_model **m,
                       const char *cacheDir = nullptr) {
  std::string path = tempPath("opencl.llmc");
  EXPECT_EQ(writeDesc(openclDesc(source), path), "");
  llmc_open_params params = {};
  params.cache_dir = cacheDir;
  llmc_status st = llmc_model_open_with_params(path.c_str(), &params, m);
  std::remove(path.c_str());
  return st;
}

} // namespace

TEST(RuntimeOpenCL, RunsTheSchedule) {
  REQUIRE_OPENCL();
  llmc_model *m = nullptr;
  ASSERT_EQ(openOpenCL(kFakeOpenCL, &m), LLMC_OK) << llmc_last_error();
  llmc_model_info info;
  ASSERT_EQ(llmc_model_get_info(m, &info), LLMC_OK);
  EXPECT_STREQ(info.hal, "opencl");
  EXPECT_EQ(std::string(info.device).rfind("OpenCL ", 0), 0u) << info.device;
  llmc_context *c = nullptr;
  llmc_context_params p{0, LLMC_CONTEXT_ALL_LOGITS, 0, 0};
  ASSERT_EQ(llmc_context_create(m, &p, &c), LLMC_OK) << llmc_last_error();
  std::vector<int32_t> toks = {5, 9, 2, 31, 0, 7, 7};  // 5 + 2
  ASSERT_EQ(llmc_prefill(c, toks.data(), 7), LLMC_OK) << llmc_last_error();
  const float *l = nullptr;
  int64_t rows = 0, first = 0;
  ASSERT_EQ(llmc_get_all_logits(c, &l, &rows, &first), LLMC_OK);
  ASSERT_EQ(rows, 2);
  EXPECT_EQ(first, 5);
  float sums[2] = {5 + 9 + 2 + 31 + 0 + 7, 5 + 9 + 2 + 31 + 0 + 7 + 7};
  for (int r = 0; r < 2; ++r) {
    const float *row = l + r * FAKE_VOCAB;
    EXPECT_EQ(row[0], (float)(7 * 1000 + 5 + r + 1));
    EXPECT_EQ(row[1], sums[r]);  // the KV cache kept the first chunk
    EXPECT_EQ(row[2], 2.0f);
    EXPECT_EQ(row[3], 1.5f);     // weights reached the device
    EXPECT_EQ(row[4], 5.0f);
    EXPECT_EQ(row[5], 42.0f);
    for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) EXPECT_EQ(row[v], v * 0.5f);
  }
  ASSERT_EQ(llmc_decode(c, 3), LLMC_OK);
  ASSERT_EQ(llmc_get_all_logits(c, &l, &rows, &first), LLMC_OK);
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(l[0], (float)(3 * 1000 + 8));
  EXPECT_EQ(l[1], sums[1] + 3);
  llmc_context_free(c);
  llmc_model_close(m);
}

TEST(RuntimeOpenCL, CachesTheBuiltProgram) {
  REQUIRE_OPENCL();
  std::string dir = tempPath("clcache");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (int round = 0; round < 2; ++round) {
    llmc_model *m = nullptr;
    ASSERT_EQ(openOpenCL(kFakeOpenCL, &m, dir.c_str()), LLMC_OK) << llmc_last_error();
    llmc_model_close(m);
  }
  DIR *dd = opendir(dir.c_str());
  ASSERT_NE(dd, nullptr);
  int files = 0;
  while (dirent *e = readdir(dd))
    if (std::string(e->d_name).rfind("llmc-opencl-", 0) == 0) {
      ++files;
      std::remove((dir + "/" + e->d_name).c_str());
    }
  closedir(dd);
  rmdir(dir.c_str());
  EXPECT_EQ(files, 1);
  llmc_model *m = nullptr;
  EXPECT_EQ(openOpenCL(kFakeOpenCL, &m, "/nonexistent/llmc-cache"), LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(llmc_last_error()).find("does not exist"), std::string::npos);
}

TEST(RuntimeOpenCL, RefusesProgramsThatDisagreeWithTheArtifact) {
  REQUIRE_OPENCL();
  llmc_model *m = nullptr;
  // Source the driver cannot build: its build log is in the error.
  EXPECT_EQ(openOpenCL("__kernel void broken( {", &m), LLMC_ERR_PAYLOAD_LOAD);
  EXPECT_NE(std::string(llmc_last_error()).find("could not build"), std::string::npos)
      << llmc_last_error();
  EXPECT_EQ(m, nullptr);
  // A kernel the schedule launches is missing.
  std::string noForward = kFakeOpenCL;
  noForward.replace(noForward.find("llmc_fake_forward"), 17, "llmc_fake_other__");
  EXPECT_EQ(openOpenCL(noForward, &m), LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("no kernel 'llmc_fake_forward'"),
            std::string::npos)
      << llmc_last_error();
  // A kernel whose signature is not the one the kernel table records (one
  // scalar short): the runtime would pass arguments it does not take.
  std::string shortSig = kFakeOpenCL;
  shortSig.replace(shortSig.find("long n_tokens, long grid"), 24, "long grid");
  shortSig.replace(shortSig.find("10 * i + n_tokens"), 17, "10 * i");
  EXPECT_EQ(openOpenCL(shortSig, &m), LLMC_ERR_BAD_FORMAT);
  EXPECT_NE(std::string(llmc_last_error()).find("takes 3 arguments, the artifact's kernel "
                                                "table says 4"),
            std::string::npos)
      << llmc_last_error();
  // A device that does not exist.
  setenv("LLMC_OPENCL_DEVICE", "no-such-device", 1);
  EXPECT_EQ(openOpenCL(kFakeOpenCL, &m), LLMC_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(llmc_last_error()).find("LLMC_OPENCL_DEVICE=no-such-device"),
            std::string::npos)
      << llmc_last_error();
  setenv("LLMC_OPENCL_DEVICE", "0", 1);  // by index
  EXPECT_EQ(openOpenCL(kFakeOpenCL, &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  unsetenv("LLMC_OPENCL_DEVICE");
}

// ---- the Vulkan HAL ------------------------------------------------------------
//
// The fake model's two kernels as SPIR-V (test/runtime/vulkan/*.comp,
// compiled by glslang) with the Vulkan target's kernel ABI (binding i, then
// a binding of the scalars and the grid as int32), run by the Vulkan HAL
// on whatever driver is installed (lavapipe in CI) with the validation
// layer on: the same checks as the other HALs', plus the HAL's refusals of
// code that disagrees with the artifact. Without a Vulkan device or the
// SPIR-V tools the tests skip, except under LLMC_REQUIRE_VULKAN
// (scripts/test.sh), where they fail.

namespace {

bool haveVulkan() {
  if (!*LLMC_FAKE_SPIRV_PATH) return false;
  void *lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return false;
  dlclose(lib);
  return true;
}

#define REQUIRE_VULKAN()                                                        \
  do {                                                                          \
    if (!haveVulkan()) {                                                        \
      if (std::getenv("LLMC_REQUIRE_VULKAN"))                                   \
        FAIL() << "LLMC_REQUIRE_VULKAN is set and there is no Vulkan loader or "  \
                  "no glslang/spirv-link to build the fake kernels";            \
      GTEST_SKIP() << "no Vulkan";                                              \
    }                                                                           \
  } while (0)

std::vector<uint8_t> fakeSpirv() {
  // The Vulkan loader unloads the driver and layers at vkDestroyInstance;
  // kept loaded, what they allocate for the process lifetime is attributed
  // to them (scripts/lsan.supp) instead of an unknown module under
  // LeakSanitizer.
  static bool pinned = [] {
    for (const char *lib : {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"})
      dlopen(lib, RTLD_NOW | RTLD_NODELETE | RTLD_GLOBAL);
    return true;
  }();
  (void)pinned;
  return readFile(LLMC_FAKE_SPIRV_PATH);
}

/// Opens the Vulkan variant of the fake model with `code` as its module,
/// the validation layer on.
llmc_status openVulkan(const std::vector<uint8_t> &code, llmc_model **m,
                       const char *cacheDir = nullptr) {
  ArtifactDesc d = fakeDesc();
  d.manifest.target = "linux/vulkan";
  d.manifest.targetTriple = "x86_64-unknown-linux-gnu";
  d.manifest.cpuFeatures = "";
  d.payloads[0].format = "spirv";
  d.payloads[0].target = "x86_64-unknown-linux-gnu";
  d.payloads[0].data = code;
  std::string path = tempPath("vulkan.llmc");
  EXPECT_EQ(writeDesc(d, path), "");
  setenv("LLMC_VULKAN_VALIDATION", "1", 1);
  llmc_open_params params = {};
  params.cache_dir = cacheDir;
  llmc_status st = llmc_model_open_with_params(path.c_str(), &params, m);
  unsetenv("LLMC_VULKAN_VALIDATION");
  std::remove(path.c_str());
  return st;
}

/// Replaces every occurrence of the 32-bit words `from` by `to` (same
/// length) in a SPIR-V binary; the number replaced.
int patchWords(std::vector<uint8_t> &code, std::vector<uint32_t> from,
               std::vector<uint32_t> to) {
  int n = 0;
  const size_t k = from.size() * 4;
  for (size_t i = 0; i + k <= code.size(); i += 4)
    if (!memcmp(code.data() + i, from.data(), k)) {
      memcpy(code.data() + i, to.data(), k);
      ++n;
    }
  return n;
}

}  // namespace

TEST(RuntimeVulkan, RunsTheSchedule) {
  REQUIRE_VULKAN();
  llmc_model *m = nullptr;
  ASSERT_EQ(openVulkan(fakeSpirv(), &m), LLMC_OK) << llmc_last_error();
  llmc_model_info info;
  ASSERT_EQ(llmc_model_get_info(m, &info), LLMC_OK);
  EXPECT_STREQ(info.hal, "vulkan");
  EXPECT_EQ(std::string(info.device).rfind("Vulkan ", 0), 0u) << info.device;
  // Every row of the last call (ALL_LOGITS), or only the last one.
  for (uint32_t flags : {uint32_t(LLMC_CONTEXT_ALL_LOGITS), 0u}) {
    SCOPED_TRACE(flags);
    llmc_context *c = nullptr;
    llmc_context_params p{0, flags, 0, 0};
    setenv("LLMC_VULKAN_VALIDATION", "1", 1);
    ASSERT_EQ(llmc_context_create(m, &p, &c), LLMC_OK) << llmc_last_error();
    std::vector<int32_t> toks = {5, 9, 2, 31, 0, 7, 7};  // 5 + 2
    ASSERT_EQ(llmc_prefill(c, toks.data(), 7), LLMC_OK) << llmc_last_error();
    const float *l = nullptr;
    int64_t rows = 1, first = 6;
    if (flags)
      ASSERT_EQ(llmc_get_all_logits(c, &l, &rows, &first), LLMC_OK);
    else
      ASSERT_EQ(llmc_get_logits(c, &l), LLMC_OK);
    EXPECT_EQ(rows, flags ? 2 : 1);
    EXPECT_EQ(first, flags ? 5 : 6);
    float sum = 0;
    for (int i = 0; i < first; ++i) sum += toks[i];
    for (int r = 0; r < rows; ++r) {
      const float *row = l + r * FAKE_VOCAB;
      sum += toks[first + r];
      EXPECT_EQ(row[0], (float)(7 * 1000 + first + r + 1));
      EXPECT_EQ(row[1], sum);      // the KV cache kept the first chunk
      EXPECT_EQ(row[2], 2.0f);
      EXPECT_EQ(row[3], 1.5f);     // weights reached the device
      EXPECT_EQ(row[4], 5.0f);
      EXPECT_EQ(row[5], 42.0f);
      for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) EXPECT_EQ(row[v], v * 0.5f) << v;
    }
    // Decode steps resubmit the recorded command buffer with new params:
    // positions, token and the fill's n_tokens must all follow.
    int64_t pos = 7;
    for (int32_t t : {3, 4, 11}) {
      ASSERT_EQ(llmc_decode(c, t), LLMC_OK) << llmc_last_error();
      ASSERT_EQ(llmc_get_logits(c, &l), LLMC_OK);
      sum += t;
      EXPECT_EQ(l[0], (float)(t * 1000 + pos + 1));
      EXPECT_EQ(l[1], sum);
      EXPECT_EQ(l[2], 1.0f);
      EXPECT_EQ(l[4], (float)pos);
      EXPECT_EQ(l[FAKE_ROW_FIXED + 1], (FAKE_ROW_FIXED + 1) * 0.5f);  // fill covered
      ++pos;
    }
    llmc_context_free(c);
    unsetenv("LLMC_VULKAN_VALIDATION");
  }
  llmc_model_close(m);
}

TEST(RuntimeVulkan, CachesThePipelines) {
  REQUIRE_VULKAN();
  std::string dir = tempPath("vkcache");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (int round = 0; round < 2; ++round) {
    llmc_model *m = nullptr;
    ASSERT_EQ(openVulkan(fakeSpirv(), &m, dir.c_str()), LLMC_OK) << llmc_last_error();
    llmc_model_close(m);
  }
  DIR *dd = opendir(dir.c_str());
  ASSERT_NE(dd, nullptr);
  int files = 0;
  while (dirent *e = readdir(dd))
    if (std::string(e->d_name).rfind("llmc-vulkan-", 0) == 0) {
      ++files;
      std::remove((dir + "/" + e->d_name).c_str());
    }
  closedir(dd);
  rmdir(dir.c_str());
  EXPECT_EQ(files, 1);
}

TEST(RuntimeVulkan, RefusesCodeThatDisagreesWithTheArtifact) {
  REQUIRE_VULKAN();
  llmc_model *m = nullptr;
  auto refused = [&](std::vector<uint8_t> code, llmc_status want, const std::string &msg) {
    EXPECT_EQ(openVulkan(code, &m), want) << llmc_last_error();
    EXPECT_NE(std::string(llmc_last_error()).find(msg), std::string::npos)
        << llmc_last_error();
    EXPECT_EQ(m, nullptr);
  };
  // Not SPIR-V at all.
  std::vector<uint8_t> text = {'n', 'o', 'p', 'e', 0, 0, 0, 0, 0, 0, 0, 0,
                               0,   0,   0,   0,   0, 0, 0, 0};
  refused(text, LLMC_ERR_BAD_FORMAT, "not SPIR-V");
  // A kernel the schedule launches is missing.
  std::vector<uint8_t> code = fakeSpirv();
  std::string s(code.begin(), code.end());
  size_t at = 0;
  while ((at = s.find("llmc_fake_forward", at)) != std::string::npos)
    memcpy(code.data() + at, "llmc_fake_other__", 17), ++at;
  refused(code, LLMC_ERR_BAD_FORMAT, "no compute entry point 'llmc_fake_forward'");
  // The fill kernel's grid binding moved from 1 to 2: it would read a
  // binding the dispatch does not make (OpDecorate %v Binding 1 -> 2; the
  // only Binding-1 decoration of the fill module is its params block, but
  // forward's arena is binding 1 too, so both move and each disagrees).
  code = fakeSpirv();
  {
    // Find "OpDecorate <id> Binding 1" and make it Binding 7.
    int n = 0;
    for (size_t i = 0; i + 16 <= code.size(); i += 4) {
      uint32_t w[4];
      memcpy(w, code.data() + i, 16);
      if (w[0] == 0x00040047u && w[2] == 33 && w[3] == 1) {
        w[3] = 7;
        memcpy(code.data() + i, w, 16);
        ++n;
      }
    }
    ASSERT_GT(n, 0);
  }
  refused(code, LLMC_ERR_BAD_FORMAT, "disagree with the artifact's kernel table");
  // A capability the HAL does not know how to enable (Shader -> Kernel).
  code = fakeSpirv();
  ASSERT_EQ(patchWords(code, {0x00020011u, 1}, {0x00020011u, 6}), 1);
  refused(code, LLMC_ERR_BAD_FORMAT, "needs capability 6");
  // Code the HAL's reader accepts but Vulkan does not (a storage block
  // decorated BufferBlock|Block becomes BufferBlock only, invalid in
  // SPIR-V 1.3's StorageBuffer class): the validation layer reports it and
  // the open fails.
  code = fakeSpirv();
  {
    int n = 0;
    for (size_t i = 0; i + 12 <= code.size(); i += 4) {
      uint32_t w[3];
      memcpy(w, code.data() + i, 12);
      if (w[0] == 0x00030047u && w[2] == 2) {  // OpDecorate %s Block
        w[2] = 3;                              // BufferBlock
        memcpy(code.data() + i, w, 12);
        ++n;
      }
    }
    ASSERT_GT(n, 0);
  }
  refused(code, LLMC_ERR_UNSUPPORTED, "validation");
  // A device that does not exist; then one by index.
  setenv("LLMC_VULKAN_DEVICE", "no-such-device", 1);
  refused(fakeSpirv(), LLMC_ERR_UNSUPPORTED, "LLMC_VULKAN_DEVICE=no-such-device");
  setenv("LLMC_VULKAN_DEVICE", "0", 1);
  EXPECT_EQ(openVulkan(fakeSpirv(), &m), LLMC_OK) << llmc_last_error();
  llmc_model_close(m);
  unsetenv("LLMC_VULKAN_DEVICE");
}
