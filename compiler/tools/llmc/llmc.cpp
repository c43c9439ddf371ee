//===- llmc.cpp - the llmc driver -----------------------------------------===//
//
// `llmc <subcommand>`: the user-facing tool. Each subcommand is a thin layer
// over a library in compiler/; this file only parses flags and reports.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/HFImporter.h"
#include "compiler/pipeline/Build.h"
#include "dialects/llm/LLMDialect.h"
#include "runtime/include/llmc.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

#ifndef LLMC_VERSION
#define LLMC_VERSION "unknown"
#endif

namespace {
cl::SubCommand importCmd("import",
                         "Import a Hugging Face Llama 3 checkpoint directory "
                         "as llm dialect IR");
cl::opt<std::string> importDir(cl::Positional, cl::Required,
                               cl::desc("<model dir>"), cl::sub(importCmd));
cl::opt<std::string> importOut("o", cl::desc("Output .mlir file ('-' = stdout)"),
                               cl::value_desc("file"), cl::init("-"),
                               cl::sub(importCmd));
cl::opt<int64_t> importMaxContext(
    "max-context",
    cl::desc("Largest context the compiled model supports (default: the "
             "model's max_position_embeddings)"),
    cl::init(0), cl::sub(importCmd));

cl::SubCommand buildCmd("build",
                        "Compile a Hugging Face Llama 3 checkpoint into a "
                        ".llmc artifact");
cl::opt<std::string> buildDir(cl::Positional, cl::Required,
                              cl::desc("<model dir>"), cl::sub(buildCmd));
cl::opt<std::string> buildOut("o", cl::desc("Output artifact"),
                              cl::value_desc("file.llmc"), cl::Required,
                              cl::sub(buildCmd));
cl::opt<std::string> buildTarget("target",
                                 cl::desc("Target preset (supported: host)"),
                                 cl::init("host"), cl::sub(buildCmd));
cl::opt<int64_t> buildChunk(
    "prefill-chunk",
    cl::desc("Tokens per kernel call; longer prompts run as several chunks"),
    cl::init(32), cl::sub(buildCmd));
cl::opt<int64_t> buildMaxContext(
    "max-context",
    cl::desc("Largest context the artifact supports; sizes the KV cache "
             "(default: min(max_position_embeddings, 4096))"),
    cl::init(0), cl::sub(buildCmd));
cl::opt<std::string> buildQuant(
    "quantization",
    cl::desc("Weight format preset: f32, f16, q8, q4_g32, q4_g128, "
             "q4_g32_asym, q4_g128_asym, q4f16_g128 (docs/quantization.md)"),
    cl::init("f32"), cl::sub(buildCmd));
cl::list<std::string> buildQuantOverride(
    "quant-override",
    cl::desc("Per-class scheme, e.g. attn_o=f16 or lm_head=q8_ch "
             "(classes: embed, lm_head, attn_qkv, attn_o, mlp)"),
    cl::CommaSeparated, cl::sub(buildCmd));
cl::opt<std::string> buildDumpKernels(
    "dump-kernel-ir", cl::desc("Also write the kernel-level MLIR to <file>"),
    cl::value_desc("file"), cl::sub(buildCmd));
cl::opt<std::string> buildDumpLLVM(
    "dump-llvm-ir", cl::desc("Also write the optimized LLVM IR to <file>"),
    cl::value_desc("file"), cl::sub(buildCmd));

cl::SubCommand runCmd("run", "Run an artifact on token ids (greedy decoding)");
cl::opt<std::string> runArtifact(cl::Positional, cl::Required,
                                 cl::desc("<model.llmc>"), cl::sub(runCmd));
cl::list<int> runTokens("tokens", cl::desc("Prompt token ids, comma-separated"),
                        cl::CommaSeparated, cl::OneOrMore, cl::sub(runCmd));
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

cl::SubCommand inspectCmd("inspect", "Describe an artifact: manifest, model, "
                                     "kernels and memory");
cl::opt<std::string> inspectArtifact(cl::Positional, cl::Required,
                                     cl::desc("<model.llmc>"),
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
      llmc::importHFCheckpoint(ctx, importDir, options);
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
                   config.getRopeScaling() ? ", llama3 rope scaling" : "")
         << format("llmc: %llu weights, %.1f MB, in %.2f s -> %s\n",
                   (unsigned long long)weights, bytes / 1e6, secs,
                   importOut.c_str());
  return 0;
}
int runBuild() {
  mlir::DialectRegistry registry;
  llmc::registerBuildDialects(registry);
  mlir::MLIRContext ctx(registry);
  installDiagnosticHandler(ctx);
  llmc::BuildOptions opts;
  opts.modelDir = buildDir;
  opts.output = buildOut;
  opts.target = buildTarget;
  opts.prefillChunk = buildChunk;
  opts.maxContext = buildMaxContext;
  opts.quantization = buildQuant;
  opts.quantOverrides.assign(buildQuantOverride.begin(), buildQuantOverride.end());
  opts.dumpKernelIR = buildDumpKernels;
  opts.dumpLLVMIR = buildDumpLLVM;
  opts.progress = &errs();
  return llmc::buildArtifact(ctx, opts) ? 0 : 1;
}

/// Prints a runtime failure and returns the exit code.
int runtimeError(const char *what, llmc_status st) {
  WithColor::error(errs(), "llmc")
      << what << ": " << llmc_status_string(st) << ": " << llmc_last_error()
      << "\n";
  return 1;
}

int runRun() {
  llmc_model *model = nullptr;
  if (llmc_status st = llmc_model_open(runArtifact.c_str(), 0, &model))
    return runtimeError(runArtifact.c_str(), st);
  llmc_model_info info;
  llmc_model_get_info(model, &info);
  llmc_context_params params = {runCtx, 0};
  llmc_context *ctx = nullptr;
  if (llmc_status st = llmc_context_create(model, &params, &ctx)) {
    llmc_model_close(model);
    return runtimeError("creating a context", st);
  }
  auto cleanup = [&] {
    llmc_context_free(ctx);
    llmc_model_close(model);
  };
  std::vector<int32_t> prompt(runTokens.begin(), runTokens.end());
  std::unique_ptr<ToolOutputFile> logitsOut;
  if (!runDumpLogits.empty()) {
    std::error_code ec;
    logitsOut = std::make_unique<ToolOutputFile>(runDumpLogits, ec,
                                                 sys::fs::OF_None);
    if (ec) {
      WithColor::error(errs(), "llmc") << runDumpLogits << ": " << ec.message()
                                       << "\n";
      cleanup();
      return 1;
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  if (llmc_status st = llmc_prefill(ctx, prompt.data(), prompt.size())) {
    cleanup();
    return runtimeError("prefill", st);
  }
  double prefillSecs = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
  auto isEos = [&](int32_t t) {
    for (int i = 0; i < info.num_eos_tokens; ++i)
      if (info.eos_token_ids[i] == t)
        return true;
    return false;
  };
  t0 = std::chrono::steady_clock::now();
  int generated = 0, decoded = 0;
  for (; generated < runMaxNew; ++generated) {
    const float *logits = nullptr;
    if (llmc_status st = llmc_get_logits(ctx, &logits)) {
      cleanup();
      return runtimeError("logits", st);
    }
    if (logitsOut)
      logitsOut->os().write(reinterpret_cast<const char *>(logits),
                            sizeof(float) * info.vocab_size);
    int32_t best = 0;
    for (int32_t v = 1; v < info.vocab_size; ++v)
      if (logits[v] > logits[best])
        best = v;
    outs() << (generated ? "," : "") << best;
    outs().flush();
    if ((!runNoStop && isEos(best)) || generated + 1 == runMaxNew) {
      ++generated;
      break;
    }
    if (llmc_status st = llmc_decode(ctx, best)) {
      outs() << "\n";
      cleanup();
      if (st == LLMC_ERR_CONTEXT_FULL) {
        WithColor::warning(errs(), "llmc")
            << "context full after " << generated + 1 << " tokens\n";
        return 0;
      }
      return runtimeError("decode", st);
    }
    ++decoded;
  }
  double decodeSecs = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
  outs() << "\n";
  errs() << format("llmc: prefill %zu tokens in %.3f s (%.1f tok/s), decode "
                   "%d tokens in %.3f s (%.1f tok/s)\n",
                   prompt.size(), prefillSecs,
                   prefillSecs > 0 ? prompt.size() / prefillSecs : 0.0, decoded,
                   decodeSecs, decodeSecs > 0 ? decoded / decodeSecs : 0.0);
  if (logitsOut)
    logitsOut->keep();
  cleanup();
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
  if (i.rope_scaling_type && *i.rope_scaling_type)
    os << format(", %s scaling x%g (low %g, high %g, original %d)",
                 i.rope_scaling_type, i.rope_scaling_factor,
                 i.rope_low_freq_factor, i.rope_high_freq_factor,
                 i.rope_original_max_position_embeddings);
  os << format("\nnorm eps:      %g\ntied embed:    %s\nbos / eos:     %d /",
               i.rms_norm_eps, i.tie_word_embeddings ? "yes" : "no",
               i.bos_token_id);
  for (int k = 0; k < i.num_eos_tokens; ++k)
    os << " " << i.eos_token_ids[k];
  os << format("\ncontext:       max %d, prefill chunk %d\n", i.max_context,
               i.prefill_chunk);
  os << format("weights:       %u tensors, %.2f MB\n", i.num_weights,
               i.weights_size / 1e6);
  os << format("arena:         %.3f MB\n", i.arena_size / 1e6);
  os << format("kv cache:      %.3f MB (%llu bytes per token)\n",
               i.kv_cache_bytes / 1e6,
               (unsigned long long)i.kv_cache_bytes_per_token);
  os << format("kernels:       %u dispatches per forward call\n",
               i.num_dispatches);
  // Bytes a decode step must read: every weight once (tied embeddings are
  // read as the lm_head, the embedding lookup itself is one row).
  os << format("decode reads:  ~%.2f MB of weights per token\n",
               i.weights_size / 1e6);
  llmc_model_close(model);
  return 0;
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
      "  llmc run model.llmc --tokens 1,2,3    generate (greedy) from token ids\n"
      "  llmc inspect model.llmc               describe an artifact\n"
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
  errs() << "llmc: no subcommand given; run `llmc --help`\n";
  return 1;
}
