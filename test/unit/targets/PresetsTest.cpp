//===- PresetsTest.cpp - the target preset table is complete --------------===//

#include "targets/presets/Presets.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using llmc::targets::findTargetPreset;
using llmc::targets::targetPresets;

// The presets the retargetable back end promises, by name.
TEST(TargetPresets, AllNamedPresetsExist) {
  for (const char *name :
       {"host", "linux/aarch64", "android/cpu", "ios/cpu", "android/adreno740",
        "android/adreno750", "android/vulkan", "linux/vulkan", "ios/metal",
        "macos/metal"})
    EXPECT_NE(findTargetPreset(name), nullptr) << name;
  EXPECT_EQ(findTargetPreset("pdp11"), nullptr);
  EXPECT_EQ(findTargetPreset(""), nullptr);
}

TEST(TargetPresets, EveryRowIsComplete) {
  std::set<std::string> names;
  const std::set<std::string> hals = {"cpu", "opencl", "vulkan", "metal"};
  for (const auto &p : targetPresets()) {
    SCOPED_TRACE(p.name);
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate name";
    EXPECT_TRUE(hals.count(p.hal)) << p.hal;
    EXPECT_STRNE(p.device, "");
    bool host = std::string(p.name) == "host";
    // The x86-64 instruction-set levels name no machine: no memory figures.
    bool isa = std::string(p.name).rfind("linux/x86_64", 0) == 0;
    bool gpu = std::string(p.hal) != "cpu";
    // Only the host takes its triple and features from the machine; only it
    // and the x86-64 levels lack a memory system. Every CPU preset is built
    // today (x86-64 and aarch64), and every GPU one (OpenCL, Vulkan,
    // Metal). Only Vulkan presets name a Vulkan API level.
    EXPECT_EQ(host, p.triple[0] == '\0');
    if (!host && !gpu) // the runtime checks them at load time
      EXPECT_STRNE(p.features, "");
    EXPECT_EQ(host || isa, p.bandwidthGBs == 0.0);
    bool vulkan = std::string(p.hal) == "vulkan";
    EXPECT_EQ(vulkan, p.gpuApi[0] != '\0');
    EXPECT_STREQ(p.notYet, "") << p.name;
    EXPECT_EQ(gpu, p.subgroupSize > 0);
    EXPECT_EQ(gpu, p.workgroupSize > 0);
    EXPECT_EQ(gpu, p.localMemory > 0);
    if (!host && !isa)
      EXPECT_GT(p.peakGflops, 0.0);
  }
}

TEST(TargetPresets, HelpListsEveryPreset) {
  std::string help = llmc::targets::describeTargetPresets();
  for (const auto &p : targetPresets())
    EXPECT_NE(help.find(p.name), std::string::npos) << p.name;
}
