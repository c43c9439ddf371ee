//===- Presets.h - the target presets, one table --------------*- C++ -*-===//
//
// What `llmc build --target NAME` means: the device class a preset stands
// for, the HAL and code generator that serve it, and the figures that judge
// speed on paper (`llmc inspect`): memory bandwidth bounds decode, peak
// compute bounds prefill. Every number has its public source beside it in
// Presets.cpp. Plain C++, no MLIR: the runtime-facing tools use it too.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_PRESETS_PRESETS_H
#define LLMC_TARGETS_PRESETS_PRESETS_H

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::targets {

struct TargetPreset {
  const char *name;        ///< "android/adreno740"
  const char *device;      ///< the reference device the numbers describe
  const char *hal;         ///< runtime HAL: "cpu", "opencl", "vulkan", "metal"
  const char *triple;      ///< host code ("" = this machine's)
  const char *cpu;         ///< LLVM CPU name ("" = this machine's)
  const char *features;    ///< LLVM features ("" = this machine's)
  int32_t subgroupSize;    ///< GPU SIMD width (0: CPU)
  int32_t workgroupSize;   ///< largest workgroup (0: CPU)
  int64_t localMemory;     ///< bytes of workgroup-shared memory (0: CPU)
  int64_t l1Bytes;         ///< per core / compute unit data cache
  int64_t l2Bytes;         ///< per core (CPU) or GPU-wide L2
  int64_t lastLevelBytes;  ///< shared L3 / system-level cache
  double bandwidthGBs;     ///< DRAM bandwidth, GB/s (0: unknown)
  double peakGflops;       ///< f32 peak of the unit that runs the kernels
  /// Empty when llmc can build for it; else which issue brings its back end.
  const char *notYet;
  /// GPU API level the code may assume ("vulkan1.1", "vulkan1.3"; "" for
  /// other HALs): the SPIR-V version and the capabilities it implies.
  const char *gpuApi = "";
};

/// Every preset, in the order `--target help` lists them.
const std::vector<TargetPreset> &targetPresets();

/// The preset named `name`, or null.
const TargetPreset *findTargetPreset(const std::string &name);

/// The table as `llmc build --target help` prints it.
std::string describeTargetPresets();

} // namespace llmc::targets

#endif // LLMC_TARGETS_PRESETS_PRESETS_H
