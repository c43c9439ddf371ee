//===- CpuTarget.h - host CPU back end: dispatch level -> ELF .so -*- C++ -*-===//
//
// The CPU back end takes the dispatch level (kernels written in func/scf/
// arith/math/memref/vector on memrefs with static signature shapes, plus
// the `llm.schedule` that launches them), lowers the kernels to the LLVM
// dialect, translates them to LLVM IR, optimizes it at -O3 for the target
// CPU and links the object code into a position-independent ELF shared
// object: the CPU's executable.
//
// Every kernel an `llm.dispatch` launches is exported under
// kernelEntrySymbol(name) with the uniform C ABI of
// runtime/include/llmc_kernel_abi.h; the schedule itself is not compiled
// (the runtime walks it from the artifact). Other private functions get
// internal linkage; public functions with a body are exported with the
// bare-pointer calling convention. See targets/cpu/README.md.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_CPU_CPUTARGET_H
#define LLMC_TARGETS_CPU_CPUTARGET_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmc::targets {
class Target;
struct TargetPreset;
struct Library;
struct LibraryOptions;
} // namespace llmc::targets

namespace llvm {
class Module;
class TargetMachine;
class Triple;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace llmc::cpu {

/// The exported C entry point of a kernel that an `llm.dispatch` launches
/// (ABI: runtime/include/llmc_kernel_abi.h).
std::string kernelEntrySymbol(llvm::StringRef kernel);

struct CpuTargetOptions {
  /// Target triple; empty: the host (llvm::sys::getDefaultTargetTriple()).
  std::string triple;
  /// CPU name; empty: the host CPU when the triple is the host's, else
  /// "generic".
  std::string cpu;
  /// Comma-separated subtarget features ("+avx2,+fma"); empty: the host's
  /// features when the triple is the host's, else none.
  std::string features;
  /// 0..3, both for the LLVM IR optimizer and for code generation.
  unsigned optLevel = 3;
  /// The ELF linker; empty: search ld.lld-19, /usr/lib/llvm-19/bin/ld.lld,
  /// ld.lld on PATH.
  std::string lldPath;
};

/// The CPU back end behind targets/Target.h for a preset whose HAL is "cpu":
/// its triple, CPU and features (host: detected), the loop strategy, and
/// compileToSharedObject.
std::unique_ptr<targets::Target> createCpuTarget(const targets::TargetPreset &preset);

/// "+avx2,+fma,..." of every feature this machine's CPU has.
std::string hostFeatureString();

/// The integer-dot microkernels' variant (ukernels/ukernels.c) for a triple
/// and feature string: "x86_64-avx512vnni", "x86_64-avx2", "x86_64-generic",
/// "aarch64-generic", or "" for an architecture without one.
std::string ukernelVariant(const llvm::Triple &triple, llvm::StringRef features);

/// Links that variant into `module` when it calls any `llmc_uk_*` function
/// (internal linkage, the module's CPU and features, so they inline).
llvm::Error linkUkernels(llvm::Module &module, llvm::TargetMachine &machine);

/// Adds the passes that take the dispatch level to the LLVM dialect (anchored
/// on builtin.module). Also registered as the `llmc-kernel-to-llvm` pipeline.
/// expandHalf: f16 <-> f32 conversions as integer arithmetic (x86-64
/// without F16C, where LLVM would call compiler-rt).
void buildKernelToLLVMPipeline(mlir::OpPassManager &pm, bool expandHalf = false);

/// Registers `--llmc-kernel-to-llvm` for mlir-opt style drivers.
void registerCpuTargetPipelines();

/// Dialects of the dispatch level plus the LLVM dialect and the translation
/// interfaces to LLVM IR.
void registerCpuTargetDialects(mlir::DialectRegistry &registry);

/// Lowers `module` (modified in place) to LLVM IR, optimizes it, emits an
/// object file and links it into a PIC ELF shared object (no libc linked:
/// libm symbols such as expf stay undefined and are resolved by the process
/// that loads it). Returns the bytes of the shared object.
llvm::Expected<std::vector<uint8_t>>
compileToSharedObject(mlir::ModuleOp module, const CpuTargetOptions &options);

/// Compiles `module` (modified in place) into a library of its kernels (an
/// ar archive of one object, or a shared object) whose only external symbol
/// is `options.symbol`, returning their llmc_kernel_table; the code id is a
/// hash of the optimized IR.
llvm::Expected<targets::Library>
compileToLibrary(mlir::ModuleOp module, const CpuTargetOptions &options,
                 const targets::LibraryOptions &libraryOptions);

/// Lowers `module` (modified in place) and returns the optimized LLVM IR as
/// text (for `llmc build --emit-llvm`).
llvm::Expected<std::string> emitLLVMIR(mlir::ModuleOp module,
                                       const CpuTargetOptions &options);

/// Lowers `module` (modified in place) and returns the target assembly (for
/// `llmc build --emit-asm`).
llvm::Expected<std::string> emitAssembly(mlir::ModuleOp module,
                                         const CpuTargetOptions &options);

} // namespace llmc::cpu

#endif // LLMC_TARGETS_CPU_CPUTARGET_H
