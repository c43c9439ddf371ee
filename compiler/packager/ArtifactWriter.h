//===- ArtifactWriter.h - writes one .llmc artifact ----------------------===//
//
// The packager turns a description of a compiled model (manifest, config,
// kernel payloads, schedule, weight table) plus a stream of weight bytes into
// one .llmc file (layout: runtime/include/llmc_format.h, runtime/README.md).
//
// Use:
//   ArtifactDesc desc = ...;               // weights: name/dtype/shape/size
//   if (auto err = layoutWeights(desc); !err.empty()) ...   // offsets fixed
//   ... generate code with desc.weights[i].offset baked in ...
//   desc.payloads.push_back({...});
//   WriteOptions opts; opts.progress = [](uint64_t done, uint64_t total) {...};
//   std::string err = writeArtifact(desc, "model.llmc",
//       [&](size_t i, const WeightDesc &w, WeightSink &sink) -> std::string {
//         return sink.write(bytes, w.size);  // any number of writes
//       }, opts);
//
// Weight bytes stream through a buffered file one weight at a time (peak
// memory does not grow with the model); the file is written to a new,
// uniquely named temporary file beside `path` (O_EXCL: never through a
// symlink), flushed to disk and renamed over `path` on success, removed on
// failure. No function throws.
//===----------------------------------------------------------------------===//
#ifndef LLMC_COMPILER_PACKAGER_ARTIFACTWRITER_H
#define LLMC_COMPILER_PACKAGER_ARTIFACTWRITER_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace llmc::packager {

/// Element types; values equal llmc.fb.DType in runtime/schema/llmc.fbs.
enum class DType : uint8_t { F32 = 0, F16, BF16, I8, U8, I32, I64, Q8, Q4, Q6 };

/// Where a dispatch operand lives; values equal llmc.fb.BufferSpace.
enum class BufferSpace : uint8_t { Arena = 0, Weights, KVCache, Tokens, Logits };

struct ManifestDesc {
  std::string compilerVersion;
  std::string target = "host";         // preset name
  std::string targetTriple;            // e.g. "x86_64-unknown-linux-gnu"
  std::string cpuFeatures;             // "+avx2,+fma"
  std::string quantization = "f32";
  std::string createdBy;
};

struct ModelConfigDesc {
  int32_t hiddenSize = 0, intermediateSize = 0, numLayers = 0, numHeads = 0,
          numKvHeads = 0, headDim = 0, vocabSize = 0, maxContext = 0,
          prefillChunk = 0;
  float rmsNormEps = 1e-5f;
  float ropeTheta = 500000.0f;
  std::string ropeScalingType; // "" or an llm::RopeType ("llama3", "yarn", ...)
  float ropeScalingFactor = 1.0f;
  float ropeLowFreqFactor = 1.0f;
  float ropeHighFreqFactor = 4.0f;
  int32_t ropeOriginalMaxPositionEmbeddings = 8192;
  bool tieWordEmbeddings = false;
  int32_t bosTokenId = -1;
  std::vector<int32_t> eosTokenIds;
};

/// A kernel of a payload and the signature it was compiled with.
struct KernelDesc {
  std::string name;                    // kernel function of the dispatch level
  std::string entry;                   // exported symbol
  std::vector<uint64_t> bindingSizes;  // bytes each binding must hold
  uint32_t numScalars = 0;
};

struct PayloadDesc {
  std::string target;                  // triple the code was built for
  std::string format = "elf-shared-object";
  std::string cpuFeatures;             // empty: the manifest's
  std::vector<uint8_t> data;
  std::vector<KernelDesc> kernels;     // indexed by DispatchDesc::kernelIndex
};

/// c + n_tokens * nTokens + start_pos * startPos + logit_rows * logitRows.
struct ScalarDesc {
  int64_t c = 0, nTokens = 0, startPos = 0, logitRows = 0;
};

struct BufferRefDesc {
  BufferSpace space = BufferSpace::Arena;
  uint64_t offset = 0, size = 0;
};

struct DispatchDesc {
  std::string kernel;                  // kernel function name
  std::string label;                   // llm op: "linear", "attention", ...
  uint32_t kernelIndex = 0;
  std::vector<BufferRefDesc> operands; // the bindings
  std::vector<ScalarDesc> scalars;
  ScalarDesc grid;
  std::vector<ScalarDesc> reads, writes; // bytes per binding and call
  uint64_t flops = 0, bytes = 0;
  int32_t layer = -1;                  // model layer; -1: none
};

struct QuantDescDesc {
  std::string scheme;                  // "q4_0", "q4f16_g128", ...
  uint32_t groupSize = 0;
  DType scaleDType = DType::F16;
  bool zeroPoint = false;
};

struct WeightDesc {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t size = 0;                   // bytes (input)
  uint64_t offset = 0;                 // inside the weights segment (set by layoutWeights)
  bool hasQuant = false;
  QuantDescDesc quant;
};

struct ArtifactDesc {
  ManifestDesc manifest;
  ModelConfigDesc config;
  std::vector<PayloadDesc> payloads;
  std::vector<DispatchDesc> schedule;
  std::vector<WeightDesc> weights;
  uint64_t arenaSize = 0;
  uint64_t arenaSizeUnfused = 0; // the plan without llm-fuse; 0: not known
  uint64_t kvCacheBytesPerToken = 0;   // 0: computed as layers*2*kv_heads*head_dim*4
  DType kvCacheDType = DType::F32;     // F32, F16, or I8 (+ f32 scales)
  uint64_t weightsSize = 0;            // set by layoutWeights
  /// Tokenizer blob (runtime/include/llmc_tokenizer_format.h); empty: none.
  std::vector<uint8_t> tokenizerBlob;
};

/// Assigns every weight a 64-byte aligned offset, sequentially in table order,
/// and sets desc.weightsSize. Checks plain-dtype sizes against their shapes.
/// Call before code generation (the code bakes the offsets in).
/// Returns "" on success, else an error message.
std::string layoutWeights(ArtifactDesc &desc);

/// The KV cache's bytes per position: desc.kvCacheBytesPerToken, or f32
/// K and V for every layer when that is 0.
uint64_t kvCacheBytesPerToken(const ArtifactDesc &desc);

/// The llmc_code_record (runtime/include/llmc_kernel_abi.h) of code compiled
/// for `desc` (weights laid out) with `kernels`: the bytes every payload
/// ends with, and what a linked library's kernel table points to.
std::vector<uint8_t> codeRecord(const ArtifactDesc &desc, const std::vector<KernelDesc> &kernels);

/// Receives the bytes of one weight; may be called any number of times per
/// weight. Returns "" or an error (e.g. more bytes than the declared size).
class WeightSink {
public:
  virtual ~WeightSink() = default;
  virtual std::string write(const void *data, size_t n) = 0;
};

/// Produces weight `index` (exactly desc.weights[index].size bytes) into sink.
/// Called once per weight, in table order. Return "" or an error message.
using WeightSource =
    std::function<std::string(size_t index, const WeightDesc &w, WeightSink &sink)>;

/// Progress: bytes of the file written so far, and the final file size.
using ProgressFn = std::function<void(uint64_t written, uint64_t total)>;

struct WriteOptions {
  ProgressFn progress;                 // optional; called about every 64 MB and at the end
  /// Called with the temporary file's name when it is created (true) and
  /// when it is gone, renamed or removed (false): a tool registers it for
  /// removal on signals (llvm::sys::RemoveFileOnSignal).
  std::function<void(const std::string &tmp, bool live)> trackTemporary;
  /// Called on the finished, closed temporary file before it is renamed
  /// over the output; an error ("" = fine) removes it and is returned.
  /// `llmc build` opens it with the runtime's loader here.
  std::function<std::string(const std::string &tmp)> verify;
  /// Test hook: edits the serialized FlatBuffer before it is checksummed and
  /// written (to build corrupt-but-consistent files). Leave empty.
  std::function<void(std::vector<uint8_t> &flatbuffer)> mutateFlatBuffer;
};

/// Serializes the metadata FlatBuffer (identifier "LLMC"). Weights must have
/// been laid out. Returns "" or an error.
std::string buildFlatBuffer(const ArtifactDesc &desc, std::vector<uint8_t> &out);

/// Writes the artifact to `path` (via ".NAME.<pid>.<random>.tmp" in the same
/// directory, renamed at the end). Returns "" on success, else an error
/// message naming the file; on error no temporary file is left and `path`
/// is untouched.
std::string writeArtifact(const ArtifactDesc &desc, const std::string &path,
                          const WeightSource &source, const WriteOptions &options = {});

} // namespace llmc::packager

#endif // LLMC_COMPILER_PACKAGER_ARTIFACTWRITER_H
