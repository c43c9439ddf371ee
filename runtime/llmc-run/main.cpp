//===- main.cpp - llmc-run: the device-side runner ------------------------===//
//
// `llmc` without the compiler: it uses artifacts (run, chat, tokenize,
// inspect, perplexity) and links only the runtime, so it cross-builds for a
// phone or board (scripts/build-aarch64.sh) where LLVM and MLIR never go.
//
//===----------------------------------------------------------------------===//

#include "runtime/llmc-run/LlmcRun.h"

#include <cstdio>
#include <cstring>

#ifndef LLMC_VERSION
#define LLMC_VERSION "unknown"
#endif

int main(int argc, char **argv) {
  if (argc >= 2 && llmc::run::isRunnerSubcommand(argv[1]))
    return llmc::run::runnerMain(argc, argv, "llmc-run");
  if (argc >= 2 && (!std::strcmp(argv[1], "--version") ||
                    !std::strcmp(argv[1], "-version"))) {
    std::printf("llmc-run %s\n", LLMC_VERSION);
    return 0;
  }
  bool help = argc >= 2 && (!std::strcmp(argv[1], "--help") ||
                            !std::strcmp(argv[1], "-help") ||
                            !std::strcmp(argv[1], "-h"));
  std::FILE *out = help ? stdout : stderr;
  if (argc >= 2 && !help)
    std::fprintf(stderr, "llmc-run: error: unknown subcommand '%s'\n\n", argv[1]);
  std::fprintf(out,
               "llmc-run: runs artifacts compiled by `llmc build` (no "
               "compiler inside)\n\nUsage: llmc-run <subcommand> ...\n\n%s\n"
               "Run `llmc-run <subcommand> --help` for the flags of a "
               "subcommand.\n",
               llmc::run::runnerOverview());
  return help ? 0 : 1;
}
