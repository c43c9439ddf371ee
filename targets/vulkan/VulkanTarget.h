//===- VulkanTarget.h - SPIR-V back end for Vulkan GPUs ----------*- C++ -*-===//
//
// The back end of the presets whose HAL is "vulkan" (android/vulkan,
// linux/vulkan): the dispatch-level kernels lowered through MLIR's gpu and
// spirv dialects (SPIRVLowering.h) into one SPIR-V module with an entry
// point per kernel, stored as the artifact's payload in format "spirv" and
// run by runtime/hal/vulkan.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_VULKAN_VULKANTARGET_H
#define LLMC_TARGETS_VULKAN_VULKANTARGET_H

#include <memory>
#include <string>

namespace llmc::targets {
class Target;
struct TargetPreset;
} // namespace llmc::targets

namespace llmc::vulkan {

std::unique_ptr<targets::Target>
createVulkanTarget(const targets::TargetPreset &preset);

/// The `#spirv.target_env` of a preset: SPIR-V version from its API level,
/// 8/16-bit storage, Int8, Float16 and subgroup arithmetic (every preset
/// we ship has them; the HAL refuses a device without them), its subgroup
/// and workgroup limits.
std::string spirvTargetEnv(const targets::TargetPreset &preset);

} // namespace llmc::vulkan

#endif // LLMC_TARGETS_VULKAN_VULKANTARGET_H
