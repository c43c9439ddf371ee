//===- ArtifactWriter.cpp - writes one .llmc artifact --------------------===//
#include "compiler/packager/ArtifactWriter.h"

#include "runtime/include/llmc_format.h"
#include "runtime/include/llmc_kernel_abi.h"
#include "runtime/schema/llmc_generated.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <fcntl.h>
#include <memory>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace llmc::packager {
namespace {

constexpr uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t dtypeBytes(DType t) {
  switch (t) {
  case DType::F32: case DType::I32: return 4;
  case DType::F16: case DType::BF16: return 2;
  case DType::I8: case DType::U8: return 1;
  case DType::I64: return 8;
  default: return 0;
  }
}

std::string checkLayout(const ArtifactDesc &d) {
  uint64_t end = 0;
  for (const WeightDesc &w : d.weights) {
    if (w.offset % LLMC_WEIGHT_ALIGN || w.offset < end || w.size > d.weightsSize ||
        w.offset > d.weightsSize - w.size)
      return "weight '" + w.name + "' is not laid out (call layoutWeights first)";
    end = w.offset + w.size;
  }
  return "";
}

/// Buffered file writer that hashes the weights segment as it goes.
class Output final : public WeightSink {
public:
  FILE *f = nullptr;
  uint64_t written = 0, total = 0, nextReport = 0;
  uint64_t remaining = 0;  // bytes the current weight may still write
  bool hashing = false;
  llmc_hash_state hash;
  const ProgressFn *progress = nullptr;
  std::string path;

  std::string raw(const void *data, size_t n) {
    if (n && fwrite(data, 1, n, f) != n)
      return path + ": write failed: " + std::strerror(errno);
    if (hashing) llmc_hash_update(&hash, data, n);
    written += n;
    if (*progress && written >= nextReport) {
      (*progress)(written, total);
      nextReport = written + (64ull << 20);
    }
    return "";
  }
  std::string zeros(uint64_t n) {
    static const uint8_t z[4096] = {};
    while (n) {
      size_t k = n < sizeof z ? (size_t)n : sizeof z;
      if (auto e = raw(z, k); !e.empty()) return e;
      n -= k;
    }
    return "";
  }
  std::string write(const void *data, size_t n) override {
    if (n > remaining)
      return "weight source wrote more bytes than the weight's declared size";
    remaining -= n;
    return raw(data, n);
  }
};

std::string writeImpl(const ArtifactDesc &d, const std::string &path,
                      const std::string &tmp, int fd, const WeightSource &source,
                      const WriteOptions &opts) {
  // The file first: every return below closes it. Its buffer outlives it
  // (fclose on an error path flushes through it).
  std::vector<char> buffer(4u << 20);
  Output out;
  out.f = ::fdopen(fd, "wb");
  if (!out.f) {
    ::close(fd);
    return tmp + ": cannot write: " + std::strerror(errno);
  }
  std::unique_ptr<FILE, int (*)(FILE *)> closer(out.f, std::fclose);
  std::setvbuf(out.f, buffer.data(), _IOFBF, buffer.size());
  if (auto e = checkLayout(d); !e.empty()) return path + ": " + e;
  std::vector<uint8_t> fb;
  if (auto e = buildFlatBuffer(d, fb); !e.empty()) return path + ": " + e;
  if (opts.mutateFlatBuffer) opts.mutateFlatBuffer(fb);

  llmc_file_header h;
  std::memcpy(h.magic, LLMC_MAGIC, LLMC_MAGIC_SIZE);
  h.format_version = LLMC_FORMAT_VERSION;
  h.header_size = LLMC_HEADER_SIZE;
  h.flatbuffer_offset = LLMC_HEADER_SIZE;
  h.flatbuffer_size = fb.size();
  h.weights_offset = alignUp(h.flatbuffer_offset + fb.size(), LLMC_WEIGHTS_FILE_ALIGN);
  h.weights_size = d.weightsSize;
  h.flatbuffer_checksum = llmc_hash64(fb.data(), fb.size());
  h.weights_checksum = 0;

  out.path = tmp;
  out.progress = &opts.progress;
  out.total = h.weights_offset + h.weights_size;

  uint8_t hdr[LLMC_HEADER_SIZE] = {};
  if (auto e = out.raw(hdr, sizeof hdr); !e.empty()) return e;  // placeholder
  if (auto e = out.raw(fb.data(), fb.size()); !e.empty()) return e;
  if (auto e = out.zeros(h.weights_offset - out.written); !e.empty()) return e;

  out.hashing = true;
  llmc_hash_init(&out.hash);
  uint64_t pos = 0;  // inside the weights segment
  for (size_t i = 0; i < d.weights.size(); ++i) {
    const WeightDesc &w = d.weights[i];
    if (auto e = out.zeros(w.offset - pos); !e.empty()) return e;
    out.remaining = w.size;
    if (!source) return path + ": no weight source given";
    std::string e = source(i, w, out);
    if (!e.empty()) return path + ": weight '" + w.name + "': " + e;
    if (out.remaining)
      return path + ": weight '" + w.name + "': source produced " +
             std::to_string(w.size - out.remaining) + " of " + std::to_string(w.size) +
             " bytes";
    pos = w.offset + w.size;
  }
  if (auto e = out.zeros(d.weightsSize - pos); !e.empty()) return e;
  h.weights_checksum = llmc_hash_final(&out.hash);
  out.hashing = false;

  llmc_header_encode(&h, hdr);
  if (std::fflush(out.f) != 0 || std::fseek(out.f, 0, SEEK_SET) != 0 ||
      std::fwrite(hdr, 1, sizeof hdr, out.f) != sizeof hdr || std::fflush(out.f) != 0 ||
      ::fsync(fileno(out.f)) != 0)
    return tmp + ": write failed: " + std::strerror(errno);
  if (std::fclose(closer.release()) != 0)
    return tmp + ": close failed: " + std::strerror(errno);
  if (opts.verify)
    if (std::string e = opts.verify(tmp); !e.empty()) return path + ": " + e;
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return path + ": cannot rename from " + tmp + ": " + std::strerror(errno);
  if (opts.progress) opts.progress(out.total, out.total);
  return "";
}

} // namespace

uint64_t kvCacheBytesPerToken(const ArtifactDesc &d) {
  if (d.kvCacheBytesPerToken) return d.kvCacheBytesPerToken;
  const ModelConfigDesc &c = d.config;
  return (uint64_t)(c.numLayers > 0 ? c.numLayers : 0) * 2u *
         (uint64_t)(c.numKvHeads > 0 ? c.numKvHeads : 0) *
         (uint64_t)(c.headDim > 0 ? c.headDim : 0) * 4u;
}

std::vector<uint8_t> codeRecord(const ArtifactDesc &d, const std::vector<KernelDesc> &kernels) {
  // The fold of llmc_kernel_abi.h, value by value, in its order.
  uint64_t h = 0;
  auto mix = [&h](uint64_t v) { h = llmc_code_mix(h, v); };
  auto mixInt = [&](int64_t v) { mix(static_cast<uint64_t>(v)); };
  auto mixScalar = [&](const ScalarDesc &s) {
    mixInt(s.c), mixInt(s.nTokens), mixInt(s.startPos), mixInt(s.logitRows);
  };
  const ModelConfigDesc &c = d.config;
  for (int32_t v : {c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads,
                    c.headDim, c.vocabSize, c.maxContext, c.prefillChunk})
    mixInt(v);
  const uint64_t kvPerToken = kvCacheBytesPerToken(d);
  mix(d.arenaSize), mix(kvPerToken), mix(uint64_t(d.kvCacheDType)), mix(d.weightsSize);
  mix(kernels.size());
  for (const KernelDesc &k : kernels) {
    mix(k.entry.size());
    for (size_t i = 0; i < k.entry.size(); i += 8) {
      uint8_t word[8] = {};
      std::memcpy(word, k.entry.data() + i, std::min<size_t>(8, k.entry.size() - i));
      mix(llmc_rd64(word));
    }
    mix(k.bindingSizes.size());
    for (uint64_t b : k.bindingSizes) mix(b);
    mix(k.numScalars);
  }
  mix(d.schedule.size());
  for (const DispatchDesc &s : d.schedule) {
    mix(s.kernelIndex), mixInt(s.layer), mix(s.operands.size());
    for (const BufferRefDesc &o : s.operands) mix(uint64_t(o.space)), mix(o.offset), mix(o.size);
    mix(s.scalars.size());
    for (const ScalarDesc &x : s.scalars) mixScalar(x);
    mixScalar(s.grid);
  }
  mix(d.weights.size());
  for (const WeightDesc &w : d.weights) mix(w.offset), mix(w.size);

  llmc_code_record r = {};
  std::memcpy(r.magic, LLMC_CODE_RECORD_MAGIC, sizeof r.magic);
  r.version = LLMC_CODE_RECORD_VERSION;
  r.size = sizeof r;
  r.digest = h;
  r.arena_size = d.arenaSize;
  r.kv_cache_bytes_per_token = kvPerToken;
  r.weights_size = d.weightsSize;
  r.num_layers = uint64_t(int64_t(c.numLayers));
  r.vocab_size = uint64_t(int64_t(c.vocabSize));
  r.max_context = uint64_t(int64_t(c.maxContext));
  r.prefill_chunk = uint64_t(int64_t(c.prefillChunk));
  r.num_kernels = kernels.size();
  r.num_dispatches = d.schedule.size();
  // Little-endian fields: written one by one, so the bytes are the same on
  // any host.
  std::vector<uint8_t> out(sizeof r);
  std::memcpy(out.data(), r.magic, 8);
  llmc_wr32(&out[8], r.version);
  llmc_wr32(&out[12], r.size);
  const uint64_t fields[] = {r.digest, r.arena_size, r.kv_cache_bytes_per_token,
                             r.weights_size, r.num_layers, r.vocab_size, r.max_context,
                             r.prefill_chunk, r.num_kernels, r.num_dispatches};
  static_assert(sizeof fields + 16 == sizeof r, "llmc_code_record has these fields");
  for (size_t i = 0; i < std::size(fields); ++i) llmc_wr64(&out[16 + 8 * i], fields[i]);
  return out;
}

std::string layoutWeights(ArtifactDesc &d) {
  uint64_t off = 0;
  for (WeightDesc &w : d.weights) {
    if (uint64_t eb = dtypeBytes(w.dtype)) {
      uint64_t n = eb;
      for (int64_t dim : w.shape)
        if (dim < 0 || __builtin_mul_overflow(n, (uint64_t)dim, &n))
          return "weight '" + w.name + "': bad shape";
      if (n != w.size)
        return "weight '" + w.name + "': size " + std::to_string(w.size) +
               " does not match its shape (" + std::to_string(n) + " bytes)";
    } else if (!w.hasQuant) {
      return "weight '" + w.name + "': block-quantized dtype needs a quant descriptor";
    }
    off = alignUp(off, LLMC_WEIGHT_ALIGN);
    if (w.size > (1ull << 62) || off > (1ull << 62)) return "weights segment too large";
    w.offset = off;
    off += w.size;
  }
  d.weightsSize = off;
  return "";
}

std::string buildFlatBuffer(const ArtifactDesc &d, std::vector<uint8_t> &out) {
  namespace fb = llmc::fb;
  if (auto e = checkLayout(d); !e.empty()) return e;
  const ModelConfigDesc &c = d.config;
  flatbuffers::FlatBufferBuilder b(1 << 16);
  b.ForceDefaults(true);  // every field present: easy to inspect and patch

  const ManifestDesc &m = d.manifest;
  auto manifest = fb::CreateManifestDirect(
      b, m.compilerVersion.c_str(), LLMC_FORMAT_VERSION, m.target.c_str(),
      m.targetTriple.c_str(), m.cpuFeatures.c_str(), m.quantization.c_str(),
      m.createdBy.c_str());
  auto config = fb::CreateModelConfigDirect(
      b, c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads,
      c.headDim, c.vocabSize, c.maxContext, c.prefillChunk, c.rmsNormEps, c.ropeTheta,
      c.ropeScalingType.c_str(), c.ropeScalingFactor, c.ropeLowFreqFactor,
      c.ropeHighFreqFactor, c.ropeOriginalMaxPositionEmbeddings, c.tieWordEmbeddings,
      c.bosTokenId, &c.eosTokenIds);

  std::vector<flatbuffers::Offset<fb::KernelPayload>> payloads;
  for (const PayloadDesc &p : d.payloads) {
    auto target = b.CreateString(p.target);
    auto format = b.CreateString(p.format);
    auto features = b.CreateString(p.cpuFeatures);
    std::vector<flatbuffers::Offset<fb::Kernel>> kernels;
    for (const KernelDesc &k : p.kernels)
      kernels.push_back(fb::CreateKernelDirect(b, k.name.c_str(), k.entry.c_str(),
                                               &k.bindingSizes, k.numScalars));
    auto kernelsVec = b.CreateVector(kernels);
    b.ForceVectorAlignment(p.data.size(), sizeof(uint8_t), 16);
    auto data = b.CreateVector(p.data);
    payloads.push_back(
        fb::CreateKernelPayload(b, target, format, 0, data, features, kernelsVec));
  }
  std::vector<flatbuffers::Offset<fb::Dispatch>> schedule;
  for (const DispatchDesc &s : d.schedule) {
    std::vector<fb::BufferRef> ops;
    for (const BufferRefDesc &o : s.operands)
      ops.emplace_back(static_cast<fb::BufferSpace>(o.space), o.offset, o.size);
    std::vector<fb::Scalar> scalars;
    auto scalar = [](const ScalarDesc &x) {
      return fb::Scalar(x.c, x.nTokens, x.startPos, x.logitRows);
    };
    for (const ScalarDesc &x : s.scalars)
      scalars.push_back(scalar(x));
    fb::Scalar grid = scalar(s.grid);
    std::vector<fb::Scalar> reads, writes;
    for (const ScalarDesc &x : s.reads)
      reads.push_back(scalar(x));
    for (const ScalarDesc &x : s.writes)
      writes.push_back(scalar(x));
    schedule.push_back(fb::CreateDispatchDirect(
        b, s.kernel.c_str(), &ops, s.flops, s.bytes, s.kernelIndex, s.label.c_str(),
        &scalars, &grid, &reads, &writes, s.layer));
  }
  std::vector<flatbuffers::Offset<fb::Weight>> weights;
  for (const WeightDesc &w : d.weights) {
    flatbuffers::Offset<fb::QuantDesc> quant = 0;
    if (w.hasQuant)
      quant = fb::CreateQuantDescDirect(b, w.quant.scheme.c_str(), w.quant.groupSize,
                                        static_cast<fb::DType>(w.quant.scaleDType),
                                        w.quant.zeroPoint);
    weights.push_back(fb::CreateWeightDirect(b, w.name.c_str(),
                                             static_cast<fb::DType>(w.dtype), &w.shape,
                                             w.offset, w.size, quant));
  }
  auto segment = fb::CreateWeightsSegment(b, LLMC_WEIGHT_ALIGN, LLMC_WEIGHTS_FILE_ALIGN,
                                          d.weightsSize);
  const uint64_t kvPerToken = kvCacheBytesPerToken(d);
  flatbuffers::Offset<fb::Tokenizer> tokenizer;
  if (!d.tokenizerBlob.empty()) {
    b.ForceVectorAlignment(d.tokenizerBlob.size(), 1, 16);
    auto blob = b.CreateVector(d.tokenizerBlob);
    tokenizer = fb::CreateTokenizer(b, b.CreateString("bpe-byte-level"), blob);
  }
  auto model = fb::CreateModelDirect(b, manifest, config, &payloads, &schedule, &weights,
                                     segment, d.arenaSize, kvPerToken,
                                     static_cast<fb::DType>(d.kvCacheDType),
                                     tokenizer, d.arenaSizeUnfused);
  fb::FinishModelBuffer(b, model);
  if (b.GetSize() >= (1u << 31)) return "metadata flatbuffer exceeds 2 GB";
  out.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  return "";
}

std::string writeArtifact(const ArtifactDesc &desc, const std::string &path,
                          const WeightSource &source, const WriteOptions &options) {
  if (path.empty()) return "empty output path";
  // The artifact replaces `path` by a rename: a device or pipe there
  // (`-o /dev/null`) would be replaced by a regular file, not written to.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return path + ": not a regular file; llmc writes the artifact to a "
                  "temporary file and renames it over the output";
  // A new file of our own beside the output (so the rename is atomic): a
  // name nobody can predict, created with O_EXCL, which also refuses a
  // symlink planted at that name. Two builds to one output each write their
  // own and the last rename wins: the output is always one whole artifact.
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  std::string base = path.substr(dir.size());
  std::string tmp;
  int fd = -1;
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    std::random_device rd;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".%ld.%llx%08x.tmp", long(::getpid()),
                  (unsigned long long)counter++, unsigned(rd()));
    tmp = dir + "." + base + suffix;
    // Tracked before it exists: a signal between the open and the tracking
    // would leave the file behind.
    if (options.trackTemporary) options.trackTemporary(tmp, true);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
      int e = errno;
      if (options.trackTemporary) options.trackTemporary(tmp, false);
      if (e != EEXIST)
        return path + ": cannot create a temporary file in " + (dir.empty() ? "." : dir) +
               ": " + std::strerror(e);
    }
  }
  if (fd < 0) return path + ": cannot create a unique temporary file";
  std::string err;
#if defined(__cpp_exceptions)
  try {
    err = writeImpl(desc, path, tmp, fd, source, options);
  } catch (const std::exception &e) {
    err = path + ": " + e.what();
  } catch (...) {
    err = path + ": unknown exception while writing";
  }
#else
  err = writeImpl(desc, path, tmp, fd, source, options);
#endif
  if (!err.empty()) std::remove(tmp.c_str());
  if (options.trackTemporary) options.trackTemporary(tmp, false);
  return err;
}

} // namespace llmc::packager
