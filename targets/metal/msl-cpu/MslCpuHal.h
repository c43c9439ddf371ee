//===- MslCpuHal.h - the MSL-on-CPU harness as a runtime HAL ----*- C++ -*-===//
//
// A runtime HAL that runs "msl" payloads on the CPU (MslCpuHal.cpp); install
// it with llmc_hal_install_metal() before opening a Metal artifact.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_METAL_MSLCPU_MSLCPUHAL_H
#define LLMC_TARGETS_METAL_MSLCPU_MSLCPUHAL_H

struct llmc_hal;

const llmc_hal *llmc_msl_cpu_hal();

#endif // LLMC_TARGETS_METAL_MSLCPU_MSLCPUHAL_H
