//===- Target.cpp - the back end of each preset ----------------------------===//

#include "targets/Target.h"

#include "targets/cpu/CpuTarget.h"
#include "targets/metal/MetalTarget.h"
#include "targets/opencl/OpenCLTarget.h"
#include "targets/vulkan/VulkanTarget.h"

#include <algorithm>
#include <string>

using namespace llmc::targets;

llvm::Expected<std::unique_ptr<Target>>
llmc::targets::createTarget(const TargetPreset &preset) {
  if (preset.notYet[0])
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "target '" + std::string(preset.name) + "' (" + preset.device +
            ") is not yet supported: its back end comes with " + preset.notYet);
  if (std::string(preset.hal) == "cpu")
    return cpu::createCpuTarget(preset);
  if (std::string(preset.hal) == "opencl")
    return opencl::createOpenCLTarget(preset);
  if (std::string(preset.hal) == "vulkan")
    return vulkan::createVulkanTarget(preset);
  if (std::string(preset.hal) == "metal")
    return metal::createMetalTarget(preset);
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "no back end for HAL '" + std::string(preset.hal) +
                                     "'");
}

int64_t llmc::targets::gpuRowLanes(const TargetPreset &preset) {
  return std::max<int64_t>(1, std::min<int64_t>(preset.subgroupSize, preset.workgroupSize));
}

void llmc::targets::registerTargetDialects(mlir::DialectRegistry &registry) {
  cpu::registerCpuTargetDialects(registry);
}
