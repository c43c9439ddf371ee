//===- llmc.cpp - the llmc driver -----------------------------------------===//
//
// `llmc <subcommand>`: the user-facing tool. build and import are thin
// layers over the libraries in compiler/; the subcommands that use an
// artifact are llmc-run's (runtime/llmc-run/), run from here unchanged.
//
// Flags are parsed with the runner's table parser (runtime/llmc-run/Args.h),
// not llvm::cl: LLVM registers hundreds of its own options in every tool
// that links it, and a user should see and be able to pass only llmc's. The
// few LLVM tuning flags someone may need go through --llvm-args.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/GGUFImporter.h"
#include "compiler/frontend/HFImporter.h"
#include "compiler/pipeline/Build.h"
#include "dialects/llm/LLMDialect.h"
#include "runtime/llmc-run/Args.h"
#include "runtime/llmc-run/LlmcRun.h"
#include "targets/presets/Presets.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Process.h"
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

using llmc::run::Command;
using llmc::run::Option;

using llmc::run::opt;

int parseFlags(Command &cmd, int argc, char **argv) {
  return llmc::run::parseSubcommand(cmd, argc, argv, "llmc");
}

/// Hands --llvm-args to LLVM's own option parser (codegen tuning, e.g.
/// "-x86-asm-syntax=intel"); false after printing LLVM's error.
bool applyLLVMArgs(const std::string &args) {
  if (args.empty())
    return true;
  SmallVector<const char *> argv = {"llmc --llvm-args"};
  BumpPtrAllocator alloc;
  StringSaver saver(alloc);
  cl::TokenizeGNUCommandLine(args, saver, argv);
  return cl::ParseCommandLineOptions(argv.size(), argv.data(), "", &errs());
}

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

int runImport(int argc, char **argv) {
  std::string importDir, importOut = "-";
  int64_t importMaxContext = 0;
  bool debugIR = false;
  Command cmd{"import",
              "import a Hugging Face Llama 3 checkpoint directory (or a GGUF "
              "file) as llm dialect IR",
              {{"<model dir | model.gguf>", &importDir, true}},
              {}};
  cmd.options.push_back(opt("o", Option::Text, &importOut, "file",
                            "Output .mlir file ('-' = stdout)"));
  cmd.options.push_back(opt("max-context", Option::Int, &importMaxContext, "N",
                            "Largest context the compiled model supports (0 = "
                            "the model's max_position_embeddings)",
                            0, INT32_MAX));
  cmd.options.push_back(opt("debug-ir", Option::Flag, &debugIR, "",
                            "Print the IR an error is about"));
  cmd.example = "llmc import examples/kjv-llama -o model.mlir";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  mlir::DialectRegistry registry;
  llmc::registerImporterDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(debugIR);
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
int runBuild(int argc, char **argv) {
  llmc::BuildOptions opts;
  std::vector<std::string> overrides;
  std::string dumpLLVM, llvmArgs;
  int64_t chunk = 0;
  bool noFuse = false, debugIR = false;
  Command cmd{"build",
              "compile a Hugging Face Llama 3 checkpoint (or a GGUF file) into "
              "a .llmc artifact",
              {{"<model dir | model.gguf>", &opts.modelDir, false}},
              {}};
  auto add = [&](Option o) { cmd.options.push_back(o); };
  add(opt("o", Option::Text, &opts.output, "file.llmc",
          "Output artifact (with --emit static-lib / shared-lib: libNAME.a / "
          "libNAME.so)"));
  add(opt("target", Option::Text, &opts.target, "preset",
          "Target preset; `--target help` lists them (host: this machine "
          "only; linux/x86_64: any x86-64-v2 CPU)"));
  add(opt("quantization", Option::Text, &opts.quantization, "preset",
          "Weight format: f32, f16, q8, q4_g32, q4_g128, q4_g32_asym, "
          "q4_g128_asym, q4f16_g32, q4f16_g128, or keep (GGUF: the file's "
          "values, each block format exactly); the q4 presets keep the "
          "embedding and lm_head in q6 on CPU targets, q8 elsewhere; "
          "docs/quantization.md (default: f32, GGUF: keep)"));
  add(opt("quant-override", Option::TextList, &overrides, "CLASS=SCHEME",
          "Per-class scheme, comma-separated or repeated, e.g. attn_o=f16 "
          "(classes: embed, lm_head, attn_qkv, attn_o, mlp; schemes: the "
          "presets' and q8_ch, q6)"));
  add(opt("strict-quant", Option::Flag, &opts.strictQuant, "",
          "Refuse a weight whose rows the scheme's groups do not divide "
          "(default: the nearest scheme that fits, with a warning)"));
  add(opt("kv-cache", Option::Text, &opts.kvCache, "type",
          "KV cache element type (q8: int8 with a scale per position and "
          "head)",
          -1e300, 1e300, "f32|f16|q8"));
  add(opt("max-context", Option::Int, &opts.maxContext, "N",
          "Largest context the artifact supports; sizes the KV cache (0 = "
          "min(max_position_embeddings, 4096))",
          0, INT32_MAX));
  add(opt("prefill-chunk", Option::Int, &chunk, "N",
          "Tokens per kernel call; longer prompts run as several chunks (0 = "
          "64, or the context if smaller)",
          0, 4096));
  add(opt("kv-tile", Option::Int, &opts.kvTile, "N",
          "Positions per attention tile (0 = from the target's L1 cache)", 0,
          INT32_MAX));
  add(opt("kv-splits", Option::Int, &opts.kvSplits, "N",
          "Position ranges attention computes in parallel, then combines "
          "(flash decoding)",
          1, 256));
  add(opt("emit", Option::Text, &opts.emit, "kind",
          "What to write: the .llmc artifact, or the code as a library the "
          "app links (CPU targets; NAME.h and the weights in NAME.llmc "
          "beside it, no code loaded at run time)",
          -1e300, 1e300, "artifact|static-lib|shared-lib"));
  add(opt("embed-weights", Option::Flag, &opts.embedWeights, "",
          "With --emit static-lib / shared-lib: put the artifact inside the "
          "library too (small models; no NAME.llmc)"));
  add(opt("no-fuse", Option::Flag, &noFuse, "",
          "Skip llm-fuse: one kernel per op, for comparisons (same results)"));
  add(opt("allow-nonfinite", Option::Flag, &opts.allowNonfinite, "",
          "Keep NaN or infinite weights (refused otherwise: they make every "
          "output NaN)"));
  add(opt("dump-kernel-ir", Option::Text, &opts.dumpKernelIR, "file",
          "Also write the dispatch-level MLIR (kernels + llm.schedule)"));
  add(opt("dump-target-code", Option::Text, &dumpLLVM, "file",
          "Also write the target code as text: optimized LLVM IR (CPU), the "
          "OpenCL C program, or the SPIR-V module as MLIR"));
  add(opt("dump-llvm-ir", Option::Text, &dumpLLVM, "file",
          "Same as --dump-target-code"));
  add(opt("dump-payload", Option::Text, &opts.dumpPayload, "file",
          "Also write the compiled kernels as the artifact stores them (a "
          "shared object, OpenCL C or a SPIR-V binary)"));
  add(opt("debug-ir", Option::Flag, &debugIR, "",
          "Print the IR an error is about (compiler developers)"));
  add(opt("llvm-args", Option::Text, &llvmArgs, "\"flags\"",
          "Options for LLVM's code generator, e.g. \"-x86-asm-syntax=intel\" "
          "(compiler developers)"));
  cmd.example = "llmc build examples/kjv-llama -o model.llmc "
                "--quantization q4_g32 --target linux/x86_64";
  if (int rc = parseFlags(cmd, argc, argv); rc >= 0)
    return rc;
  if (opts.target == "help") {
    outs() << llmc::targets::describeTargetPresets();
    return 0;
  }
  if (opts.modelDir.empty() || opts.output.empty()) {
    WithColor::error(errs(), "llmc")
        << "build needs a model and -o <file.llmc> (see llmc build --help)\n";
    return 1;
  }
  for (const std::string &o : overrides) {
    SmallVector<StringRef> parts;
    StringRef(o).split(parts, ',', -1, /*KeepEmpty=*/false);
    for (StringRef part : parts)
      opts.quantOverrides.push_back(part.str());
  }
  for (const Option &o : cmd.options)
    if (o.given && o.value == &chunk)
      opts.prefillChunk = chunk;
  opts.fuse = !noFuse;
  opts.dumpLLVMIR = dumpLLVM;
  if (!applyLLVMArgs(llvmArgs))
    return 1;
  mlir::DialectRegistry registry;
  llmc::registerBuildDialects(registry);
  mlir::MLIRContext ctx(registry);
  // A user's mistake is one or two lines; the IR is for compiler work.
  ctx.printOpOnDiagnostic(debugIR);
  installDiagnosticHandler(ctx);
  opts.progress = &errs();
  return llmc::buildArtifact(ctx, opts) ? 0 : 1;
}

const char *kOverview =
    "llmc: ahead-of-time compiler for Llama 3 models\n\n"
    "Usage: llmc <subcommand> [options]\n\n"
    "  build MODEL_DIR -o model.llmc    compile a checkpoint or GGUF file\n"
    "  import MODEL_DIR -o model.mlir   import a checkpoint as llm IR\n";

} // namespace

int main(int argc, char **argv) {
  // The subcommands that only use an artifact belong to llmc-run (the
  // runner without a compiler, runtime/llmc-run/); llmc runs the same code,
  // so the two take the same flags.
  if (argc >= 2 && llmc::run::isRunnerSubcommand(argv[1]))
    return llmc::run::runnerMain(argc, argv, "llmc");
  InitLLVM init(argc, argv);
  StringRef sub = argc >= 2 ? argv[1] : "";
  if (sub == "build")
    return runBuild(argc, argv);
  if (sub == "import")
    return runImport(argc, argv);
  if (sub == "--version" || sub == "-version") {
    outs() << "llmc " << LLMC_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING
           << ")\n";
    return 0;
  }
  bool help = sub == "--help" || sub == "-help" || sub == "-h" || sub == "help";
  (help ? outs() : errs())
      << kOverview << llmc::run::runnerOverview()
      << "\nRun `llmc <subcommand> --help` for its flags, with defaults and an\n"
         "example; `llmc --version` for the version. llmc-run (no compiler\n"
         "inside) takes the same run, chat, tokenize, inspect and perplexity.\n";
  if (help)
    return 0;
  if (!sub.empty())
    errs() << "llmc: error: unknown subcommand '" << sub << "'\n";
  return 1;
}
