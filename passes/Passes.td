//===- Passes.td - llmc passes ------------------------------*- tablegen -*-===//
//
// Every transformation of llmc is one pass in its own file under passes/,
// declared here. The pipeline that chains them lives in compiler/.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES
#define LLMC_PASSES

include "mlir/Pass/PassBase.td"

def LLMVerifyModel : Pass<"llm-verify-model", "mlir::ModuleOp"> {
  let summary = "Check that a module is a complete llm model";
  let description = [{
    The dialect verifiers check each op alone; this pass checks the module as
    a model: it carries an `llm.config`, has exactly one `func.func @forward`
    with the (tokens, start_pos, kv cache) -> logits signature, the KV cache
    type agrees with the config, and every `llm.weight` is used. The importer
    runs it last so a malformed model fails at import, not at code generation.
  }];
  let dependentDialects = ["llmc::llm::LLMDialect", "mlir::func::FuncDialect"];
}

#endif // LLMC_PASSES
