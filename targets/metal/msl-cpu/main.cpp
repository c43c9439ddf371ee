//===- main.cpp - llmc-msl-run: Metal artifacts on the CPU ----------------===//
//
// `llmc run` (and the runner's other subcommands) with the MSL-on-CPU
// harness as the runtime's Metal HAL: `llmc-msl-run ART --tokens ...` runs
// an ios/metal or macos/metal artifact here, with the same flags and output
// as `llmc run ART ...`.
//
//===----------------------------------------------------------------------===//

#include "runtime/hal/llmc_hal.h"
#include "runtime/llmc-run/LlmcRun.h"
#include "targets/metal/msl-cpu/MslCpuHal.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  llmc_hal_install_metal(llmc_msl_cpu_hal());
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fprintf(argc < 2 ? stderr : stdout,
                 "llmc-msl-run: runs a Metal artifact (llmc build --target "
                 "ios/metal or macos/metal) on the CPU: its MSL is compiled as "
                 "C++ against targets/metal/msl-cpu/metal_stdlib and each "
                 "threadgroup runs on real threads.\n\n"
                 "Usage: llmc-msl-run ARTIFACT [llmc run flags]   (= llmc run)\n"
                 "       llmc-msl-run <subcommand> ...\n\n%s\n",
                 llmc::run::runnerOverview());
    return argc < 2 ? 1 : 0;
  }
  if (llmc::run::isRunnerSubcommand(argv[1]))
    return llmc::run::runnerMain(argc, argv, "llmc-msl-run");
  // An artifact first: the run subcommand.
  std::vector<char *> args{argv[0], const_cast<char *>("run")};
  args.insert(args.end(), argv + 1, argv + argc);
  args.push_back(nullptr);
  return llmc::run::runnerMain(int(args.size() - 1), args.data(), "llmc-msl-run");
}
