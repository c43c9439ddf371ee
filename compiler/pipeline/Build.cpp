//===- Build.cpp - checkpoint -> .llmc artifact ---------------------------===//

#include "compiler/pipeline/Build.h"

#include "compiler/frontend/HFImporter.h"
#include "compiler/packager/ArtifactWriter.h"
#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"
#include "targets/cpu/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

using namespace mlir;

namespace llmc {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t intAttr(ModuleOp m, StringRef name) {
  auto a = m->getAttrOfType<IntegerAttr>(name);
  return a ? a.getInt() : -1;
}

/// bf16/f16 -> f32 conversion of one buffer. bf16 is the top half of an
/// f32; f16 needs a real conversion (subnormals included).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { // subnormal: normalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while (!(man & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct WeightPlan {
  std::string file;   // absolute path of the source file
  uint64_t sourceOffset = 0;
  std::string sourceDtype;
  uint64_t elements = 0;
};

/// Streams one weight from its source file into the artifact, converting to
/// f32 through a fixed-size buffer so memory does not grow with the tensor.
std::string streamWeight(const WeightPlan &w, packager::WeightSink &sink) {
  unsigned srcSize = w.sourceDtype == "f32" ? 4 : 2;
  std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(w.file.c_str(), "rb"),
                                           &std::fclose);
  if (!f)
    return w.file + ": cannot open: " + std::strerror(errno);
  if (fseeko(f.get(), off_t(w.sourceOffset), SEEK_SET) != 0)
    return w.file + ": cannot seek: " + std::strerror(errno);
  constexpr uint64_t kChunk = 1 << 20; // elements per step
  std::vector<uint8_t> in(kChunk * srcSize);
  std::vector<float> out(kChunk);
  for (uint64_t done = 0; done < w.elements;) {
    uint64_t n = std::min(kChunk, w.elements - done);
    if (std::fread(in.data(), srcSize, n, f.get()) != n)
      return w.file + ": file ended inside a tensor (was it modified during "
                      "the build?)";
    if (w.sourceDtype == "f32") {
      std::memcpy(out.data(), in.data(), n * 4);
    } else if (w.sourceDtype == "bf16") {
      for (uint64_t i = 0; i < n; ++i) {
        uint32_t bits = uint32_t(in[2 * i] | in[2 * i + 1] << 8) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
    } else {
      for (uint64_t i = 0; i < n; ++i)
        out[i] = halfToFloat(uint16_t(in[2 * i] | in[2 * i + 1] << 8));
    }
    if (std::string err = sink.write(out.data(), n * 4); !err.empty())
      return err;
    done += n;
  }
  return "";
}

/// "+avx2,+fma,..." of the features this CPU has: recorded in the manifest
/// so a runtime on another CPU can refuse code it cannot run.
std::string hostFeatureString() {
  std::string out;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> names;
  for (auto &f : features)
    if (f.second)
      names.push_back(f.first().str());
  std::sort(names.begin(), names.end());
  for (auto &n : names)
    out += (out.empty() ? "+" : ",+") + n;
  return out;
}

} // namespace

StringRef supportedTargets() { return "host"; }

void registerBuildDialects(DialectRegistry &registry) {
  registerImporterDialects(registry);
  cpu::registerCpuTargetDialects(registry);
}

bool buildArtifact(MLIRContext &ctx, const BuildOptions &opts) {
  llvm::raw_ostream *log = opts.progress;
  Location loc = FileLineColLoc::get(&ctx, opts.modelDir, 0, 0);
  if (opts.target != "host") {
    emitError(loc) << "unknown target '" << opts.target
                   << "'; supported: " << supportedTargets();
    return false;
  }
  if (opts.prefillChunk < 1 || opts.prefillChunk > 4096) {
    emitError(loc) << "--prefill-chunk must be in [1, 4096], got "
                   << opts.prefillChunk;
    return false;
  }

  // 1. Import.
  auto t0 = Clock::now();
  if (log)
    *log << "llmc: [1/4] importing " << opts.modelDir << "\n";
  ImportOptions importOpts;
  importOpts.maxContext = opts.maxContext;
  OwningOpRef<ModuleOp> module = importHFCheckpoint(ctx, opts.modelDir, importOpts);
  if (!module)
    return false;
  auto config = llm::getModelConfig(*module);
  if (opts.maxContext == 0 && config.getMaxContext() > kDefaultMaxContext) {
    // Re-import with the default cap; cheap (headers only).
    importOpts.maxContext = kDefaultMaxContext;
    module = importHFCheckpoint(ctx, opts.modelDir, importOpts);
    if (!module)
      return false;
    config = llm::getModelConfig(*module);
  }
  if (log)
    *log << llvm::format("llmc:       %lld layers, hidden %lld, vocab %lld, "
                         "max context %lld (%.2f s)\n",
                         (long long)config.getNumLayers(),
                         (long long)config.getHiddenSize(),
                         (long long)config.getVocabSize(),
                         (long long)config.getMaxContext(), secondsSince(t0));

  // 2. Lower to the kernel level.
  t0 = Clock::now();
  if (log)
    *log << "llmc: [2/4] lowering to kernels (prefill chunk "
         << opts.prefillChunk << ")\n";
  {
    PassManager pm(&ctx);
    LLMLowerToKernelsOptions lowerOpts;
    lowerOpts.prefillChunk = opts.prefillChunk;
    pm.addPass(createLLMLowerToKernels(lowerOpts));
    if (failed(pm.run(*module)))
      return false;
  }
  if (!opts.dumpKernelIR.empty()) {
    std::string err;
    auto out = openOutputFile(opts.dumpKernelIR, &err);
    if (!out) {
      emitError(loc) << err;
      return false;
    }
    module->print(out->os());
    out->keep();
  }

  // Collect the plan before code generation consumes the module.
  packager::ArtifactDesc desc;
  std::vector<WeightPlan> sources;
  auto weights = (*module)->getAttrOfType<ArrayAttr>("llmc.weights");
  for (Attribute a : weights) {
    auto d = cast<DictionaryAttr>(a);
    packager::WeightDesc w;
    w.name = d.getAs<StringAttr>("name").str();
    w.dtype = packager::DType::F32;
    for (Attribute s : d.getAs<ArrayAttr>("shape"))
      w.shape.push_back(cast<IntegerAttr>(s).getInt());
    w.size = d.getAs<IntegerAttr>("size").getInt();
    w.offset = d.getAs<IntegerAttr>("offset").getInt();
    desc.weights.push_back(w);
    SmallString<256> path(opts.modelDir);
    llvm::sys::path::append(path, d.getAs<StringAttr>("file").getValue());
    sources.push_back({path.str().str(),
                       uint64_t(d.getAs<IntegerAttr>("source_offset").getInt()),
                       d.getAs<StringAttr>("source_dtype").str(), w.size / 4});
  }
  std::vector<uint64_t> plannedOffsets;
  for (auto &w : desc.weights)
    plannedOffsets.push_back(w.offset);
  if (std::string err = packager::layoutWeights(desc); !err.empty()) {
    emitError(loc) << "weights layout: " << err;
    return false;
  }
  for (size_t i = 0; i < desc.weights.size(); ++i)
    if (desc.weights[i].offset != plannedOffsets[i] ||
        desc.weightsSize != uint64_t(intAttr(*module, "llmc.weights_size"))) {
      emitError(loc) << "internal error: the packager's weight layout "
                        "differs from the one baked into the code";
      return false;
    }
  for (Attribute a : (*module)->getAttrOfType<ArrayAttr>("llmc.schedule")) {
    auto d = cast<DictionaryAttr>(a);
    packager::DispatchDesc dispatch;
    dispatch.kernel = (d.getAs<FlatSymbolRefAttr>("kernel").getValue() + " (" +
                       d.getAs<StringAttr>("op").getValue() + ")")
                          .str();
    desc.schedule.push_back(dispatch);
  }
  desc.arenaSize = intAttr(*module, "llmc.arena_size");
  auto &c = desc.config;
  c.hiddenSize = config.getHiddenSize();
  c.intermediateSize = config.getIntermediateSize();
  c.numLayers = config.getNumLayers();
  c.numHeads = config.getNumHeads();
  c.numKvHeads = config.getNumKvHeads();
  c.headDim = config.getHeadDim();
  c.vocabSize = config.getVocabSize();
  c.maxContext = config.getMaxContext();
  c.prefillChunk = opts.prefillChunk;
  c.rmsNormEps = config.getRmsNormEps().convertToDouble();
  c.ropeTheta = config.getRopeTheta().convertToDouble();
  if (auto rs = config.getRopeScaling()) {
    c.ropeScalingType = "llama3";
    c.ropeScalingFactor = rs.getFactor().convertToDouble();
    c.ropeLowFreqFactor = rs.getLowFreqFactor().convertToDouble();
    c.ropeHighFreqFactor = rs.getHighFreqFactor().convertToDouble();
    c.ropeOriginalMaxPositionEmbeddings = rs.getOriginalMaxPositionEmbeddings();
  }
  c.tieWordEmbeddings = config.getTieWordEmbeddings();
  c.bosTokenId = config.getBosTokenId();
  for (int64_t id : config.getEosTokenIds())
    c.eosTokenIds.push_back(id);

  // 3. Native code.
  t0 = Clock::now();
  if (log)
    *log << "llmc: [3/4] generating code for " << opts.target << " ("
         << llvm::sys::getHostCPUName() << ")\n";
  cpu::CpuTargetOptions cpuOpts;
  if (!opts.dumpLLVMIR.empty()) {
    OwningOpRef<ModuleOp> copy = module->clone();
    llvm::Expected<std::string> ir = cpu::emitLLVMIR(*copy, cpuOpts);
    if (!ir) {
      emitError(loc) << llvm::toString(ir.takeError());
      return false;
    }
    std::string err;
    auto out = openOutputFile(opts.dumpLLVMIR, &err);
    if (!out) {
      emitError(loc) << err;
      return false;
    }
    out->os() << *ir;
    out->keep();
  }
  llvm::Expected<std::vector<uint8_t>> so =
      cpu::compileToSharedObject(*module, cpuOpts);
  if (!so) {
    emitError(loc) << "code generation failed: " << llvm::toString(so.takeError());
    return false;
  }
  if (log)
    *log << llvm::format("llmc:       %zu kernels dispatched, %.1f KB of "
                         "code (%.2f s)\n",
                         desc.schedule.size(), so->size() / 1024.0,
                         secondsSince(t0));
  packager::PayloadDesc payload;
  payload.target = llvm::sys::getDefaultTargetTriple();
  payload.data = std::move(*so);
  desc.payloads.push_back(std::move(payload));
  desc.manifest.compilerVersion = LLMC_VERSION_STRING;
  desc.manifest.target = opts.target;
  desc.manifest.targetTriple = llvm::sys::getDefaultTargetTriple();
  desc.manifest.cpuFeatures = hostFeatureString();
  desc.manifest.quantization = "f32";
  desc.manifest.createdBy = "llmc build";

  // 4. Package, streaming the weights.
  t0 = Clock::now();
  if (log)
    *log << llvm::format("llmc: [4/4] writing %s (%.1f MB of weights)\n",
                         opts.output.c_str(), desc.weightsSize / 1e6);
  packager::WriteOptions writeOpts;
  if (log)
    writeOpts.progress = [&](uint64_t written, uint64_t total) {
      double s = secondsSince(t0);
      *log << llvm::format("llmc:       %7.1f / %.1f MB  %6.1f MB/s\n",
                           written / 1e6, total / 1e6,
                           s > 0 ? written / 1e6 / s : 0.0);
    };
  std::string err = packager::writeArtifact(
      desc, opts.output,
      [&](size_t i, const packager::WeightDesc &, packager::WeightSink &sink) {
        return streamWeight(sources[i], sink);
      },
      writeOpts);
  if (!err.empty()) {
    emitError(loc) << err;
    return false;
  }
  if (log)
    *log << llvm::format("llmc: wrote %s in %.2f s\n", opts.output.c_str(),
                         secondsSince(t0));
  return true;
}

} // namespace llmc
