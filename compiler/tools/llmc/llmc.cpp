//===- llmc.cpp - the llmc driver -----------------------------------------===//
//
// `llmc <subcommand>`: the user-facing tool. Each subcommand is a thin layer
// over a library in compiler/; this file only parses flags and reports.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUFImporter.h"
#include "compiler/frontend/HFImporter.h"
#include "compiler/pipeline/Build.h"
#include "dialects/llm/LLMDialect.h"
#include "runtime/include/llmc.h"
#include "runtime/include/llmc_sampler.h"
#include "runtime/include/llmc_tokenizer.h"
#include "targets/presets/Presets.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <string>
#include <vector>

using namespace llvm;

#ifndef LLMC_VERSION
#define LLMC_VERSION "unknown"
#endif

namespace {
cl::SubCommand importCmd("import",
                         "Import a Hugging Face Llama 3 checkpoint directory "
                         "as llm dialect IR (or a GGUF file)");
cl::opt<std::string> importDir(cl::Positional, cl::Required,
                               cl::desc("<model dir | model.gguf>"),
                               cl::sub(importCmd));
cl::opt<std::string> importOut("o", cl::desc("Output .mlir file ('-' = stdout)"),
                               cl::value_desc("file"), cl::init("-"),
                               cl::sub(importCmd));
cl::opt<int64_t> importMaxContext(
    "max-context",
    cl::desc("Largest context the compiled model supports (default: the "
             "model's max_position_embeddings)"),
    cl::init(0), cl::sub(importCmd));

cl::SubCommand buildCmd("build",
                        "Compile a Hugging Face Llama 3 checkpoint (or a GGUF "
                        "file) into a .llmc artifact");
// Not cl::Required: `llmc build --target help` needs neither.
cl::opt<std::string> buildDir(cl::Positional,
                              cl::desc("<model dir | model.gguf>"),
                              cl::sub(buildCmd));
cl::opt<std::string> buildOut("o", cl::desc("Output artifact (required)"),
                              cl::value_desc("file.llmc"), cl::sub(buildCmd));
cl::opt<std::string> buildTarget(
    "target",
    cl::desc("Target preset: host, or `help` to list every preset and which "
             "are supported yet"),
    cl::init("host"), cl::sub(buildCmd));
cl::opt<int64_t> buildChunk(
    "prefill-chunk",
    cl::desc("Tokens per kernel call; longer prompts run as several chunks "
             "(default: 64, or the context if smaller)"),
    cl::init(0), cl::sub(buildCmd));
cl::opt<int64_t> buildMaxContext(
    "max-context",
    cl::desc("Largest context the artifact supports; sizes the KV cache "
             "(default: min(max_position_embeddings, 4096))"),
    cl::init(0), cl::sub(buildCmd));
cl::opt<std::string> buildQuant(
    "quantization",
    cl::desc("Weight format preset: f32, f16, q8, q4_g32, q4_g128, "
             "q4_g32_asym, q4_g128_asym, q4f16_g128, keep (GGUF: the file's "
             "formats) (docs/quantization.md; default: f32, GGUF: keep)"),
    cl::init(""), cl::sub(buildCmd));
cl::list<std::string> buildQuantOverride(
    "quant-override",
    cl::desc("Per-class scheme, e.g. attn_o=f16 or lm_head=q8_ch "
             "(classes: embed, lm_head, attn_qkv, attn_o, mlp)"),
    cl::CommaSeparated, cl::sub(buildCmd));
cl::opt<std::string> buildKVCache(
    "kv-cache",
    cl::desc("KV cache element type: f32, f16 or q8 (int8 with a scale per "
             "position and head); default f32"),
    cl::init("f32"), cl::sub(buildCmd));
cl::opt<int64_t> buildKVTile(
    "kv-tile",
    cl::desc("Positions per attention tile (default: from the target's L1 "
             "cache size)"),
    cl::init(0), cl::sub(buildCmd));
cl::opt<int64_t> buildKVSplits(
    "kv-splits",
    cl::desc("Position ranges attention computes in parallel and then "
             "combines (flash decoding; default 1: the CPU's threads split "
             "the KV heads)"),
    cl::init(1), cl::sub(buildCmd));
cl::opt<bool> buildNoFuse(
    "no-fuse",
    cl::desc("Skip llm-fuse: one kernel per op (16 a layer instead of 5); "
             "for comparisons, same results"),
    cl::init(false), cl::sub(buildCmd));
cl::opt<std::string> buildDumpKernels(
    "dump-kernel-ir", cl::desc("Also write the dispatch-level MLIR (kernels + llm.schedule) to <file>"),
    cl::value_desc("file"), cl::sub(buildCmd));
cl::opt<std::string> buildDumpLLVM(
    "dump-llvm-ir", cl::desc("Also write the optimized LLVM IR to <file>"),
    cl::value_desc("file"), cl::sub(buildCmd));

cl::SubCommand runCmd("run", "Generate with an artifact from a text prompt (-p) or token ids (--tokens)");
cl::opt<std::string> runArtifact(cl::Positional, cl::Required,
                                 cl::desc("<model.llmc>"), cl::sub(runCmd));
cl::list<int> runTokens("tokens", cl::desc("Prompt token ids, comma-separated"),
                        cl::CommaSeparated, cl::sub(runCmd));
cl::opt<std::string> runPrompt("p", cl::desc("Prompt text (needs a tokenizer in "
                                             "the artifact); output is streamed text"),
                               cl::value_desc("text"), cl::sub(runCmd));

cl::SubCommand chatCmd("chat", "Interactive chat in the Llama 3 chat format; the "
                               "KV cache is kept across turns");
// Sampling flags, shared by run and chat.
cl::OptionCategory samplingCat("Sampling");
cl::opt<float> sTemp("temp", cl::desc("Temperature (0 = greedy)"), cl::init(0.0f),
                     cl::cat(samplingCat), cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<int> sTopK("top-k", cl::desc("Keep the k most likely tokens (0 = off)"),
                   cl::init(0), cl::cat(samplingCat), cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<float> sTopP("top-p", cl::desc("Nucleus sampling mass (1 = off)"),
                     cl::init(1.0f), cl::cat(samplingCat),
                     cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<float> sMinP("min-p", cl::desc("Drop tokens below min-p x the best (0 = off)"),
                     cl::init(0.0f), cl::cat(samplingCat),
                     cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<float> sRepeat("repeat-penalty",
                       cl::desc("Repetition penalty as in transformers (1 = off)"),
                       cl::init(1.0f), cl::cat(samplingCat),
                       cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<uint64_t> sSeed("seed", cl::desc("Sampler seed"), cl::init(0),
                        cl::cat(samplingCat), cl::sub(runCmd), cl::sub(chatCmd));
cl::list<std::string> sStop("stop", cl::desc("Stop when the output contains this "
                                             "string (repeatable)"),
                            cl::cat(samplingCat), cl::sub(runCmd), cl::sub(chatCmd));
cl::opt<int> runMaxNew("max-new", cl::desc("Tokens to generate"), cl::init(32),
                       cl::sub(runCmd));
cl::opt<int> runCtx("ctx", cl::desc("Context size (default: compiled maximum)"),
                    cl::init(0), cl::sub(runCmd));
cl::opt<bool> runNoStop("ignore-eos",
                        cl::desc("Keep generating after an end-of-sequence id"),
                        cl::sub(runCmd));
cl::opt<std::string> runDumpLogits(
    "dump-logits",
    cl::desc("Write the logits of every generated step (f32, little-endian, "
             "max-new x vocab) to <file>"),
    cl::value_desc("file"), cl::sub(runCmd));

cl::SubCommand tokenizeCmd("tokenize", "Show the token ids of a text, or the text "
                                       "of token ids (--decode)");
cl::opt<std::string> tokArtifact(cl::Positional, cl::Required,
                                 cl::desc("<model.llmc>"), cl::sub(tokenizeCmd));
cl::opt<std::string> tokText(cl::Positional, cl::desc("<text>"),
                             cl::sub(tokenizeCmd));
cl::list<int> tokDecode("decode", cl::desc("Ids to turn back into text"),
                        cl::CommaSeparated, cl::sub(tokenizeCmd));
cl::opt<bool> tokNoSpecial("no-special",
                           cl::desc("Treat special-token text like <|eot_id|> as "
                                    "plain text"),
                           cl::sub(tokenizeCmd));
cl::opt<bool> tokBos("bos", cl::desc("Prepend the begin-of-text id"),
                     cl::sub(tokenizeCmd));

cl::opt<std::string> chatArtifact(cl::Positional, cl::Required,
                                  cl::desc("<model.llmc>"), cl::sub(chatCmd));
cl::opt<std::string> chatSystem("system", cl::desc("System prompt"),
                                cl::sub(chatCmd));
cl::opt<int> chatMaxNew("max-new", cl::desc("Most tokens per reply"),
                        cl::init(256), cl::sub(chatCmd));

cl::SubCommand pplCmd("perplexity",
                      "Perplexity of a text file (non-overlapping windows, "
                      "as llama.cpp's perplexity), optionally KL divergence "
                      "against a reference artifact");
cl::opt<int> sThreads("threads",
                      cl::desc("CPU threads running the kernels (0 = all cores)"),
                      cl::init(0), cl::sub(runCmd), cl::sub(chatCmd),
                      cl::sub(pplCmd));
cl::opt<double> sKVMaxMB(
    "kv-max-mb",
    cl::desc("Cap on the KV cache's memory in MB (0 = none): the context "
             "holds at most that many MB of positions, then reports it is "
             "full"),
    cl::init(0), cl::sub(runCmd), cl::sub(chatCmd), cl::sub(pplCmd));
cl::opt<std::string> pplArtifact(cl::Positional, cl::Required,
                                 cl::desc("<model.llmc>"), cl::sub(pplCmd));
cl::opt<std::string> pplFile("file", cl::desc("UTF-8 text to score"),
                             cl::Required, cl::sub(pplCmd));
cl::opt<int> pplCtx("ctx", cl::desc("Window length in tokens (default: "
                                    "min(512, compiled max context))"),
                    cl::init(0), cl::sub(pplCmd));
cl::opt<int> pplMaxWindows("max-windows",
                           cl::desc("Score at most this many windows (0: all)"),
                           cl::init(0), cl::sub(pplCmd));
cl::opt<std::string> pplRef("ref", cl::desc("Reference artifact (e.g. the f32 "
                                            "build): adds KL divergence and "
                                            "top-1 agreement"),
                            cl::value_desc("ref.llmc"), cl::sub(pplCmd));

cl::SubCommand inspectCmd("inspect", "Describe an artifact: manifest, model, "
                                     "kernels and memory");
cl::opt<std::string> inspectArtifact(cl::Positional, cl::Required,
                                     cl::desc("<model.llmc>"),
                                     cl::sub(inspectCmd));
cl::opt<int64_t> inspectPosition(
    "position",
    cl::desc("Position of the decode token whose bytes are counted (the KV "
             "cache read grows with it)"),
    cl::init(0), cl::sub(inspectCmd));
cl::opt<std::string> inspectTarget(
    "target",
    cl::desc("Preset whose bandwidth judges the speed (default: the "
             "artifact's; `llmc build --target help` lists them)"),
    cl::sub(inspectCmd));
cl::opt<double> inspectBandwidth(
    "bandwidth", cl::desc("Memory bandwidth in GB/s (overrides the preset's)"),
    cl::init(0.0), cl::sub(inspectCmd));
cl::opt<bool> inspectDispatches(
    "dispatches", cl::desc("List every dispatch of a decode token"),
    cl::sub(inspectCmd));

/// Prints diagnostics as `llmc: error: <where>: <message>`.
void installDiagnosticHandler(mlir::MLIRContext &ctx) {
  ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &diag) {
    raw_ostream &os = errs();
    switch (diag.getSeverity()) {
    case mlir::DiagnosticSeverity::Error:
      WithColor::error(os, "llmc");
      break;
    case mlir::DiagnosticSeverity::Warning:
      WithColor::warning(os, "llmc");
      break;
    default:
      WithColor::note(os, "llmc");
      break;
    }
    std::string msg = diag.str();
    // Locations are files (and tensors inside them); messages from the
    // readers already start with the file, so do not repeat it.
    mlir::Location loc = diag.getLocation();
    if (auto name = dyn_cast<mlir::NameLoc>(loc))
      loc = name.getChildLoc();
    if (auto file = dyn_cast<mlir::FileLineColLoc>(loc)) {
      StringRef path = file.getFilename().getValue();
      if (!StringRef(msg).starts_with(path))
        os << path << ": ";
    }
    os << msg << "\n";
    for (mlir::Diagnostic &note : diag.getNotes())
      WithColor::note(os, "llmc") << note.str() << "\n";
    return mlir::success();
  });
}

int runImport() {
  mlir::DialectRegistry registry;
  llmc::registerImporterDialects(registry);
  mlir::MLIRContext ctx(registry);
  installDiagnosticHandler(ctx);

  auto start = std::chrono::steady_clock::now();
  errs() << "llmc: importing " << importDir << "\n";
  llmc::ImportOptions options;
  options.maxContext = importMaxContext;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      llmc::isGGUFPath(importDir)
          ? llmc::importGGUF(ctx, importDir, llmc::GGUFImportOptions{options})
          : llmc::importHFCheckpoint(ctx, importDir, options);
  if (!module)
    return 1;

  std::string err;
  auto out = mlir::openOutputFile(importOut, &err);
  if (!out) {
    WithColor::error(errs(), "llmc") << err << "\n";
    return 1;
  }
  module->print(out->os());
  out->keep();

  // Summary: what a user wants to confirm before a long build.
  auto config = llmc::llm::getModelConfig(*module);
  uint64_t weights = 0, bytes = 0;
  for (auto w : module->getOps<llmc::llm::WeightOp>()) {
    ++weights;
    uint64_t n = 1;
    for (int64_t d : w.getStorage().getShape())
      n *= d;
    bytes += n * llmc::llm::getDTypeBits(w.getStorage().getDtype()) / 8;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              start)
                    .count();
  std::string rope;
  if (auto rs = config.getRopeScaling())
    rope = (", " + llmc::llm::stringifyRopeType(rs.getType()) + " rope scaling")
               .str();
  errs() << format("llmc: imported Llama model: %lld layers, hidden %lld, "
                   "%lld heads / %lld kv heads x %lld, ffn %lld, vocab %lld, "
                   "max context %lld%s%s\n",
                   (long long)config.getNumLayers(),
                   (long long)config.getHiddenSize(),
                   (long long)config.getNumHeads(),
                   (long long)config.getNumKvHeads(),
                   (long long)config.getHeadDim(),
                   (long long)config.getIntermediateSize(),
                   (long long)config.getVocabSize(),
                   (long long)config.getMaxContext(),
                   config.getTieWordEmbeddings() ? ", tied embeddings" : "",
                   rope.c_str())
         << format("llmc: %llu weights, %.1f MB, in %.2f s -> %s\n",
                   (unsigned long long)weights, bytes / 1e6, secs,
                   importOut.c_str());
  return 0;
}
int runBuild() {
  if (buildTarget == "help") {
    outs() << llmc::targets::describeTargetPresets();
    return 0;
  }
  if (buildDir.empty() || buildOut.empty()) {
    WithColor::error(errs(), "llmc")
        << "build needs a model and -o <file.llmc> (see llmc build --help)\n";
    return 1;
  }
  mlir::DialectRegistry registry;
  llmc::registerBuildDialects(registry);
  mlir::MLIRContext ctx(registry);
  installDiagnosticHandler(ctx);
  llmc::BuildOptions opts;
  opts.modelDir = buildDir;
  opts.output = buildOut;
  opts.target = buildTarget;
  if (buildChunk.getNumOccurrences())
    opts.prefillChunk = buildChunk;
  opts.maxContext = buildMaxContext;
  opts.quantization = buildQuant;
  opts.quantOverrides.assign(buildQuantOverride.begin(), buildQuantOverride.end());
  opts.fuse = !buildNoFuse;
  opts.kvCache = buildKVCache;
  opts.kvTile = buildKVTile;
  opts.kvSplits = buildKVSplits;
  opts.dumpKernelIR = buildDumpKernels;
  opts.dumpLLVMIR = buildDumpLLVM;
  opts.progress = &errs();
  return llmc::buildArtifact(ctx, opts) ? 0 : 1;
}

/// --kv-max-mb in bytes (0: no cap).
uint64_t kvCapBytes() {
  return sKVMaxMB > 0 ? uint64_t(sKVMaxMB * 1e6) : 0;
}

/// Prints a runtime failure and returns the exit code.
int runtimeError(const char *what, llmc_status st) {
  WithColor::error(errs(), "llmc")
      << what << ": " << llmc_status_string(st) << ": " << llmc_last_error()
      << "\n";
  return 1;
}

/// An open model and context, closed on destruction.
struct Session {
  llmc_model *model = nullptr;
  llmc_context *ctx = nullptr;
  llmc_model_info info{};
  const llmc_tokenizer *tok = nullptr;
  ~Session() {
    llmc_context_free(ctx);
    llmc_model_close(model);
  }
  /// Positions the context holds (--ctx, --kv-max-mb, or the compiled max).
  int64_t nCtx() const {
    int64_t n = info.max_context;
    if (ctx)
      llmc_context_get_n_ctx(ctx, &n);
    return n;
  }
  /// Opens `path` and a context of `nCtx` positions; prints the error.
  bool open(const std::string &path, int nCtx, bool needTokenizer) {
    if (llmc_status st = llmc_model_open(path.c_str(), 0, &model)) {
      runtimeError(path.c_str(), st);
      return false;
    }
    llmc_model_get_info(model, &info);
    if (llmc_model_get_tokenizer(model, &tok) != LLMC_OK)
      tok = nullptr;
    if (needTokenizer && !tok) {
      WithColor::error(errs(), "llmc")
          << path << ": the artifact has no tokenizer (build from a checkpoint "
          << "with tokenizer.json, or use --tokens)\n";
      return false;
    }
    llmc_context_params params = {nCtx, 0, sThreads, kvCapBytes()};
    if (llmc_status st = llmc_context_create(model, &params, &ctx)) {
      runtimeError("creating a context", st);
      return false;
    }
    return true;
  }
  bool isStop(int32_t t) const {
    for (int i = 0; i < info.num_eos_tokens; ++i)
      if (info.eos_token_ids[i] == t)
        return true;
    return tok && (t == llmc_tokenizer_eot(tok) || t == llmc_tokenizer_eos(tok));
  }
};

bool samplerFromFlags(llmc_sampler &s) {
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = sTemp;
  p.top_k = sTopK;
  p.top_p = sTopP;
  p.min_p = sMinP;
  p.repetition_penalty = sRepeat;
  p.seed = sSeed;
  if (llmc_sampler_init(&s, &p) != 0) {
    WithColor::error(errs(), "llmc")
        << "bad sampling parameters (need top-p in (0, 1], min-p <= 1, "
           "repeat-penalty > 0)\n";
    return false;
  }
  return true;
}

std::vector<int32_t> encode(const llmc_tokenizer *tok, StringRef text,
                            bool parseSpecial, bool bos) {
  std::vector<int32_t> ids(text.size() + 8);
  int64_t n = llmc_tokenize(tok, text.data(), text.size(), parseSpecial, bos,
                            ids.data(), ids.size());
  if (n > (int64_t)ids.size()) {
    ids.resize(n);
    n = llmc_tokenize(tok, text.data(), text.size(), parseSpecial, bos,
                      ids.data(), ids.size());
  }
  ids.resize(n < 0 ? 0 : n);
  return ids;
}

/// Why generation stopped.
enum class StopReason { Eos, MaxNew, StopString, ContextFull, Error };

struct GenerateResult {
  StopReason reason = StopReason::MaxNew;
  int generated = 0;
  double decodeSecs = 0;
  std::string text;
};

/// Generates after the logits already in `s.ctx`: samples, streams text (or
/// ids), decodes each token into the cache. A stop token is decoded too, so
/// the cache holds the whole turn (what the next chat turn continues from).
GenerateResult generate(Session &s, llmc_sampler &sampler, int maxNew,
                        std::vector<int32_t> &history, bool textOut,
                        raw_ostream *logitsOut, bool stopAtEos) {
  GenerateResult r;
  std::vector<llmc_sampler_candidate> scratch(s.info.vocab_size);
  llmc_detok_stream stream{};
  // Big enough for any token plus held-back bytes: no text is ever dropped.
  std::vector<char> buf(
      s.tok ? LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(s.tok)) : 64);
  auto t0 = std::chrono::steady_clock::now();
  for (int step = 0; step < maxNew; ++step) {
    const float *logits = nullptr;
    if (llmc_status st = llmc_get_logits(s.ctx, &logits)) {
      runtimeError("logits", st);
      r.reason = StopReason::Error;
      break;
    }
    if (logitsOut)
      logitsOut->write(reinterpret_cast<const char *>(logits),
                       sizeof(float) * s.info.vocab_size);
    int32_t id = llmc_sampler_sample(&sampler, logits, s.info.vocab_size,
                                     history.data(), history.size(),
                                     scratch.data());
    history.push_back(id);
    ++r.generated;
    bool stop = stopAtEos && s.isStop(id);
    if (textOut && !stop) {
      size_t written = 0;
      if (llmc_detok_stream_push(s.tok, &stream, id, buf.data(), buf.size(),
                                 &written) == LLMC_OK && written) {
        outs().write(buf.data(), written);
        outs().flush();
        r.text.append(buf.data(), written);
      }
    } else if (!textOut) {
      outs() << (step ? "," : "") << id;
      outs().flush();
    }
    if (textOut)
      for (const std::string &stopStr : sStop)
        if (!stopStr.empty() && StringRef(r.text).contains(stopStr))
          r.reason = StopReason::StopString;
    // The last token is fed only if a later turn may continue from it.
    bool last = step + 1 == maxNew || stop || r.reason == StopReason::StopString;
    if (last && !stop) {
      if (r.reason != StopReason::StopString)
        r.reason = StopReason::MaxNew;
      break;
    }
    if (llmc_status st = llmc_decode(s.ctx, id)) {
      if (st == LLMC_ERR_CONTEXT_FULL) {
        r.reason = StopReason::ContextFull;
      } else {
        runtimeError("decode", st);
        r.reason = StopReason::Error;
      }
      break;
    }
    if (stop) {
      r.reason = StopReason::Eos;
      break;
    }
  }
  if (textOut) {
    size_t written = 0;
    if (llmc_detok_stream_flush(&stream, buf.data(), buf.size(), &written) ==
            LLMC_OK && written) {
      outs().write(buf.data(), written);
      r.text.append(buf.data(), written);
    }
  }
  r.decodeSecs = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - t0)
                     .count();
  return r;
}

int runRun() {
  bool textMode = !runPrompt.empty();
  if (textMode == !runTokens.empty()) {
    WithColor::error(errs(), "llmc") << "give exactly one of -p TEXT or --tokens IDS\n";
    return 1;
  }
  Session s;
  if (!s.open(runArtifact, runCtx, textMode))
    return 1;
  llmc_sampler sampler;
  if (!samplerFromFlags(sampler))
    return 1;
  std::vector<int32_t> prompt =
      textMode ? encode(s.tok, runPrompt, /*parseSpecial=*/true, /*bos=*/true)
               : std::vector<int32_t>(runTokens.begin(), runTokens.end());
  std::unique_ptr<ToolOutputFile> logitsOut;
  if (!runDumpLogits.empty()) {
    std::error_code ec;
    logitsOut = std::make_unique<ToolOutputFile>(runDumpLogits, ec,
                                                 sys::fs::OF_None);
    if (ec) {
      WithColor::error(errs(), "llmc") << runDumpLogits << ": " << ec.message()
                                       << "\n";
      return 1;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  if (llmc_status st = llmc_prefill(s.ctx, prompt.data(), prompt.size()))
    return runtimeError("prefill", st);
  double prefillSecs = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
  if (textMode) {
    outs() << runPrompt;
    outs().flush();
  }
  std::vector<int32_t> history = prompt;
  GenerateResult r = generate(s, sampler, runMaxNew, history, textMode,
                              logitsOut ? &logitsOut->os() : nullptr,
                              !runNoStop);
  outs() << "\n";
  outs().flush(); // the text, then the summary on stderr
  if (r.reason == StopReason::Error)
    return 1;
  if (r.reason == StopReason::ContextFull)
    WithColor::warning(errs(), "llmc")
        << "context full (" << s.nCtx() << " positions) after "
        << r.generated << " generated tokens\n";
  int decoded = std::max(0, r.generated - 1);
  int32_t threads = 0;
  llmc_context_get_threads(s.ctx, &threads);
  errs() << format("llmc: prefill %zu tokens in %.3f s (%.1f tok/s), decode "
                   "%d tokens in %.3f s (%.1f tok/s), %d threads\n",
                   prompt.size(), prefillSecs,
                   prefillSecs > 0 ? prompt.size() / prefillSecs : 0.0, decoded,
                   r.decodeSecs,
                   r.decodeSecs > 0 ? decoded / r.decodeSecs : 0.0, threads);
  if (logitsOut)
    logitsOut->keep();
  return 0;
}

/// Runs one window through a context and returns the log-softmax rows of
/// positions [first, n-1) (each predicting the next token).
bool windowLogProbs(Session &s, const std::vector<int32_t> &w, int first,
                    std::vector<std::vector<double>> &rows) {
  llmc_reset(s.ctx);
  rows.clear();
  int64_t chunk = s.info.prefill_chunk, vocab = s.info.vocab_size;
  for (size_t start = 0; start < w.size(); start += chunk) {
    int64_t n = std::min<int64_t>(chunk, w.size() - start);
    if (llmc_status st = llmc_prefill(s.ctx, &w[start], n)) {
      runtimeError("prefill", st);
      return false;
    }
    const float *logits;
    int64_t nrows, firstPos;
    if (llmc_status st = llmc_get_all_logits(s.ctx, &logits, &nrows, &firstPos)) {
      runtimeError("logits", st);
      return false;
    }
    for (int64_t r = 0; r < nrows; ++r) {
      int64_t pos = firstPos + r;
      if (pos < first || pos >= (int64_t)w.size() - 1)
        continue;
      const float *l = logits + r * vocab;
      double mx = l[0];
      for (int64_t v = 1; v < vocab; ++v)
        mx = std::max(mx, (double)l[v]);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(l[v] - mx);
      double lse = mx + std::log(sum);
      std::vector<double> lp(vocab);
      for (int64_t v = 0; v < vocab; ++v)
        lp[v] = l[v] - lse;
      rows.push_back(std::move(lp));
    }
  }
  return true;
}

int runPerplexity() {
  Session s;
  if (!s.open(pplArtifact, 0, /*needTokenizer=*/true))
    return 1;
  llmc_context_free(s.ctx);
  s.ctx = nullptr;
  llmc_context_params params = {0, LLMC_CONTEXT_ALL_LOGITS, sThreads,
                                kvCapBytes()};
  if (llmc_status st = llmc_context_create(s.model, &params, &s.ctx))
    return runtimeError("creating a context", st);
  std::unique_ptr<Session> ref;
  if (!pplRef.empty()) {
    ref = std::make_unique<Session>();
    if (!ref->open(pplRef, 0, false))
      return 1;
    llmc_context_free(ref->ctx);
    ref->ctx = nullptr;
    if (llmc_status st = llmc_context_create(ref->model, &params, &ref->ctx))
      return runtimeError("creating a context", st);
    if (ref->info.vocab_size != s.info.vocab_size) {
      WithColor::error(errs(), "llmc") << "the reference has a different vocabulary\n";
      return 1;
    }
  }
  auto text = MemoryBuffer::getFile(pplFile, /*IsText=*/true);
  if (!text) {
    WithColor::error(errs(), "llmc") << pplFile << ": " << text.getError().message()
                                     << "\n";
    return 1;
  }
  std::vector<int32_t> tokens =
      encode(s.tok, (*text)->getBuffer(), /*parseSpecial=*/false, false);
  int64_t nCtx = s.nCtx();
  int ctx = pplCtx ? (int)pplCtx : (int)std::min<int64_t>(512, nCtx);
  if (ctx < 4 || ctx > nCtx) {
    WithColor::error(errs(), "llmc") << "--ctx must be in [4, " << nCtx
                                     << "] (the context's positions)\n";
    return 1;
  }
  int windows = tokens.size() / ctx;
  if (pplMaxWindows > 0)
    windows = std::min<int>(windows, pplMaxWindows);
  if (windows == 0) {
    WithColor::error(errs(), "llmc") << pplFile << ": " << tokens.size()
                                     << " tokens, fewer than one window of "
                                     << ctx << "\n";
    return 1;
  }
  // Like llama.cpp: each window starts with BOS and only its second half is
  // scored, so every scored token sees at least ctx/2 tokens of context.
  int first = ctx / 2;
  errs() << format("llmc: %zu tokens, %d windows of %d, scoring positions "
                   "%d..%d of each\n",
                   tokens.size(), windows, ctx, first, ctx - 2);
  double nll = 0, nll2 = 0, kl = 0, kl2 = 0, refNll = 0;
  int64_t count = 0, agree = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<double>> rows, refRows;
  for (int wi = 0; wi < windows; ++wi) {
    std::vector<int32_t> w(tokens.begin() + (size_t)wi * ctx,
                           tokens.begin() + (size_t)(wi + 1) * ctx);
    if (s.info.bos_token_id >= 0)
      w[0] = s.info.bos_token_id;
    if (!windowLogProbs(s, w, first, rows))
      return 1;
    if (ref && !windowLogProbs(*ref, w, first, refRows))
      return 1;
    for (size_t r = 0; r < rows.size(); ++r) {
      int32_t next = w[first + r + 1];
      double x = -rows[r][next];
      nll += x;
      nll2 += x * x;
      ++count;
      if (ref) {
        const std::vector<double> &p = refRows[r], &q = rows[r];
        double d = 0;
        size_t am = 0, bm = 0;
        for (size_t v = 0; v < p.size(); ++v) {
          d += std::exp(p[v]) * (p[v] - q[v]);
          if (p[v] > p[am])
            am = v;
          if (q[v] > q[bm])
            bm = v;
        }
        kl += d;
        kl2 += d * d;
        agree += am == bm;
        refNll += -p[next];
      }
    }
    double mean = nll / count;
    errs() << format("llmc: [%d/%d] ppl so far %.4f\n", wi + 1, windows,
                     std::exp(mean));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              t0)
                    .count();
  double mean = nll / count;
  double var = count > 1 ? (nll2 / count - mean * mean) * count / (count - 1) : 0;
  double ppl = std::exp(mean);
  double pplErr = ppl * std::sqrt(std::max(0.0, var) / count);
  outs() << format("perplexity: %.4f +/- %.4f over %lld tokens (%d windows of %d)\n",
                   ppl, pplErr, (long long)count, windows, ctx);
  if (ref) {
    double kMean = kl / count;
    double kVar = count > 1 ? (kl2 / count - kMean * kMean) * count / (count - 1) : 0;
    double refPpl = std::exp(refNll / count);
    outs() << format("reference perplexity: %.4f (delta %+.3f%%)\n", refPpl,
                     100.0 * (ppl / refPpl - 1.0));
    outs() << format("mean KL divergence (reference || model): %.6f +/- %.6f\n",
                     kMean, std::sqrt(std::max(0.0, kVar) / count));
    outs() << format("top-1 agreement: %.2f%%\n", 100.0 * agree / count);
  }
  errs() << format("llmc: scored %lld tokens in %.1f s\n", (long long)count, secs);
  return 0;
}

int runTokenize() {
  Session s;
  if (!s.open(tokArtifact, 1, /*needTokenizer=*/true))
    return 1;
  if (!tokDecode.empty()) {
    std::vector<int32_t> ids(tokDecode.begin(), tokDecode.end());
    std::vector<char> out(ids.size() * 16 + 16);
    int64_t n = llmc_detokenize(s.tok, ids.data(), ids.size(), 0, out.data(),
                                out.size());
    if (n > (int64_t)out.size()) {
      out.resize(n);
      n = llmc_detokenize(s.tok, ids.data(), ids.size(), 0, out.data(),
                          out.size());
    }
    if (n < 0) {
      WithColor::error(errs(), "llmc") << "cannot decode: an id is outside the "
                                          "vocabulary\n";
      return 1;
    }
    outs().write(out.data(), n);
    outs() << "\n";
    return 0;
  }
  std::vector<int32_t> ids = encode(s.tok, tokText, !tokNoSpecial, tokBos);
  for (size_t i = 0; i < ids.size(); ++i)
    outs() << (i ? "," : "") << ids[i];
  outs() << "\n";
  return 0;
}

int runChat() {
  Session s;
  if (!s.open(chatArtifact, 0, /*needTokenizer=*/true))
    return 1;
  llmc_sampler sampler;
  if (!samplerFromFlags(sampler))
    return 1;
  auto header = [](StringRef role) {
    return ("<|start_header_id|>" + role + "<|end_header_id|>\n\n").str();
  };
  std::string pending = "<|begin_of_text|>";
  if (!chatSystem.empty())
    pending += header("system") + chatSystem + "<|eot_id|>";
  std::vector<int32_t> history;
  errs() << "llmc chat: " << s.nCtx()
         << " positions of context; an empty line or Ctrl-D ends\n";
  std::string line;
  while (true) {
    errs() << "> ";
    if (!std::getline(std::cin, line) || line.empty())
      break;
    pending += header("user") + line + "<|eot_id|>" + header("assistant");
    std::vector<int32_t> ids = encode(s.tok, pending, true, false);
    pending.clear();
    int64_t pos = 0;
    llmc_get_position(s.ctx, &pos);
    if (pos + (int64_t)ids.size() >= s.nCtx()) {
      WithColor::warning(errs(), "llmc")
          << "the context is full (" << pos << " of " << s.nCtx()
          << " positions used); start a new chat\n";
      break;
    }
    if (llmc_status st = llmc_prefill(s.ctx, ids.data(), ids.size()))
      return runtimeError("prefill", st);
    history.insert(history.end(), ids.begin(), ids.end());
    GenerateResult r = generate(s, sampler, chatMaxNew, history, true, nullptr,
                                true);
    outs() << "\n";
    if (r.reason == StopReason::Error)
      return 1;
    if (r.reason == StopReason::ContextFull) {
      WithColor::warning(errs(), "llmc")
          << "the context is full (" << s.nCtx()
          << " positions); start a new chat\n";
      break;
    }
    if (r.reason != StopReason::Eos)
      pending = "<|eot_id|>"; // close the cut-off turn before the next one
  }
  return 0;
}

/// Bytes on paper: what one decode token at --position moves, per kernel
/// and in total, and the tokens/s a preset's memory bandwidth allows.
int printDecodeTraffic(llmc_model *model, const llmc_model_info &i,
                       raw_ostream &os) {
  int64_t pos = inspectPosition;
  if (pos < 0 || pos >= i.max_context) {
    WithColor::error(errs(), "llmc")
        << "--position " << pos << " outside [0, max context " << i.max_context
        << ")\n";
    return 1;
  }
  struct Row {
    std::string name;
    int count = 0;
    uint64_t read = 0, written = 0;
  };
  std::vector<Row> rows;
  uint64_t read = 0, written = 0, weights = 0;
  if (inspectDispatches)
    os << format("decode token at position %lld, every dispatch:\n"
                 "      #  %12s %12s  %8s  kernel (label)\n",
                 (long long)pos, (const char *)"read", (const char *)"written",
                 (const char *)"grid");
  for (uint32_t d = 0; d < i.num_dispatches; ++d) {
    llmc_dispatch_info di;
    if (llmc_status st = llmc_model_get_dispatch_info(model, d, 1, pos, &di))
      return runtimeError("inspect", st);
    std::string name = std::string(di.kernel) + " (" + di.label + ")";
    if (inspectDispatches)
      os << format("  %5u  %12llu %12llu  %8lld  %s\n", d,
                   (unsigned long long)di.bytes_read,
                   (unsigned long long)di.bytes_written, (long long)di.grid,
                   name.c_str());
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const Row &r) { return r.name == name; });
    if (it == rows.end())
      it = rows.insert(rows.end(), Row{name});
    ++it->count;
    it->read += di.bytes_read;
    it->written += di.bytes_written;
    read += di.bytes_read;
    written += di.bytes_written;
    weights += di.weight_bytes_read;
  }
  auto mb = [](uint64_t b) { return b / 1e6; };
  os << format("decode token at position %lld (--position): bytes each kernel "
               "moves, all its dispatches\n",
               (long long)pos);
  os << format("  %5s  %12s %12s  %s\n", (const char *)"calls",
               (const char *)"read MB", (const char *)"written MB",
               (const char *)"kernel (label)");
  for (const Row &r : rows)
    os << format("  %4dx  %12.3f %12.3f  %s\n", r.count, mb(r.read),
                 mb(r.written), r.name.c_str());
  uint64_t total = read + written;
  os << format("per token:     %u dispatches move %llu bytes (%.2f MB)\n"
               "  read:        %llu bytes: %llu of weights, %llu of KV cache "
               "and activations\n"
               "  written:     %llu bytes\n",
               i.num_dispatches, (unsigned long long)total, mb(total),
               (unsigned long long)read, (unsigned long long)weights,
               (unsigned long long)(read - weights),
               (unsigned long long)written);
  std::string presetName =
      inspectTarget.empty() ? std::string(i.target) : std::string(inspectTarget);
  const llmc::targets::TargetPreset *preset =
      llmc::targets::findTargetPreset(presetName);
  if (!preset && inspectBandwidth <= 0) {
    WithColor::error(errs(), "llmc")
        << "unknown target preset '" << presetName
        << "' (`llmc build --target help` lists them)\n";
    return 1;
  }
  double bw = inspectBandwidth > 0 ? inspectBandwidth : preset->bandwidthGBs;
  std::string source =
      inspectBandwidth > 0
          ? std::string("--bandwidth")
          : presetName + ", " + preset->device;
  if (bw <= 0) {
    os << "on paper:      no bandwidth figure for " << source
       << "; pass --bandwidth GB/s or --target PRESET\n";
    return 0;
  }
  os << format("on paper:      %.1f GB/s (%s) / %.2f MB = %.1f decode "
               "tokens/s at most\n",
               bw, source.c_str(), mb(total), bw * 1e9 / double(total));
  return 0;
}

int runInspect() {
  llmc_model *model = nullptr;
  if (llmc_status st = llmc_model_open(inspectArtifact.c_str(), 0, &model))
    return runtimeError(inspectArtifact.c_str(), st);
  llmc_model_info i;
  llmc_model_get_info(model, &i);
  raw_ostream &os = outs();
  os << "artifact:      " << inspectArtifact << format(" (%.1f MB, format v%u)\n",
                                                        i.file_size / 1e6,
                                                        i.format_version);
  os << "compiler:      " << i.compiler_version << " (" << i.created_by << ")\n";
  os << "target:        " << i.target << " (" << i.target_triple << ")\n";
  os << "quantization:  " << i.quantization << "\n";
  os << format("model:         %d layers, hidden %d, ffn %d, %d heads / %d kv "
               "heads x %d, vocab %d\n",
               i.num_layers, i.hidden_size, i.intermediate_size, i.num_heads,
               i.num_kv_heads, i.head_dim, i.vocab_size);
  os << format("rope:          theta %g", i.rope_theta);
  if (i.rope_scaling_type && *i.rope_scaling_type) {
    os << format(", %s scaling x%g", i.rope_scaling_type, i.rope_scaling_factor);
    if (StringRef(i.rope_scaling_type) == "llama3")
      os << format(" (low %g, high %g, original %d)", i.rope_low_freq_factor,
                   i.rope_high_freq_factor,
                   i.rope_original_max_position_embeddings);
  }
  os << format("\nnorm eps:      %g\ntied embed:    %s\nbos / eos:     %d /",
               i.rms_norm_eps, i.tie_word_embeddings ? "yes" : "no",
               i.bos_token_id);
  for (int k = 0; k < i.num_eos_tokens; ++k)
    os << " " << i.eos_token_ids[k];
  os << format("\ncontext:       max %d, prefill chunk %d\n", i.max_context,
               i.prefill_chunk);
  os << format("weights:       %u tensors, %.2f MB\n", i.num_weights,
               i.weights_size / 1e6);
  os << format("arena:         %.3f MB", i.arena_size / 1e6);
  if (i.arena_size_unfused)
    os << format(" (%.3f MB without fusion, %+.0f%%)",
                 i.arena_size_unfused / 1e6,
                 100.0 * (double(i.arena_size) - double(i.arena_size_unfused)) /
                     double(i.arena_size_unfused));
  os << "\n";
  os << format("kv cache:      %.3f MB (%llu bytes per token)\n",
               i.kv_cache_bytes / 1e6,
               (unsigned long long)i.kv_cache_bytes_per_token);
  // Dispatches per layer (most and fewest), from the layer each records.
  std::map<int32_t, int> perLayer;
  int outside = 0;
  for (uint32_t d = 0; d < i.num_dispatches; ++d) {
    llmc_dispatch_info di;
    if (llmc_model_get_dispatch_info(model, d, 1, 0, &di) == LLMC_OK &&
        di.layer >= 0)
      ++perLayer[di.layer];
    else
      ++outside;
  }
  os << format("kernels:       %u dispatches per call of the model",
               i.num_dispatches);
  if (!perLayer.empty()) {
    auto [lo, hi] = std::minmax_element(
        perLayer.begin(), perLayer.end(),
        [](auto &a, auto &b) { return a.second < b.second; });
    if (lo->second == hi->second)
      os << format(" (%d a layer x %zu layers, %d outside them)", hi->second,
                   perLayer.size(), outside);
    else
      os << format(" (%d to %d a layer, %d outside them)", lo->second,
                   hi->second, outside);
  }
  os << "\n";
  int rc = printDecodeTraffic(model, i, os);
  llmc_model_close(model);
  return rc;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "llmc " << LLMC_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING
       << ")\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "llmc: ahead-of-time compiler for Llama 3 models\n\n"
      "  llmc build MODEL_DIR -o model.llmc    compile a checkpoint for the host\n"
      "  llmc run model.llmc -p \"text\"         generate text (streamed)\n"
      "  llmc run model.llmc --tokens 1,2,3    generate from token ids\n"
      "  llmc chat model.llmc                  chat in the Llama 3 chat format\n"
      "  llmc tokenize model.llmc \"text\"       token ids of a text (--decode: back)\n"
      "  llmc inspect model.llmc               describe an artifact\n"
      "  llmc perplexity model.llmc --file t   perplexity (and KL vs --ref)\n"
      "  llmc import MODEL_DIR -o model.mlir   import a checkpoint as llm IR\n"
      "\nRun `llmc <subcommand> --help` for the flags of a subcommand.\n");
  if (importCmd)
    return runImport();
  if (buildCmd)
    return runBuild();
  if (runCmd)
    return runRun();
  if (inspectCmd)
    return runInspect();
  if (tokenizeCmd)
    return runTokenize();
  if (chatCmd)
    return runChat();
  if (pplCmd)
    return runPerplexity();
  errs() << "llmc: no subcommand given; run `llmc --help`\n";
  return 1;
}
