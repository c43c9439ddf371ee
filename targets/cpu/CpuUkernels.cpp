//===- CpuUkernels.cpp - link the integer-dot microkernels into kernels ----===//
//
// The quantized linears call `llmc_uk_*` functions (ukernels/ukernels.c)
// that the dispatch level only declares. Their bitcode is embedded in the
// compiler, one variant per instruction set; the variant the target
// machine's features allow is linked into the kernels' module before -O3,
// made internal and given the module's CPU and features, so the optimizer
// inlines it into each kernel and specializes it for the kernel's constant
// shapes. An artifact thus carries exactly the instructions its features
// record, which the runtime checks at load time.
//
//===----------------------------------------------------------------------===//

#include "targets/cpu/CpuTarget.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

namespace {
struct UkernelBitcode {
  const char *variant;
  const unsigned char *bytes;
  size_t size;
};
#include "UkernelBitcode.inc"

bool hasFeature(llvm::StringRef features, llvm::StringRef name) {
  llvm::SmallVector<llvm::StringRef> list;
  features.split(list, ',');
  for (llvm::StringRef f : list)
    if (f.trim() == ("+" + name).str())
      return true;
  return false;
}
} // namespace

std::string llmc::cpu::ukernelVariant(const llvm::Triple &triple,
                                      llvm::StringRef features) {
  auto all = [&](std::initializer_list<const char *> names) {
    for (const char *n : names)
      if (!hasFeature(features, n))
        return false;
    return true;
  };
  if (triple.getArch() == llvm::Triple::x86_64) {
    if (all({"avx512f", "avx512bw", "avx512vl", "avx512vnni", "fma", "f16c"}))
      return "x86_64-avx512vnni";
    if (all({"avx2", "fma", "f16c"}))
      return "x86_64-avx2";
    return "x86_64-generic";
  }
  if (triple.getArch() == llvm::Triple::aarch64) {
    if (all({"dotprod", "i8mm"}))
      return "aarch64-i8mm";
    if (all({"dotprod"}))
      return "aarch64-dotprod";
    return "aarch64-generic";
  }
  return "";
}

llvm::Error llmc::cpu::linkUkernels(llvm::Module &module,
                                    llvm::TargetMachine &machine) {
  bool wanted = false;
  for (llvm::Function &f : module)
    if (f.isDeclaration() && f.getName().starts_with("llmc_uk_"))
      wanted = true;
  if (!wanted)
    return llvm::Error::success();
  std::string features = machine.getTargetFeatureString().str();
  std::string variant = ukernelVariant(machine.getTargetTriple(), features);
  const UkernelBitcode *found = nullptr;
  for (const UkernelBitcode &u : kUkernels)
    if (variant == u.variant)
      found = &u;
  if (!found)
    return llvm::createStringError(
        "the kernels call integer-dot microkernels, which have no variant for " +
        machine.getTargetTriple().str());
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(found->bytes), found->size),
      found->variant, /*RequiresNullTerminator=*/false);
  auto parsed = llvm::parseBitcodeFile(buffer->getMemBufferRef(), module.getContext());
  if (!parsed)
    return llvm::createStringError(
        "the embedded " + std::string(found->variant) +
        " microkernels do not parse: " + llvm::toString(parsed.takeError()));
  std::unique_ptr<llvm::Module> uk = std::move(*parsed);
  uk->setTargetTriple(module.getTargetTriple());
  uk->setDataLayout(module.getDataLayout());
  std::string cpu = machine.getTargetCPU().str();
  for (llvm::Function &f : *uk) {
    if (f.isDeclaration())
      continue;
    // The module's features are a superset of the variant's (that is how it
    // was chosen), so the microkernels inline into every kernel.
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    f.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }
  if (llvm::Linker::linkModules(module, std::move(uk),
                                llvm::Linker::LinkOnlyNeeded))
    return llvm::createStringError("linking the " + std::string(variant) +
                                   " microkernels into the kernels failed");
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && f.getName().starts_with("llmc_uk_"))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  return llvm::Error::success();
}
