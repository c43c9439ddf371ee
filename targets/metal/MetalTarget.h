//===- MetalTarget.h - MSL back end for Apple GPUs ----------------*- C++ -*-===//
//
// The back end of the presets whose HAL is "metal" (ios/metal,
// macos/metal): the dispatch-level kernels printed as one Metal Shading
// Language source (MetalEmitter.h), stored as the artifact's payload in
// format "msl" and compiled by Metal at first open (runtime/hal/metal), or
// here by the MSL-on-CPU harness (targets/metal/msl-cpu).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_METAL_METALTARGET_H
#define LLMC_TARGETS_METAL_METALTARGET_H

#include <memory>

namespace llmc::targets {
class Target;
struct TargetPreset;
} // namespace llmc::targets

namespace llmc::metal {

std::unique_ptr<targets::Target>
createMetalTarget(const targets::TargetPreset &preset);

} // namespace llmc::metal

#endif // LLMC_TARGETS_METAL_METALTARGET_H
