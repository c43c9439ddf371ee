//===- Presets.cpp - the target presets, one table -------------------------===//
//
// One row per preset. A preset stands for a class of devices; its figures
// are those of one public reference device, named in `device`, so that
// `llmc inspect` can turn bytes per token into tokens per second. Where a
// vendor publishes nothing, the source says so and the figure is a third
// party's; 0 means unknown (never guessed).
//
//===----------------------------------------------------------------------===//

#include "targets/presets/Presets.h"

#include <cstdio>

using llmc::targets::TargetPreset;

namespace {

constexpr int64_t KB = 1024, MB = 1024 * 1024;

const std::vector<TargetPreset> kPresets = {
    // The machine llmc runs on: triple, CPU and features are detected when
    // building (never assumed), the memory system is not known. An artifact
    // for this machine only: another CPU may lack what this one has (the
    // runtime then refuses it by name).
    {"host", "this machine only (CPU and features detected at build time)",
     "cpu", "", "", "", 0, 0, 0, 0, 0, 0, 0.0, 0.0, ""},

    // Portable x86-64 artifacts, by the psABI's microarchitecture levels:
    // v2 (SSE4.2, POPCNT; every x86-64 CPU since about 2009), v3 (AVX2,
    // FMA, F16C, BMI; Haswell and Zen 1 on), v4 (AVX-512 F, BW, CD, DQ, VL;
    // Skylake-SP, Ice Lake, Zen 4 on). The features are spelled out because
    // the runtime checks them at load time. No memory figures: these name an
    // instruction set, not a machine. The integer-dot microkernels are the
    // AVX2 ones on v3 and v4 (v4 does not imply AVX-512 VNNI; `host` on a
    // VNNI machine gets those) and plain C on v2.
    {"linux/x86_64", "any x86-64 with SSE4.2 (x86-64-v2)", "cpu",
     "x86_64-unknown-linux-gnu", "x86-64-v2",
     "+cx16,+popcnt,+sahf,+sse3,+sse4.1,+sse4.2,+ssse3", 0, 0, 0, 0, 0, 0,
     0.0, 0.0, ""},
    {"linux/x86_64-v3", "any x86-64 with AVX2, FMA and F16C (x86-64-v3)",
     "cpu", "x86_64-unknown-linux-gnu", "x86-64-v3",
     "+avx,+avx2,+bmi,+bmi2,+cx16,+f16c,+fma,+lzcnt,+movbe,+popcnt,+sahf,"
     "+sse3,+sse4.1,+sse4.2,+ssse3,+xsave",
     0, 0, 0, 0, 0, 0, 0.0, 0.0, ""},
    {"linux/x86_64-v4", "any x86-64 with AVX-512 F/BW/CD/DQ/VL (x86-64-v4)",
     "cpu", "x86_64-unknown-linux-gnu", "x86-64-v4",
     "+avx,+avx2,+avx512bw,+avx512cd,+avx512dq,+avx512f,+avx512vl,+bmi,"
     "+bmi2,+cx16,+f16c,+fma,+lzcnt,+movbe,+popcnt,+sahf,+sse3,+sse4.1,"
     "+sse4.2,+ssse3,+xsave",
     0, 0, 0, 0, 0, 0, 0.0, 0.0, ""},

    // Raspberry Pi 5: BCM2712, 4x Cortex-A76 at 2.4 GHz, 2 MB shared L3,
    // LPDDR4X-4267 on a 32-bit bus (Raspberry Pi 5 product brief) ->
    // 4267 MT/s x 4 B = 17.1 GB/s. Cortex-A76: 64 KB L1D, 512 KB L2 per
    // core, Armv8.2 with dotprod, two 128-bit FMA pipes (Arm Cortex-A76 TRM)
    // -> 4 cores x 2.4 GHz x 16 flop = 153.6 GFLOP/s.
    {"linux/aarch64", "Raspberry Pi 5 (4x Cortex-A76, LPDDR4X-4267)", "cpu",
     "aarch64-unknown-linux-gnu", "cortex-a76", "+neon,+dotprod,+fullfp16", 0,
     0, 0, 64 * KB, 512 * KB, 2 * MB, 17.1, 153.6, ""},

    // Snapdragon 8 Gen 2 CPU: 1x Cortex-X3 at 3.2 GHz + 4 big cores
    // (2x A715, 2x A710) at 2.8 GHz, 8 MB L3 (Qualcomm product brief);
    // LPDDR5X at 4200 MHz (Qualcomm) = 8400 MT/s on a 64-bit bus -> 67.2
    // GB/s. Cortex-X3: Armv9-A with dotprod, i8mm, bf16; 64 KB L1D, 1 MB L2;
    // four 128-bit FP pipes (Arm Cortex-X3 TRM) -> 32 flop/cycle; A715/A710
    // two pipes -> 16. Peak: 3.2 x 32 + 4 x 2.8 x 16 = 281.6 GFLOP/s.
    {"android/cpu", "Snapdragon 8 Gen 2 CPU (Cortex-X3 + 4 big cores)", "cpu",
     "aarch64-linux-android", "cortex-x3",
     "+v9a,+neon,+dotprod,+i8mm,+bf16,+fullfp16", 0, 0, 0, 64 * KB, 1 * MB,
     8 * MB, 67.2, 281.6, ""},

    // iPhone 15 Pro CPU (A17 Pro: 2 performance + 4 efficiency cores), the
    // same 51.2 GB/s LPDDR5 as ios/metal. Apple publishes no cache sizes or
    // pipe counts; from public microarchitecture analyses: 128 KB L1D and
    // 16 MB L2 per performance cluster, four 128-bit FMA pipes at 3.78 GHz
    // (32 flop/cycle), efficiency cores two at 2.11 GHz (16) -> 2 x 3.78 x
    // 32 + 4 x 2.11 x 16 = 377 GFLOP/s. iOS loads no code at run time: this
    // target builds with --emit static-lib (the app links the kernels).
    {"ios/cpu", "iPhone 15 Pro CPU (A17 Pro), code linked into the app", "cpu",
     "arm64-apple-ios17.0", "apple-a17", "+neon,+dotprod,+i8mm,+bf16,+fullfp16", 0,
     0, 0, 128 * KB, 16 * MB, 0, 51.2, 377.0, ""},

    // Adreno 740 (Snapdragon 8 Gen 2), same LPDDR5X as android/cpu: 67.2
    // GB/s. Qualcomm Adreno OpenCL programming guide: waves of 64 or 128
    // fibers (subgroup 64 in half-wave mode), up to 1024 work items per
    // workgroup, 32 KB local memory. 1 MB GPU cache and ~3.7 TFLOP/s f32
    // are third-party figures (TechPowerUp GPU database); Qualcomm publishes
    // neither. Host code runs on the Cortex-X3.
    {"android/adreno740", "Snapdragon 8 Gen 2 GPU (Adreno 740), OpenCL",
     "opencl", "aarch64-linux-android", "cortex-x3",
     "+v9a,+neon,+dotprod,+i8mm,+bf16,+fullfp16", 64, 1024, 32 * KB, 0,
     1 * MB, 8 * MB, 67.2, 3700.0, ""},

    // Adreno 750 (Snapdragon 8 Gen 3): LPDDR5X at 4800 MHz (Qualcomm product
    // brief) = 9600 MT/s x 8 B = 76.8 GB/s; Cortex-X4 prime core. Wave and
    // local memory as the Adreno 740 (same OpenCL guide); ~4.6 TFLOP/s f32
    // is a third-party figure (Qualcomm publishes none); GPU cache sizes not
    // published.
    {"android/adreno750", "Snapdragon 8 Gen 3 GPU (Adreno 750), OpenCL",
     "opencl", "aarch64-linux-android", "cortex-x4",
     "+v9a,+neon,+dotprod,+i8mm,+bf16,+fullfp16", 64, 1024, 32 * KB, 0, 0,
     0, 76.8, 4600.0, ""},

    // Vulkan on the Adreno 740 class (Snapdragon 8 Gen 2): the figures of
    // android/adreno740; Adreno reports subgroupSize 64, 1024 invocations
    // and 32 KB of shared memory per workgroup (Vulkan device limits as
    // listed by gpuinfo.org for Adreno 740).
    {"android/vulkan", "Snapdragon 8 Gen 2 GPU (Adreno 740), Vulkan 1.1",
     "vulkan", "aarch64-linux-android", "cortex-x3",
     "+v9a,+neon,+dotprod,+i8mm,+bf16,+fullfp16", 64, 1024, 32 * KB, 0,
     1 * MB, 8 * MB, 67.2, 3700.0, "", "vulkan1.1"},

    // Steam Deck (AMD Van Gogh APU): 8 RDNA 2 compute units at up to 1.6
    // GHz, 1.6 TFLOP/s f32; LPDDR5 at 5500 MT/s on four 32-bit channels =
    // 88 GB/s (Valve Steam Deck tech specs). RDNA 2: wave32 subgroups, 1024
    // invocations and 64 KB LDS per workgroup, 16 KB L0 vector cache per CU
    // (AMD RDNA 2 ISA guide). Host code on its Zen 2 cores.
    {"linux/vulkan", "Steam Deck (AMD Van Gogh, RDNA 2), Vulkan", "vulkan",
     "x86_64-unknown-linux-gnu", "znver2", "", 32, 1024, 64 * KB, 16 * KB, 0,
     0, 88.0, 1600.0, "", "vulkan1.3"},

    // iPhone 15 Pro (A17 Pro, 6-core GPU). Metal feature set tables (Apple):
    // SIMD-group width 32, 1024 threads and 32 KB threadgroup memory per
    // threadgroup. LPDDR5-6400 on a 64-bit bus = 51.2 GB/s and ~2.1 TFLOP/s
    // f32 are third-party figures (teardowns / reviews); Apple publishes
    // neither, nor cache sizes.
    {"ios/metal", "iPhone 15 Pro (A17 Pro GPU), Metal", "metal",
     "arm64-apple-ios17.0", "apple-a17", "", 32, 1024, 32 * KB, 0, 0, 0, 51.2,
     2100.0, ""},

    // MacBook Air M2 (10-core GPU): "100GB/s unified memory bandwidth" and
    // "up to 3.6 teraflops" (Apple M2 announcement); SIMD-group 32, 1024
    // threads and 32 KB threadgroup memory (Metal feature set tables).
    {"macos/metal", "MacBook Air M2 (10-core GPU), Metal", "metal",
     "arm64-apple-macosx13.0", "apple-m2", "", 32, 1024, 32 * KB, 0, 0, 0,
     100.0, 3600.0, ""},
};

} // namespace

const std::vector<TargetPreset> &llmc::targets::targetPresets() {
  return kPresets;
}

const TargetPreset *llmc::targets::findTargetPreset(const std::string &name) {
  for (const TargetPreset &p : kPresets)
    if (name == p.name)
      return &p;
  return nullptr;
}

std::string llmc::targets::describeTargetPresets() {
  std::string out =
      "Target presets (llmc build --target NAME; figures are those of the "
      "reference device,\nsources in targets/presets/Presets.cpp):\n\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-18s %-7s %-10s %-12s %s\n", "preset",
                "HAL", "bandwidth", "f32 peak", "reference device");
  out += line;
  for (const TargetPreset &p : kPresets) {
    char bw[32] = "-", peak[32] = "-";
    if (p.bandwidthGBs > 0)
      std::snprintf(bw, sizeof bw, "%.1f GB/s", p.bandwidthGBs);
    if (p.peakGflops > 0)
      std::snprintf(peak, sizeof peak, "%.0f GFLOP/s", p.peakGflops);
    std::snprintf(line, sizeof line, "  %-18s %-7s %-10s %-12s %s\n", p.name,
                  p.hal, bw, peak, p.device);
    out += line;
    if (p.triple[0] || p.subgroupSize) {
      std::snprintf(line, sizeof line, "  %-18s %s%s%s%s", "", p.triple,
                    p.cpu[0] ? ", " : "", p.cpu,
                    p.features[0] ? (std::string(" ") + p.features).c_str() : "");
      out += line;
      if (p.subgroupSize) {
        std::snprintf(line, sizeof line,
                      "; subgroup %d, workgroup %d, local memory %lld KB",
                      p.subgroupSize, p.workgroupSize,
                      static_cast<long long>(p.localMemory / KB));
        out += line;
      }
      out += "\n";
    }
    out += std::string("  ") + std::string(18, ' ') + " " +
           (p.notYet[0] ? std::string("not yet supported: back end comes with ") +
                              p.notYet
                        : std::string("supported")) +
           "\n";
  }
  return out;
}
