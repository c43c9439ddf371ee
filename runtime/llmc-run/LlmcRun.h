//===- LlmcRun.h - using an artifact: run, chat, tokenize, inspect, ppl --===//
//
// Everything a device needs to use a compiled model, with no LLVM or MLIR
// in it: the `llmc-run` program is this plus a main(), and `llmc` hands
// these subcommands to it, so both take the same flags and print the same
// output.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_LLMC_RUN_LLMCRUN_H
#define LLMC_RUNTIME_LLMC_RUN_LLMCRUN_H

namespace llmc::run {

/// True if `name` is one of the subcommands below.
bool isRunnerSubcommand(const char *name);

/// Runs `argv[1]` (run, chat, tokenize, inspect, perplexity) with the rest
/// of argv as its arguments; `tool` names the program in messages ("llmc"
/// or "llmc-run"). Returns the process exit code.
int runnerMain(int argc, char **argv, const char *tool);

/// The runner's subcommands, one line each, for a --help overview.
const char *runnerOverview();

} // namespace llmc::run

#endif // LLMC_RUNTIME_LLMC_RUN_LLMCRUN_H
