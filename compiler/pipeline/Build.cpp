//===- Build.cpp - checkpoint -> .llmc artifact ---------------------------===//

#include "compiler/pipeline/Build.h"

#include "compiler/frontend/GGUF.h"
#include "compiler/frontend/GGUFImporter.h"
#include "compiler/frontend/GGUFTokenizer.h"
#include "compiler/frontend/HFImporter.h"
#include "compiler/frontend/Tokenizer.h"
#include "compiler/packager/ArtifactWriter.h"
#include "dialects/llm/GGMLBlocks.h"
#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"
#include "dialects/llm/QuantLayout.h"
#include "runtime/include/llmc.h"
#include "runtime/include/llmc_format.h"
#include "runtime/include/llmc_tokenizer.h"
#include "runtime/include/llmc_tokenizer_format.h"
#include "targets/Target.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <map>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

using namespace mlir;

namespace llmc {
namespace {

using Clock = std::chrono::steady_clock;

/// Writes one of the --dump-* files through `write`; false (with the
/// error reported at `loc`) when it cannot be opened.
bool writeDump(Location loc, const std::string &path,
               llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::string err;
  auto out = openOutputFile(path, &err);
  if (!out) {
    emitError(loc) << err;
    return false;
  }
  write(out->os());
  out->keep();
  return true;
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One stored tensor (#llm.storage).
struct SourceTensor {
  std::string file;   // absolute path of the source file
  uint64_t sourceOffset = 0;
  std::string sourceDtype; // f32, f16, bf16, or (GGUF) a ggml block format
  std::optional<GGMLType> blocks; // the ggml block format, if one
  int64_t rows = 1;
  /// GGUF q / k projections: rows stored in llama.cpp's rope order for this
  /// many heads (#llm.storage rope_permute_heads); 0: in order.
  int64_t permuteHeads = 0;
};

struct WeightPlan {
  /// Their rows, in order, are the weight's (llm-fuse merges projections).
  std::vector<SourceTensor> parts;
  /// A vector every row is multiplied by, element by element (a norm's
  /// weight folded in by llm-fuse).
  std::optional<SourceTensor> scaledBy;
  bool copyBlocks = false; // ggml blocks stored exactly (WeightOp)
  quant::Layout layout; // destination format (f32, f16, int8, int4)
  std::string name;     // the artifact's weight, for messages
  bool allowNonfinite = false;
};

/// "" if every value of row r of `part` is finite (or they may not be),
/// else the error naming the tensor and the first bad element.
std::string checkFinite(const WeightPlan &w, const SourceTensor &part, int64_t r,
                        const float *row, int64_t n) {
  if (w.allowNonfinite)
    return "";
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(row[i]))
      return part.file + ": weight " + w.name + ": " +
             (std::isnan(row[i]) ? "NaN" : "an infinity") + " at row " +
             std::to_string(r) + ", column " + std::to_string(i) +
             " (every output would be NaN; --allow-nonfinite keeps it)";
  return "";
}

/// Reads a weight's rows from its source file, a row at a time: as f32
/// (any source format, ggml blocks dequantized) or, for ggml blocks that are
/// stored exactly, as raw blocks. Rows come in the model's order: a
/// rope-permuted source (GGUF q / k) is read in its stored order.
class RowReader {
public:
  explicit RowReader(const SourceTensor &w) : w(w) {}
  std::string open() {
    f.reset(std::fopen(w.file.c_str(), "rb"));
    if (!f)
      return w.file + ": cannot open: " + std::strerror(errno);
    if (fseeko(f.get(), off_t(w.sourceOffset), SEEK_SET) != 0)
      return w.file + ": cannot seek: " + std::strerror(errno);
    return "";
  }
  bool isBlocks() const { return w.blocks.has_value(); }
  /// Bytes of one source row of `n` elements.
  uint64_t rowBytes(uint64_t n) const {
    if (w.blocks) {
      ggml::BlockForm f = *ggml::blockForm(*w.blocks);
      return n / f.elems * f.bytes;
    }
    return w.sourceDtype == "f32" ? n * 4 : n * 2;
  }
  /// The stored row that holds logical row `r`: llama.cpp's converter
  /// stores logical row h*hd + j*hd/2 + i (i < hd/2, j < 2) of head h at
  /// h*hd + 2*i + j.
  int64_t sourceRow(int64_t r) const {
    if (w.permuteHeads <= 0)
      return r;
    int64_t hd = w.rows / w.permuteHeads, half = hd / 2;
    int64_t h = r / hd, rem = r % hd;
    int64_t j = rem / half, i = rem % half;
    return h * hd + 2 * i + j;
  }
  /// The raw bytes of logical row `r` (`n` elements) into `raw`.
  std::string readRaw(int64_t r, uint64_t n) {
    uint64_t bytes = rowBytes(n);
    if (w.permuteHeads > 0 &&
        fseeko(f.get(), off_t(w.sourceOffset + sourceRow(r) * bytes),
               SEEK_SET) != 0)
      return w.file + ": cannot seek: " + std::strerror(errno);
    raw.resize(bytes);
    if (std::fread(raw.data(), 1, bytes, f.get()) != bytes)
      return w.file + ": file ended inside a tensor (was it modified during "
                      "the build?)";
    return "";
  }
  const std::vector<uint8_t> &rawRow() const { return raw; }
  /// Logical row `r` (`n` elements) as f32.
  std::string read(int64_t r, float *out, uint64_t n) {
    if (std::string err = readRaw(r, n); !err.empty())
      return err;
    auto u16 = [&](uint64_t at) { return uint16_t(raw[at] | raw[at + 1] << 8); };
    if (w.sourceDtype == "f32") {
      std::memcpy(out, raw.data(), n * 4);
    } else if (w.sourceDtype == "bf16") {
      for (uint64_t i = 0; i < n; ++i) {
        uint32_t bits = uint32_t(u16(2 * i)) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
    } else if (w.blocks) {
      ggml::dequantizeBlocks(*w.blocks, raw.data(),
                             n / ggml::blockForm(*w.blocks)->elems, out);
    } else {
      for (uint64_t i = 0; i < n; ++i)
        out[i] = quant::halfToFloat(u16(2 * i));
    }
    return "";
  }

private:
  const SourceTensor &w;
  std::unique_ptr<FILE, int (*)(FILE *)> f{nullptr, &std::fclose};
  std::vector<uint8_t> raw;
};

/// Streams one weight from its source files into the artifact in its
/// destination format, a row at a time: memory holds one row plus the
/// weight's scales (1/16 of an int4 weight's size at most), never the
/// tensor.
std::string streamWeight(const WeightPlan &w, packager::WeightSink &sink) {
  const quant::Layout &l = w.layout;
  std::vector<float> row(l.cols), scale;
  if (w.scaledBy) {
    RowReader reader(*w.scaledBy);
    scale.resize(l.cols);
    if (std::string err = reader.open(); !err.empty())
      return err;
    if (std::string err = reader.read(0, scale.data(), l.cols); !err.empty())
      return err;
    if (std::string err = checkFinite(w, *w.scaledBy, 0, scale.data(), l.cols); !err.empty())
      return err;
  }
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> scales, mins;
  // Packed weights (QuantLayout.h): rows gather a panel at a time.
  const int64_t rowBytes = l.isInteger() ? l.qsBytes() / l.storedRows() : 0;
  std::vector<uint8_t> panelRows, packed;
  int64_t inPanel = 0;
  auto flushPanel = [&]() -> std::string {
    std::fill(panelRows.begin() + inPanel * rowBytes, panelRows.end(), 0);
    quant::packPanel(l, panelRows.data(), packed.data());
    inPanel = 0;
    return sink.write(packed.data(), packed.size());
  };
  if (l.panel) {
    panelRows.resize(size_t(l.panel * rowBytes));
    packed.resize(panelRows.size());
  }
  auto emitRow = [&]() -> std::string {
    if (!l.panel)
      return sink.write(bytes.data(), bytes.size());
    std::memcpy(&panelRows[inPanel * rowBytes], bytes.data(), size_t(rowBytes));
    return ++inPanel == l.panel ? flushPanel() : "";
  };
  for (const SourceTensor &part : w.parts) {
    RowReader reader(part);
    if (std::string err = reader.open(); !err.empty())
      return err;
    // A ggml block format stored exactly (WeightOp::copiesSourceBlocks):
    // each block's codes, scales and mins go into the layout unchanged
    // (Q8_0 / Q4_0: the same bytes as the file's).
    bool exact = w.copyBlocks && reader.isBlocks();
    std::optional<ggml::BlockForm> form;
    if (reader.isBlocks()) {
      form = ggml::blockForm(*part.blocks);
      if (l.cols % form->elems != 0)
        return part.file + ": internal error: a ggml block tensor whose rows "
                           "are not whole blocks";
    }
    if (exact && w.scaledBy)
      return part.file + ": internal error: ggml blocks stored exactly "
                         "cannot be scaled";
    std::vector<int8_t> codes;
    std::vector<float> blockScales, blockMins;
    if (exact) {
      codes.resize(l.cols);
      blockScales.resize(l.cols / form->group);
      blockMins.resize(l.cols / form->group);
    }
    for (int64_t r = 0; r < part.rows; ++r) {
      if (exact) {
        if (std::string err = reader.readRaw(r, l.cols); !err.empty())
          return err;
        ggml::decodeBlocks(*part.blocks, reader.rawRow().data(),
                           l.cols / form->elems, codes.data(),
                           blockScales.data(), blockMins.data());
        for (size_t g = 0; g < blockScales.size(); ++g)
          if (!w.allowNonfinite &&
              (!std::isfinite(blockScales[g]) ||
               (l.asymmetric && !std::isfinite(blockMins[g]))))
            return part.file + ": weight " + w.name +
                   ": a non-finite block scale at row " + std::to_string(r) +
                   ", columns " + std::to_string(g * form->group) + ".." +
                   std::to_string((g + 1) * form->group - 1) +
                   " (every output would be NaN; --allow-nonfinite keeps it)";
        // f16 scales were f16 values in the file: stored exactly.
        for (size_t g = 0; g < blockScales.size(); ++g) {
          quant::putScale(scales, blockScales[g], l.scaleBytes);
          if (l.asymmetric)
            quant::putScale(mins, blockMins[g], l.scaleBytes);
        }
        // Codes as QuantLayout.h stores them: int8 as bytes (asymmetric
        // ones are non-negative), int6 in low nibbles and top bits (Q5_0,
        // Q5_1, Q5_K, Q3_K, Q6_K: WeightOp::getLayout), int4 in nibbles,
        // symmetric int6 + 32 and int4 + 8.
        if (l.bits == 8) {
          bytes.resize(l.cols);
          std::memcpy(bytes.data(), codes.data(), l.cols);
        } else if (l.bits == 6) {
          bytes.assign(l.cols / quant::kInt4Block * quant::kInt6BlockBytes, 0);
          for (int64_t i = 0; i < l.cols; ++i) {
            int c = codes[i] + (l.asymmetric ? 0 : 32);
            if (c < 0 || c > 63)
              return part.file + ": internal error: a code outside int6";
            uint8_t v = uint8_t(c);
            bytes[quant::int6LowByte(i)] |= uint8_t((v & 15) << (quant::int4IsHigh(i) ? 4 : 0));
            bytes[quant::int6TopByte(i)] |= uint8_t((v >> 4) << quant::int6TopShift(i));
          }
        } else {
          bytes.assign(l.cols / 2, 0);
          for (int64_t i = 0; i < l.cols; ++i) {
            uint8_t v = uint8_t(codes[i] + (l.asymmetric ? 0 : 8)) & 15;
            bytes[quant::int4Byte(i)] |= quant::int4IsHigh(i) ? v << 4 : v;
          }
        }
        if (std::string err = emitRow(); !err.empty())
          return err;
        continue;
      }
      if (std::string err = reader.read(r, row.data(), l.cols); !err.empty())
        return err;
      if (std::string err = checkFinite(w, part, r, row.data(), l.cols); !err.empty())
        return err;
      // The fold happens before quantization: the codes encode W * g.
      for (size_t i = 0; i < scale.size(); ++i)
        row[i] *= scale[i];
      quant::encodeRow(row.data(), l, bytes, scales, mins);
      if (std::string err = emitRow(); !err.empty())
        return err;
    }
  }
  if (!l.isInteger())
    return "";
  if (l.panel) {
    if (inPanel)
      if (std::string err = flushPanel(); !err.empty())
        return err;
    scales.resize(size_t(l.storedRows() * l.groups() * l.scaleBytes), 0);
    if (l.asymmetric)
      mins.resize(scales.size(), 0);
    if (l.superGroups) {
      std::string err;
      scales = quant::packPanelSuperScales(l, scales, err);
      if (err.empty() && l.asymmetric)
        mins = quant::packPanelSuperScales(l, mins, err);
      if (!err.empty())
        return "weight " + w.name + ": internal error: " + err;
    } else {
      scales = quant::packPanelScales(l, scales);
      if (l.asymmetric)
        mins = quant::packPanelScales(l, mins);
    }
  }
  auto pad = [&](int64_t from, int64_t to) -> std::string {
    std::vector<uint8_t> zeros(size_t(to - from), 0);
    return zeros.empty() ? "" : sink.write(zeros.data(), zeros.size());
  };
  if (std::string err = pad(l.qsBytes(), l.scalesOffset()); !err.empty())
    return err;
  if (std::string err = sink.write(scales.data(), scales.size()); !err.empty())
    return err;
  if (l.asymmetric) {
    if (std::string err = pad(l.scalesOffset() + l.scalesBytes(), l.minsOffset());
        !err.empty())
      return err;
    if (std::string err = sink.write(mins.data(), mins.size()); !err.empty())
      return err;
  }
  return "";
}

} // namespace

/// `keep` stores every ggml block format exactly; for those whose bytes
/// differ from the file's (all but Q8_0 / Q4_0) one line per format says
/// what they became and what it costs.
void noteKeptFormats(ModuleOp module, llvm::raw_ostream &log) {
  struct Kept {
    int64_t tensors = 0;
    quant::Layout layout;
  };
  // By format and scale form: a K-quant's packed matrices hold its
  // two-level scales, any it leaves unpacked one f32 per group.
  std::map<std::pair<GGMLType, int64_t>, Kept> byFormat;
  for (auto op : module.getOps<llm::WeightOp>()) {
    std::optional<GGMLType> g = llm::getGGMLType(op.getStorage().getDtype());
    if (!g || *g == GGMLType::Q8_0 || *g == GGMLType::Q4_0 ||
        !op.copiesSourceBlocks())
      continue;
    quant::Layout l = op.getLayout();
    Kept &k = byFormat[{*g, l.superGroups}];
    k.tensors += int64_t(op.getParts().size()); // the file's, fused or not
    k.layout = l;
  }
  for (auto &[key, k] : byFormat) {
    const quant::Layout &l = k.layout;
    ggml::BlockForm f = *ggml::blockForm(key.first);
    std::string name = ggmlTypeName(key.first).str();
    double scaleBits = l.superGroups ? 8.0 + 32.0 / l.superGroups : l.scaleBytes * 8.0;
    double ours = l.bits + (l.asymmetric ? 2 : 1) * scaleBits / l.group;
    std::string scales =
        l.superGroups
            ? "int8 sub-scales" + std::string(l.asymmetric ? " and mins" : "") +
                  " under an f32 per " + std::to_string(l.group * l.superGroups) +
                  " columns"
            : std::string(l.scaleBytes == 2 ? "f16" : "f32") + " scales" +
                  (l.asymmetric ? " and mins" : "");
    log << llvm::format("llmc: note: %lld %s tensor%s kept exactly as int%d "
                        "groups of %lld with %s: %.2f bits per weight, the "
                        "file's %.2f (no kernels read %s's own layout yet)\n",
                        (long long)k.tensors, name.c_str(),
                        k.tensors == 1 ? "" : "s", l.bits, (long long)l.group,
                        scales.c_str(), ours, f.bytes * 8.0 / f.elems,
                        name.c_str());
  }
}

void registerBuildDialects(DialectRegistry &registry) {
  registerImporterDialects(registry);
  targets::registerTargetDialects(registry);
}

bool buildArtifact(MLIRContext &ctx, const BuildOptions &opts) {
  llvm::raw_ostream *log = opts.progress;
  Location loc = FileLineColLoc::get(&ctx, opts.modelDir, 0, 0);
  const targets::TargetPreset *target = targets::findTargetPreset(opts.target);
  if (!target) {
    emitError(loc) << "unknown target '" << opts.target
                   << "' (`llmc build --target help` lists the presets)";
    return false;
  }
  llvm::Expected<std::unique_ptr<targets::Target>> backend =
      targets::createTarget(*target);
  if (!backend) {
    emitError(loc) << llvm::toString(backend.takeError());
    return false;
  }
  // The writer renames its temporary file over the output: a device or pipe
  // there would be replaced. Refuse it before any work.
  llvm::sys::fs::file_status outStatus;
  if (!llvm::sys::fs::status(opts.output, outStatus) &&
      llvm::sys::fs::exists(outStatus) && !llvm::sys::fs::is_regular_file(outStatus)) {
    emitError(loc) << opts.output
                   << ": not a regular file; llmc writes the artifact to a "
                      "temporary file and renames it over the output";
    return false;
  }
  // A library: -o libNAME.a / libNAME.so; NAME.h and NAME.llmc beside it.
  const bool library = opts.emit == "static-lib" || opts.emit == "shared-lib";
  if (!library && opts.emit != "artifact") {
    emitError(loc) << "--emit must be artifact, static-lib or shared-lib, not '"
                   << opts.emit << "'";
    return false;
  }
  // Apple platforms load no code at run time: their CPU code is linked.
  if (!library && std::string(target->hal) == "cpu" &&
      llvm::StringRef(target->triple).contains("-apple-")) {
    emitError(loc) << "the " << opts.target << " target links its kernels into the "
                      "app (Apple platforms load no code at run time): build with "
                      "--emit static-lib -o libNAME.a";
    return false;
  }
  if (opts.embedWeights && !library) {
    emitError(loc) << "--embed-weights puts the weights in a library: it needs "
                      "--emit static-lib or shared-lib";
    return false;
  }
  std::string libName, artifactPath = opts.output, headerPath;
  if (library) {
    StringRef file = llvm::sys::path::filename(opts.output);
    StringRef ext = opts.emit == "static-lib" ? ".a" : ".so";
    if (!file.starts_with("lib") || !file.ends_with(ext) ||
        file.size() <= 3 + ext.size()) {
      emitError(loc) << "--emit " << opts.emit << " writes lib<name>" << ext
                     << ", not '" << file << "' (-o libmodel" << ext << ")";
      return false;
    }
    if (std::string(target->hal) != "cpu") {
      emitError(loc) << "--emit " << opts.emit << " needs native code: the "
                     << opts.target << " target's kernels are compiled by the "
                        "device's driver at run time; build an artifact";
      return false;
    }
    for (char c : file.drop_front(3).drop_back(ext.size()))
      libName += llvm::isAlnum(c) ? c : '_';
    if (llvm::isDigit(libName[0]))
      libName = "_" + libName;
    SmallString<256> dir(llvm::sys::path::parent_path(opts.output));
    SmallString<256> p = dir;
    llvm::sys::path::append(p, libName + ".llmc");
    artifactPath = std::string(p);
    p = dir;
    llvm::sys::path::append(p, libName + ".h");
    headerPath = std::string(p);
  }
  // Every output: in a directory we can write, and not one of the inputs
  // (`-o DIR/model.safetensors` must not overwrite the checkpoint). Checked
  // before any work, so a typo costs no compile. A checkpoint directory's
  // inputs are the files the importer reads (JSON and safetensors), so an
  // artifact built into it before is overwritten, not mistaken for one.
  {
    std::vector<std::string> outputs = {opts.output};
    if (library)
      outputs.insert(outputs.end(), {artifactPath, headerPath});
    std::vector<std::string> inputs;
    if (llvm::sys::fs::is_directory(opts.modelDir)) {
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(opts.modelDir, ec), end; it != end && !ec;
           it.increment(ec)) {
        StringRef ext = llvm::sys::path::extension(it->path());
        if (ext == ".json" || ext == ".safetensors")
          inputs.push_back(it->path());
      }
    } else {
      inputs.push_back(opts.modelDir);
    }
    for (const std::string &out : outputs) {
      SmallString<256> dir(llvm::sys::path::parent_path(out));
      if (dir.empty())
        dir = ".";
      if (!llvm::sys::fs::is_directory(dir)) {
        emitError(loc) << out << ": the output directory " << dir << " does not exist";
        return false;
      }
      if (!llvm::sys::fs::can_write(dir)) {
        emitError(loc) << out << ": the output directory " << dir << " is not writable";
        return false;
      }
      for (const std::string &in : inputs) {
        bool same = false;
        if (!llvm::sys::fs::equivalent(out, in, same) && same) {
          emitError(loc) << out << ": this output is the input file " << in
                         << "; choose another -o";
          return false;
        }
      }
    }
  }
  if (opts.prefillChunk && (*opts.prefillChunk < 1 || *opts.prefillChunk > 4096)) {
    emitError(loc) << "--prefill-chunk must be in [1, 4096], got "
                   << *opts.prefillChunk;
    return false;
  }

  // 1. Import: a GGUF file or a Hugging Face directory.
  const bool gguf = isGGUFPath(opts.modelDir);
  const std::string preset =
      !opts.quantization.empty() ? opts.quantization : gguf ? "keep" : "f32";
  const bool keep = preset == "keep";
  if (keep && !gguf) {
    emitError(loc) << "--quantization keep applies to GGUF input (it keeps "
                      "the values of the file's ggml block and F16 tensors); a "
                      "Hugging Face "
                      "checkpoint takes a preset such as f32, f16, q8 or "
                      "q4_g32";
    return false;
  }
  if (keep && !opts.quantOverrides.empty()) {
    emitError(loc) << "--quant-override needs an explicit --quantization "
                      "preset (the default for GGUF input, keep, stores each "
                      "weight as the file does)";
    return false;
  }
  // Every flag that can be checked without the model is checked here,
  // before an import that may take minutes.
  if (!keep) {
    std::array<std::string, 6> schemes;
    std::string error;
    if (!resolveQuantPolicy(preset, opts.quantOverrides, schemes, error)) {
      emitError(loc) << error;
      return false;
    }
  }
  if (opts.kvCache != "f32" && opts.kvCache != "f16" && opts.kvCache != "q8") {
    emitError(loc) << "--kv-cache must be f32, f16 or q8, got '" << opts.kvCache
                   << "'";
    return false;
  }
  if (opts.kvSplits < 1 || opts.kvSplits > 256) {
    emitError(loc) << "--kv-splits must be in [1, 256], got " << opts.kvSplits;
    return false;
  }
  if (opts.kvTile < 0) {
    emitError(loc) << "--kv-tile must be positive (0: from the target's L1 "
                      "cache), got "
                   << opts.kvTile;
    return false;
  }
  if (opts.maxContext < 0) {
    emitError(loc) << "--max-context must be positive (0: the model's, at most "
                   << kDefaultMaxContext << "), got " << opts.maxContext;
    return false;
  }

  auto t0 = Clock::now();
  if (log)
    *log << "llmc: [1/4] importing " << opts.modelDir << "\n";
  GGUFImportOptions importOpts;
  importOpts.maxContext = opts.maxContext;
  importOpts.maxContextCap = kDefaultMaxContext;
  importOpts.keepQuantization = keep;
  OwningOpRef<ModuleOp> module =
      gguf ? importGGUF(ctx, opts.modelDir, importOpts)
           : importHFCheckpoint(ctx, opts.modelDir, importOpts);
  if (!module)
    return false;
  auto config = llm::getModelConfig(*module);
  if (log)
    *log << llvm::format("llmc:       %lld layers, hidden %lld, vocab %lld, "
                         "max context %lld (%.2f s)\n",
                         (long long)config.getNumLayers(),
                         (long long)config.getHiddenSize(),
                         (long long)config.getVocabSize(),
                         (long long)config.getMaxContext(), secondsSince(t0));

  // The chunk is a plan number checked here, once: a chunk never holds more
  // tokens than the context, and the runtime refuses an artifact whose chunk
  // exceeds it.
  const int64_t maxContext = config.getMaxContext();
  int64_t chunk = opts.prefillChunk.value_or(
      std::min(kDefaultPrefillChunk, maxContext));
  if (chunk > maxContext) {
    emitError(loc) << "--prefill-chunk " << chunk
                   << " is larger than the compiled context of " << maxContext
                   << " positions: give a chunk of at most " << maxContext
                   << " or a larger --max-context";
    return false;
  }

  if (opts.kvTile > maxContext) {
    emitError(loc) << "--kv-tile must be in [1, " << maxContext << "], got "
                   << opts.kvTile;
    return false;
  }
  // Attention's tile: one KV head's keys and values of a tile in half the
  // preset's L1 (32 KB when the preset leaves it to the machine), a power
  // of two in [8, 256], no longer than the context.
  int64_t kvTile = opts.kvTile;
  if (!kvTile) {
    int64_t l1 = target->l1Bytes ? target->l1Bytes : 32 * 1024;
    int64_t elt = opts.kvCache == "f32" ? 4 : opts.kvCache == "f16" ? 2 : 1;
    int64_t fit = l1 / 2 / (2 * config.getHeadDim() * elt);
    kvTile = 8;
    while (kvTile * 2 <= std::min<int64_t>({fit, 256, maxContext}))
      kvTile *= 2;
  }

  // 2. Plan weights and memory, lower to the dispatch level.
  t0 = Clock::now();
  if (log) {
    // The classes whose scheme depends on the target (the q4 presets'
    // vocabulary matrices), said where the preset's name does not say it.
    std::string heads;
    if (!keep) {
      std::array<std::string, 6> schemes, plain;
      std::string error;
      bool dot = (*backend)->kernelStrategy().int8Dot;
      if (resolveQuantPolicy(preset, opts.quantOverrides, schemes, error, dot) &&
          resolveQuantPolicy(preset, opts.quantOverrides, plain, error, false)) {
        const char *names[] = {"embed", "lm_head"};
        for (int c = 0; c < 2; ++c)
          if (schemes[c] != plain[c])
            heads += (heads.empty() ? ": " : ", ") + std::string(names[c]) +
                     " " + schemes[c];
        if (!heads.empty())
          heads += " for the integer-dot kernels";
      }
    }
    *log << "llmc: [2/4] quantizing (" << preset << heads
         << ") and lowering to kernels (prefill chunk " << chunk << ", "
         << opts.kvCache << " KV cache, attention tiles of " << kvTile
         << ")\n";
  }
  // The memory pool's peak without fusion (the plan of an unfused copy),
  // for the log and `llmc inspect`.
  std::optional<int64_t> unfusedArena;
  {
    LLMPlanMemoryOptions memoryOpts;
    memoryOpts.prefillChunk = chunk;
    targets::KernelStrategy strategy = (*backend)->kernelStrategy();
    // keep: the importer already annotated every weight.
    if (!keep) {
      PassManager qpm(&ctx);
      LLMQuantizeOptions quantOpts;
      quantOpts.preset = preset;
      quantOpts.overrides = opts.quantOverrides;
      quantOpts.strict = opts.strictQuant;
      quantOpts.int8Dot = strategy.int8Dot;
      qpm.addPass(createLLMQuantize(quantOpts));
      if (failed(qpm.run(*module)))
        return false;
    }
    // q4f16: f16 activations where the target stores f16 natively; the
    // CPU targets keep f32 (their integer-dot kernels quantize f32 rows).
    if (strategy.halfActivations && StringRef(preset).starts_with("q4f16"))
      memoryOpts.activations = "f16";
    if (opts.fuse) {
      OwningOpRef<ModuleOp> copy = module->clone();
      PassManager ppm(&ctx);
      if (strategy.int8Dot)
        ppm.addPass(createLLMPackWeights());
      ppm.addPass(createLLMPlanWeights());
      ppm.addPass(createLLMPlanMemory(memoryOpts));
      if (succeeded(ppm.run(*copy)))
        if (auto p = (*copy)->getAttrOfType<llm::PlanAttr>("llm.plan"))
          unfusedArena = p.getArenaSize();
    }
    PassManager pm(&ctx);
    if (opts.fuse)
      pm.addPass(createLLMFuse());
    LLMTileKVOptions kvOpts;
    kvOpts.dtype = opts.kvCache;
    kvOpts.tile = kvTile;
    kvOpts.splits = opts.kvSplits;
    pm.addPass(createLLMTileKV(kvOpts));
    if (strategy.int8Dot)
      pm.addPass(createLLMPackWeights());
    pm.addPass(createLLMPlanWeights());
    pm.addPass(createLLMPlanMemory(memoryOpts));
    LLMLowerToKernelsOptions lowerOpts;
    lowerOpts.vectorWidth = strategy.vectorWidth;
    lowerOpts.accumulators = strategy.accumulators;
    lowering::KernelPatterns microkernels;
    (*backend)->addKernelPatterns(microkernels);
    pm.addPass(createLLMLowerToKernels(lowerOpts, std::move(microkernels)));
    if (strategy.lanes > 1) {
      LLMDistributeReductionsOptions laneOpts;
      laneOpts.lanes = strategy.lanes;
      pm.addPass(createLLMDistributeReductions(laneOpts));
    }
    if (failed(pm.run(*module)))
      return false;
    // What the kept formats became, packed or not for this target.
    if (keep && log)
      noteKeptFormats(*module, *log);
    auto plan = (*module)->getAttrOfType<llm::PlanAttr>("llm.plan");
    if (log && plan) {
      *log << llvm::format("llmc:       %zu dispatches per call, arena %.3f MB",
                           size_t(llvm::range_size(
                               (*module->getOps<llm::ScheduleOp>().begin())
                                   .getOps<llm::DispatchOp>())),
                           plan.getArenaSize() / 1e6);
      if (plan.getActivationType().isF16())
        *log << " of f16 activations";
      if (unfusedArena)
        *log << llvm::format(" (%.3f MB unfused, %+.0f%%)", *unfusedArena / 1e6,
                             100.0 * (plan.getArenaSize() - *unfusedArena) /
                                 double(*unfusedArena));
      *log << llvm::format(" (%.2f s)\n", secondsSince(t0));
    }
  }
  if (!opts.dumpKernelIR.empty() &&
      !writeDump(loc, opts.dumpKernelIR, [&](llvm::raw_ostream &os) { module->print(os); }))
    return false;

  // Collect the plan before code generation consumes the module.
  packager::ArtifactDesc desc;
  std::vector<WeightPlan> sources;
  // The weight ops are the weight table: source (storage), layout (quant)
  // and place in the segment (at), all set by the passes.
  for (auto op : module->getOps<llm::WeightOp>()) {
    packager::WeightDesc w;
    w.name = op.getSymName().str();
    w.shape.assign(op.getTensorType().getShape().begin(),
                   op.getTensorType().getShape().end());
    quant::Layout layout = op.getLayout();
    std::optional<int64_t> at = op.getSegmentOffset();
    if (!at) {
      emitError(loc) << "internal error: weight " << w.name
                     << " was not placed by the lowering";
      return false;
    }
    w.offset = *at;
    w.size = layout.totalBytes();
    w.dtype = layout.bits == 32   ? packager::DType::F32
              : layout.bits == 16 ? packager::DType::F16
              : layout.bits == 8  ? packager::DType::Q8
              : layout.bits == 6  ? packager::DType::Q6
                                  : packager::DType::Q4;
    if (layout.isInteger()) {
      w.hasQuant = true;
      w.quant.scheme = (llvm::Twine("int") + llvm::Twine(layout.bits) + "_g" +
                        llvm::Twine(layout.group) +
                        (layout.asymmetric ? "_asym" : ""))
                           .str();
      // Two-level scales: an f32 multiplier per this many columns.
      if (layout.superGroups)
        w.quant.scheme += "_s" + std::to_string(layout.group * layout.superGroups);
      w.quant.groupSize = layout.group;
      w.quant.scaleDType = layout.scaleBytes == 2 ? packager::DType::F16
                                                  : packager::DType::F32;
      w.quant.zeroPoint = layout.asymmetric;
    }
    desc.weights.push_back(w);
    // Storage files are relative to the checkpoint directory, or to the
    // GGUF file's directory.
    auto source = [&](llm::WeightStorageAttr st) {
      SmallString<256> path(gguf ? llvm::sys::path::parent_path(opts.modelDir)
                                 : StringRef(opts.modelDir));
      llvm::sys::path::append(path, st.getFile().getValue());
      SourceTensor t;
      t.file = path.str().str();
      t.permuteHeads = st.getRopePermuteHeads();
      t.sourceOffset = st.getOffset();
      t.sourceDtype = llm::stringifyDType(st.getDtype()).str();
      t.blocks = llm::getGGMLType(st.getDtype());
      t.rows = st.getShape()[0]; // a vector is n rows of 1 (layoutFor)
      return t;
    };
    WeightPlan plan;
    for (llm::WeightStorageAttr st : op.getParts())
      plan.parts.push_back(source(st));
    if (llm::WeightStorageAttr st = op.getScaledByAttr())
      plan.scaledBy = source(st);
    plan.copyBlocks = op.copiesSourceBlocks();
    plan.layout = layout;
    plan.name = w.name;
    plan.allowNonfinite = opts.allowNonfinite;
    sources.push_back(plan);
  }
  auto plan = (*module)->getAttrOfType<llm::PlanAttr>("llm.plan");
  auto schedules = llvm::to_vector(module->getOps<llm::ScheduleOp>());
  if (!plan || schedules.size() != 1) {
    emitError(loc) << "internal error: the lowering left no llm.plan or not "
                      "exactly one llm.schedule";
    return false;
  }
  // The writer checks the offsets (aligned, in order, inside the segment).
  desc.weightsSize = plan.getWeightsSize();
  // The schedule as data, and the kernel table in order of first launch.
  packager::PayloadDesc payload;
  llvm::StringMap<uint32_t> kernelIndex;
  auto scalarDesc = [](llm::ScalarAttr s) {
    return packager::ScalarDesc{s.getC(), s.getNTokens(), s.getStartPos(),
                                s.getLogitRows()};
  };
  for (auto op : schedules.front().getOps<llm::DispatchOp>()) {
    StringRef name = op.getKernel();
    auto [it, inserted] = kernelIndex.try_emplace(name, payload.kernels.size());
    if (inserted) {
      auto fn = module->lookupSymbol<func::FuncOp>(name);
      packager::KernelDesc k;
      k.name = name.str();
      k.entry = (*backend)->kernelEntry(name);
      for (Type t : fn.getArgumentTypes().take_front(op.getBindings().size())) {
        auto m = cast<MemRefType>(t);
        k.bindingSizes.push_back(uint64_t(m.getNumElements()) *
                                 ((m.getElementTypeBitWidth() + 7) / 8));
      }
      k.numScalars = op.getScalars().size();
      payload.kernels.push_back(std::move(k));
    }
    packager::DispatchDesc dispatch;
    dispatch.kernel = name.str();
    dispatch.label = op.getLabel().str();
    dispatch.layer = op.getLayer() ? int32_t(*op.getLayer()) : -1;
    dispatch.kernelIndex = it->second;
    auto bytes = [&](llm::ScalarAttr s) {
      return s ? scalarDesc(s) : packager::ScalarDesc{};
    };
    for (auto b : op.getBindings().getAsRange<llm::BindingAttr>()) {
      dispatch.operands.push_back(
          {static_cast<packager::BufferSpace>(b.getSpace()),
           uint64_t(b.getOffset()), uint64_t(b.getSize())});
      dispatch.reads.push_back(bytes(b.getRead()));
      dispatch.writes.push_back(bytes(b.getWrite()));
    }
    for (auto s : op.getScalars().getAsRange<llm::ScalarAttr>())
      dispatch.scalars.push_back(scalarDesc(s));
    dispatch.grid = scalarDesc(op.getGrid());
    desc.schedule.push_back(std::move(dispatch));
  }
  desc.arenaSize = plan.getArenaSize();
  desc.arenaSizeUnfused = unfusedArena.value_or(0);
  // The KV cache is what the plan sized for max_context positions; the
  // runtime checks it against the config's layout.
  desc.kvCacheBytesPerToken =
      uint64_t(plan.getKvCacheSize()) / uint64_t(config.getMaxContext());
  desc.kvCacheDType = opts.kvCache == "f16"  ? packager::DType::F16
                      : opts.kvCache == "q8" ? packager::DType::I8
                                             : packager::DType::F32;
  auto &c = desc.config;
  c.hiddenSize = config.getHiddenSize();
  c.intermediateSize = config.getIntermediateSize();
  c.numLayers = config.getNumLayers();
  c.numHeads = config.getNumHeads();
  c.numKvHeads = config.getNumKvHeads();
  c.headDim = config.getHeadDim();
  c.vocabSize = config.getVocabSize();
  c.maxContext = config.getMaxContext();
  c.prefillChunk = chunk;
  c.rmsNormEps = config.getRmsNormEps().convertToDouble();
  c.ropeTheta = config.getRopeTheta().convertToDouble();
  if (auto rs = config.getRopeScaling()) {
    c.ropeScalingType = llm::stringifyRopeType(rs.getType()).str();
    c.ropeScalingFactor = rs.getFactor().convertToDouble();
    c.ropeLowFreqFactor = rs.getLowFreqFactor().convertToDouble();
    c.ropeHighFreqFactor = rs.getHighFreqFactor().convertToDouble();
    c.ropeOriginalMaxPositionEmbeddings = rs.getOriginalMaxPositionEmbeddings();
  }
  c.tieWordEmbeddings = config.getTieWordEmbeddings();
  c.bosTokenId = config.getBosTokenId();
  for (int64_t id : config.getEosTokenIds())
    c.eosTokenIds.push_back(id);

  // The tokenizer travels in the artifact when the checkpoint has one.
  if (gguf) {
    llvm::Expected<std::optional<std::vector<uint8_t>>> blob =
        buildGGUFTokenizerBlob(opts.modelDir);
    if (!blob) {
      emitError(loc) << llvm::toString(blob.takeError());
      return false;
    }
    if (*blob) {
      desc.tokenizerBlob = std::move(**blob);
      if (log)
        *log << llvm::format("llmc:       tokenizer: %.1f KB (from the GGUF "
                             "metadata)\n",
                             desc.tokenizerBlob.size() / 1024.0);
    } else if (log) {
      *log << "llmc:       no tokenizer.ggml.tokens: the artifact takes token "
              "ids only\n";
    }
  } else if (hasTokenizer(opts.modelDir)) {
    llvm::Expected<std::vector<uint8_t>> blob = buildTokenizerBlob(opts.modelDir);
    if (!blob) {
      emitError(loc) << llvm::toString(blob.takeError());
      return false;
    }
    desc.tokenizerBlob = std::move(*blob);
    if (log)
      *log << llvm::format("llmc:       tokenizer: %.1f KB\n",
                           desc.tokenizerBlob.size() / 1024.0);
  } else if (log) {
    *log << "llmc:       no tokenizer.json: the artifact takes token ids only\n";
  }

  // The runtime refuses a tokenizer whose ids reach past the embeddings:
  // say so now, naming both numbers, rather than write such an artifact.
  if (desc.tokenizerBlob.size() >= sizeof(llmc_tok_header)) {
    uint32_t tokens = llmc_rd32(desc.tokenizerBlob.data() + offsetof(llmc_tok_header, vocab_size));
    if (int64_t(tokens) > c.vocabSize) {
      emitError(loc) << "the tokenizer ("
                     << (gguf ? "tokenizer.ggml.tokens" : "tokenizer.json") << ") has "
                     << tokens << " tokens (ids 0 to " << tokens - 1
                     << "), more than the model's vocab_size of " << c.vocabSize
                     << (gguf ? " (llama.vocab_size / the token embeddings)"
                              : " (config.json)")
                     << ": its ids would index past the embeddings";
      return false;
    }
  }

  // 3. Native code.
  t0 = Clock::now();
  if (log)
    *log << "llmc: [3/4] generating code for " << opts.target << " ("
         << (std::string(target->hal) != "cpu" ? StringRef(target->device)
             : target->cpu[0]                 ? StringRef(target->cpu)
                                              : llvm::sys::getHostCPUName())
         << ")\n";
  if (!opts.dumpLLVMIR.empty()) {
    OwningOpRef<ModuleOp> copy = module->clone();
    llvm::Expected<std::string> ir = (*backend)->emitText(*copy);
    if (!ir) {
      emitError(loc) << llvm::toString(ir.takeError());
      return false;
    }
    if (!writeDump(loc, opts.dumpLLVMIR, [&](llvm::raw_ostream &os) { os << *ir; }))
      return false;
  }
  auto fillManifest = [&](const std::string &triple, const std::string &features) {
    desc.manifest.compilerVersion = LLMC_VERSION_STRING;
    desc.manifest.target = opts.target;
    desc.manifest.targetTriple = triple;
    desc.manifest.cpuFeatures = features;
    desc.manifest.quantization = preset;
    for (const std::string &o : opts.quantOverrides)
      desc.manifest.quantization += "," + o;
    desc.manifest.createdBy = "llmc build";
  };
  // 4. Package, streaming the weights.
  auto package = [&](const std::string &path) -> std::string {
    t0 = Clock::now();
    if (log)
      *log << llvm::format("llmc: [4/4] writing %s (%.1f MB of weights)\n",
                           path.c_str(), desc.weightsSize / 1e6);
    packager::WriteOptions writeOpts;
    // Ctrl-C, SIGTERM or SIGHUP while writing remove the temporary file.
    writeOpts.trackTemporary = [](const std::string &tmp, bool live) {
      if (live)
        llvm::sys::RemoveFileOnSignal(tmp);
      else
        llvm::sys::DontRemoveFileOnSignal(tmp);
    };
    // The runtime's own loader opens what we wrote, before it replaces the
    // output: a build never reports success for an artifact the runtime
    // refuses. Only the metadata (the code may be for another machine); the
    // weights were hashed as they were written.
    writeOpts.verify = [](const std::string &tmp) -> std::string {
      llmc_model *m = nullptr;
      llmc_status st = llmc_model_open(
          tmp.c_str(), LLMC_OPEN_METADATA_ONLY | LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM, &m);
      if (st == LLMC_OK) {
        // The tokenizer too, which the runtime checks at its first use.
        const llmc_tokenizer *t = nullptr;
        st = llmc_model_get_tokenizer(m, &t);
        llmc_model_close(m);
        if (st == LLMC_OK || st == LLMC_ERR_UNSUPPORTED) // or none at all
          return "";
      }
      return std::string("internal error: the runtime refuses the artifact this build "
                         "wrote, so it was not kept: ") +
             llmc_last_error();
    };
    if (log)
      writeOpts.progress = [&](uint64_t written, uint64_t total) {
        double s = secondsSince(t0);
        *log << llvm::format("llmc:       %7.1f / %.1f MB  %6.1f MB/s\n",
                             written / 1e6, total / 1e6,
                             s > 0 ? written / 1e6 / s : 0.0);
      };
    std::string err = packager::writeArtifact(
        desc, path,
        [&](size_t i, const packager::WeightDesc &, packager::WeightSink &sink) {
          return streamWeight(sources[i], sink);
        },
        writeOpts);
    if (err.empty() && log)
      *log << llvm::format("llmc: wrote %s in %.2f s\n", path.c_str(), secondsSince(t0));
    return err;
  };

  // What the code is compiled for, carried by the code: the runtime checks
  // the metadata against it before running anything (llmc_kernel_abi.h).
  const std::vector<uint8_t> record = packager::codeRecord(desc, payload.kernels);
  if (library) {
    // The code goes into a library; the artifact records its id in a
    // "linked" payload. It is written (and, to embed it, read back) once
    // the id is known, before the library is emitted.
    const std::string symbol = "llmc_model_" + libName;
    targets::LibraryOptions libOpts;
    libOpts.shared = opts.emit == "shared-lib";
    libOpts.symbol = symbol;
    libOpts.soname = llvm::sys::path::filename(opts.output).str();
    libOpts.codeRecord = record;
    libOpts.embed = [&](const targets::Library &lib)
        -> llvm::Expected<std::vector<uint8_t>> {
      payload.target = lib.triple;
      payload.format = "linked";
      payload.data.resize(8);
      llmc_wr64(payload.data.data(), lib.codeId);
      desc.payloads.push_back(std::move(payload));
      fillManifest(lib.triple, lib.features);
      std::string path = artifactPath;
      if (opts.embedWeights) {
        SmallString<128> tmp;
        if (std::error_code ec =
                llvm::sys::fs::createTemporaryFile("llmc-embed", "llmc", tmp))
          return llvm::createStringError("cannot create a temporary file: " + ec.message());
        path = std::string(tmp);
      }
      std::string err = package(path);
      if (!err.empty())
        return llvm::createStringError(err);
      if (!opts.embedWeights)
        return std::vector<uint8_t>();
      auto bytes = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                               /*RequiresNullTerminator=*/false);
      llvm::sys::fs::remove(path);
      if (!bytes)
        return llvm::createStringError("cannot read back the artifact: " +
                                       bytes.getError().message());
      return std::vector<uint8_t>((*bytes)->getBufferStart(), (*bytes)->getBufferEnd());
    };
    llvm::Expected<targets::Library> lib = (*backend)->compileLibrary(*module, libOpts);
    if (!lib) {
      // No artifact without the library it was made for.
      if (!desc.payloads.empty() && !opts.embedWeights)
        llvm::sys::fs::remove(artifactPath);
      emitError(loc) << "code generation failed: " << llvm::toString(lib.takeError());
      return false;
    }
    if (log)
      *log << llvm::format("llmc:       %zu kernels, %.1f KB of library%s (%.2f s)\n",
                           desc.payloads.front().kernels.size(), lib->bytes.size() / 1024.0,
                           opts.embedWeights ? " with the artifact inside" : "",
                           secondsSince(t0));
    std::string header =
        "/* Generated by `llmc build --emit " + opts.emit + "` from " + opts.modelDir +
        ":\n * the kernels of the model for " + lib->triple + " (" + lib->features +
        "),\n * compiled into " + std::string(llvm::sys::path::filename(opts.output)) +
        ". Link it and the llmc runtime, then:\n *\n"
        " *   llmc_open_params params = {0};\n"
        " *   params.kernels = " + symbol + "();\n" +
        (opts.embedWeights
             ? " *   params.data = " + symbol + "_artifact(&params.size);\n"
               " *   llmc_model_open_with_params(NULL, &params, &model);\n"
             : " *   llmc_model_open_with_params(\"" + libName +
                   ".llmc\", &params, &model);\n") +
        " *\n * The artifact must be the one built with this library (the runtime\n"
        " * checks the code id, " + llvm::utohexstr(lib->codeId) + "). */\n"
        "#ifndef LLMC_MODEL_" + llvm::StringRef(libName).upper() + "_H\n"
        "#define LLMC_MODEL_" + llvm::StringRef(libName).upper() + "_H\n\n"
        "#include <stddef.h>\n\n"
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
        "struct llmc_kernel_table;\n"
        "const struct llmc_kernel_table *" + symbol + "(void);\n" +
        (opts.embedWeights ? "const void *" + symbol + "_artifact(size_t *size);\n" : "") +
        "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
    // Each file through a new temporary file renamed over it (removed on
    // errors and signals), as the artifact.
    for (const auto &file :
         {std::pair<std::string, StringRef>(
              opts.output, StringRef(reinterpret_cast<const char *>(lib->bytes.data()),
                                     lib->bytes.size())),
          std::pair<std::string, StringRef>(headerPath, header)}) {
      if (llvm::Error e = llvm::writeToOutput(file.first, [&](llvm::raw_ostream &os) {
            os << file.second;
            return llvm::Error::success();
          })) {
        emitError(loc) << file.first << ": " << llvm::toString(std::move(e));
        return false;
      }
    }
    if (log)
      *log << "llmc: wrote " << opts.output << " and " << headerPath
           << (opts.embedWeights ? "" : " (weights: " + artifactPath + ")") << "\n";
    return true;
  }

  llvm::Expected<targets::Executable> exe = (*backend)->compile(*module);
  if (!exe) {
    emitError(loc) << "code generation failed: " << llvm::toString(exe.takeError());
    return false;
  }
  if (log)
    *log << llvm::format("llmc:       %zu kernels, %zu dispatches per call, "
                         "%.1f KB of code (%.2f s)\n",
                         payload.kernels.size(), desc.schedule.size(),
                         exe->bytes.size() / 1024.0, secondsSince(t0));
  if (!opts.dumpPayload.empty() &&
      !writeDump(loc, opts.dumpPayload, [&](llvm::raw_ostream &os) {
        os.write(reinterpret_cast<const char *>(exe->bytes.data()), exe->bytes.size());
      }))
    return false;
  payload.target = exe->triple;
  payload.format = exe->format;
  payload.data = std::move(exe->bytes);
  payload.data.insert(payload.data.end(), record.begin(), record.end());
  desc.payloads.push_back(std::move(payload));
  fillManifest(exe->triple, exe->features);
  std::string err = package(opts.output);
  if (!err.empty()) {
    emitError(loc) << err;
    return false;
  }
  return true;
}

} // namespace llmc
