//===- Passes.h - llmc passes ------------------------------------*- C++ -*-===//

#ifndef LLMC_PASSES_PASSES_H
#define LLMC_PASSES_PASSES_H

#include "mlir/Pass/Pass.h"

#include <array>
#include <string>

namespace llmc {
#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The scheme of each weight class (embed, lm_head, attn_qkv, attn_o, mlp,
/// norm) under a --quantization preset and --quant-override list, or false
/// with `error` saying which value is wrong. Plain strings, no IR: the CLI
/// checks a build's flags with it before any import. `int8Dot`: the target
/// has integer-dot kernels (the CPU), which read q6 for the q4 presets'
/// embedding and lm_head.
bool resolveQuantPolicy(llvm::StringRef preset,
                        llvm::ArrayRef<std::string> overrides,
                        std::array<std::string, 6> &schemes,
                        std::string &error, bool int8Dot = false);
} // namespace llmc

#endif // LLMC_PASSES_PASSES_H
