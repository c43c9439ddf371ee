//===- HFImporter.h - Hugging Face Llama 3 checkpoint -> llm -----*- C++ -*-===//

#ifndef LLMC_COMPILER_FRONTEND_HFIMPORTER_H
#define LLMC_COMPILER_FRONTEND_HFIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace llmc {

struct ImportOptions {
  /// Positions the compiled model supports; 0 takes max_position_embeddings
  /// from config.json. Larger than that is refused.
  int64_t maxContext = 0;
  /// With maxContext 0: the most positions to take from the model (0: no
  /// cap). A 128K-position Llama 3.1 would otherwise size a KV cache no
  /// phone holds.
  int64_t maxContextCap = 0;
};

/// Imports the checkpoint in `dir` (config.json + model.safetensors or an
/// index with shards) as an `llm` module. Tensors are only memory-mapped to
/// read their headers: the module refers to them through #llm.storage. On
/// failure, diagnostics naming the file and the problem have been emitted on
/// `context` and null is returned.
mlir::OwningOpRef<mlir::ModuleOp>
importHFCheckpoint(mlir::MLIRContext &context, llvm::StringRef dir,
                   const ImportOptions &options = {});

/// Registers the dialects an imported module uses.
void registerImporterDialects(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_HFIMPORTER_H
