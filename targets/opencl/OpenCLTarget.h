//===- OpenCLTarget.h - OpenCL C back end for Adreno GPUs -------*- C++ -*-===//
//
// The back end of the presets whose HAL is "opencl" (android/adreno740,
// android/adreno750): the dispatch-level kernels printed as one OpenCL C
// program (OpenCLEmitter.h), stored as the artifact's payload in format
// "opencl-c" and built by the driver at first open (runtime/hal/opencl).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_OPENCL_OPENCLTARGET_H
#define LLMC_TARGETS_OPENCL_OPENCLTARGET_H

#include <memory>

namespace llmc::targets {
class Target;
struct TargetPreset;
} // namespace llmc::targets

namespace llmc::opencl {

std::unique_ptr<targets::Target>
createOpenCLTarget(const targets::TargetPreset &preset);

} // namespace llmc::opencl

#endif // LLMC_TARGETS_OPENCL_OPENCLTARGET_H
