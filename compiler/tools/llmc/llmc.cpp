//===- llmc.cpp - the llmc driver -----------------------------------------===//
//
// `llmc <subcommand>`: the user-facing tool. build and import are thin
// layers over the libraries in compiler/; the subcommands that use an
// artifact are llmc-run's (runtime/llmc-run/), run from here unchanged.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUFImporter.h"
#include "compiler/frontend/HFImporter.h"
#include "compiler/pipeline/Build.h"
#include "dialects/llm/LLMDialect.h"
#include "runtime/llmc-run/LlmcRun.h"
#include "targets/presets/Presets.h"

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
#include <string>

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
cl::opt<std::string> buildOut("o",
                              cl::desc("Output artifact (required; with --emit "
                                       "static-lib / shared-lib: libNAME.a / "
                                       "libNAME.so)"),
                              cl::value_desc("file.llmc"), cl::sub(buildCmd));
cl::opt<std::string> buildEmit(
    "emit",
    cl::desc("What to write: artifact (default: the code inside the .llmc), "
             "static-lib or shared-lib (CPU targets: the code as a library the "
             "app links, -o libNAME.a / libNAME.so, with NAME.h beside it and "
             "the weights in NAME.llmc; no code is loaded at run time)"),
    cl::init("artifact"), cl::sub(buildCmd));
cl::opt<bool> buildEmbedWeights(
    "embed-weights",
    cl::desc("With --emit static-lib / shared-lib: put the artifact inside "
             "the library too (small models; no NAME.llmc)"),
    cl::init(false), cl::sub(buildCmd));
cl::opt<bool> buildAllowNonfinite(
    "allow-nonfinite",
    cl::desc("Keep NaN or infinite weights (refused by default: they make "
             "every output NaN)"),
    cl::init(false), cl::sub(buildCmd));
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
             "q4_g32_asym, q4_g128_asym, q4f16_g32, q4f16_g128 (q4 weights; "
             "f16 activations on GPU targets), keep (GGUF: the file's "
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
             "combines (flash decoding; default 1: the grid is already KV "
             "heads x tokens)"),
    cl::init(1), cl::sub(buildCmd));
cl::opt<bool> buildNoFuse(
    "no-fuse",
    cl::desc("Skip llm-fuse: one kernel per op (16 a layer instead of 5); "
             "for comparisons, same results"),
    cl::init(false), cl::sub(buildCmd));
cl::opt<std::string> buildDumpKernels(
    "dump-kernel-ir", cl::desc("Also write the dispatch-level MLIR (kernels + llm.schedule) to <file>"),
    cl::value_desc("file"), cl::sub(buildCmd));
cl::opt<std::string> buildDumpTarget(
    "dump-target-code",
    cl::desc("Also write the target code as text to <file>: the optimized "
             "LLVM IR (CPU targets), the OpenCL C program (OpenCL targets) or the SPIR-V module as MLIR (Vulkan targets)"),
    cl::value_desc("file"), cl::sub(buildCmd));
cl::opt<std::string> buildDumpPayload(
    "dump-payload",
    cl::desc("Also write the compiled kernels exactly as the artifact stores "
             "them to <file>: a shared object (CPU), OpenCL C source or a "
             "SPIR-V binary (for spirv-val, spirv-dis)"),
    cl::value_desc("file"), cl::sub(buildCmd));
cl::opt<std::string> buildDumpLLVM(
    "dump-llvm-ir", cl::desc("Same as --dump-target-code"),
    cl::value_desc("file"), cl::sub(buildCmd));

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
  opts.emit = buildEmit;
  opts.embedWeights = buildEmbedWeights;
  opts.allowNonfinite = buildAllowNonfinite;
  opts.dumpKernelIR = buildDumpKernels;
  opts.dumpPayload = buildDumpPayload;
  opts.dumpLLVMIR = !buildDumpTarget.empty() ? buildDumpTarget : buildDumpLLVM;
  opts.progress = &errs();
  return llmc::buildArtifact(ctx, opts) ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  // The subcommands that only use an artifact belong to llmc-run (the
  // runner without a compiler, runtime/llmc-run/); llmc runs the same code,
  // so the two take the same flags.
  if (argc >= 2 && llmc::run::isRunnerSubcommand(argv[1]))
    return llmc::run::runnerMain(argc, argv, "llmc");
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "llmc " << LLMC_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING
       << ")\n";
  });
  std::string overview =
      "llmc: ahead-of-time compiler for Llama 3 models\n\n"
      "  build MODEL_DIR -o model.llmc    compile a checkpoint (--target: "
      "host, linux/aarch64, ...)\n"
      "  import MODEL_DIR -o model.mlir   import a checkpoint as llm IR\n";
  overview += llmc::run::runnerOverview();
  overview += "\nRun `llmc <subcommand> --help` for the flags of a subcommand;"
              "\nllmc-run (no compiler inside) takes the same run, chat, "
              "tokenize, inspect\nand perplexity subcommands.\n";
  cl::ParseCommandLineOptions(argc, argv, overview);
  if (importCmd)
    return runImport();
  if (buildCmd)
    return runBuild();
  errs() << "llmc: no subcommand given; run `llmc --help`\n";
  return 1;
}
