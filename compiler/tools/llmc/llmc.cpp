//===- llmc.cpp - the llmc driver -----------------------------------------===//
//
// `llmc <subcommand>`: the user-facing tool. Each subcommand is a thin layer
// over a library in compiler/; this file only parses flags and reports.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/HFImporter.h"
#include "dialects/llm/LLMDialect.h"

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
      "  llmc import MODEL_DIR -o model.mlir   import a Hugging Face checkpoint\n"
      "\nRun `llmc <subcommand> --help` for the flags of a subcommand.\n");
  if (importCmd)
    return runImport();
  errs() << "llmc: no subcommand given; run `llmc --help`\n";
  return 1;
}
