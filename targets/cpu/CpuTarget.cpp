//===- CpuTarget.cpp - LLVM IR -> optimized object -> ELF shared object ----===//
//
// The LLVM half of the CPU back end: run the kernel-to-LLVM pipeline,
// translate to LLVM IR, optimize with the new pass manager at -O3 for the
// target machine, emit an object file and link it with ld.lld into a PIC
// shared object that exports the kernels' entry points.
//
//===----------------------------------------------------------------------===//

#include "targets/cpu/CpuTarget.h"

#include "targets/Target.h"
#include "targets/presets/Presets.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#if LLMC_EMBEDDED_LLD
#include "lld/Common/Driver.h"
LLD_HAS_DRIVER(elf)
#endif

#if LLVM_HAS_AARCH64_TARGET
extern "C" void LLVMInitializeAArch64TargetInfo();
extern "C" void LLVMInitializeAArch64Target();
extern "C" void LLVMInitializeAArch64TargetMC();
extern "C" void LLVMInitializeAArch64AsmPrinter();
#endif

using namespace llmc::cpu;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "cpu target: " + message);
}

void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
#if LLVM_HAS_AARCH64_TARGET
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
#endif
  });
}

llvm::CodeGenOptLevel codeGenOptLevel(unsigned level) {
  switch (level) {
  case 0: return llvm::CodeGenOptLevel::None;
  case 1: return llvm::CodeGenOptLevel::Less;
  case 2: return llvm::CodeGenOptLevel::Default;
  default: return llvm::CodeGenOptLevel::Aggressive;
  }
}

llvm::OptimizationLevel optimizationLevel(unsigned level) {
  switch (level) {
  case 0: return llvm::OptimizationLevel::O0;
  case 1: return llvm::OptimizationLevel::O1;
  case 2: return llvm::OptimizationLevel::O2;
  default: return llvm::OptimizationLevel::O3;
  }
}

/// The host's subtarget features as "+avx2,+fma,-avx512f,...".
std::string hostFeatures() {
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  return features.getString();
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CpuTargetOptions &options) {
  initializeTargets();
  std::string hostTriple = llvm::sys::getDefaultTargetTriple();
  std::string triple =
      llvm::Triple::normalize(options.triple.empty() ? hostTriple : options.triple);
  bool isHost = triple == llvm::Triple::normalize(hostTriple);
  std::string cpu = options.cpu;
  if (cpu.empty())
    cpu = isHost ? llvm::sys::getHostCPUName().str() : "generic";
  std::string features = options.features;
  if (features.empty() && isHost && options.cpu.empty())
    features = hostFeatures();

  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target)
    return makeError("no LLVM target for triple '" + triple + "': " + lookupError);
  llvm::TargetOptions targetOptions; // IEEE semantics: no fast-math.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      codeGenOptLevel(options.optLevel)));
  if (!machine)
    return makeError("cannot create a target machine for '" + triple +
                     "' (cpu '" + cpu + "')");
  return machine;
}

/// Collects the error diagnostics emitted while alive (they also go on to
/// the context's other handlers, e.g. the command line's).
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *context)
      : os_(text_), handler_(context, [this](mlir::Diagnostic &diag) {
          if (diag.getSeverity() == mlir::DiagnosticSeverity::Error) {
            os_ << "\n  " << diag.getLocation() << ": " << diag;
            for (const mlir::Diagnostic &note : diag.getNotes())
              os_ << "\n    note: " << note.getLocation() << ": " << note;
          }
          return mlir::failure(); // not handled: propagate
        }) {}
  std::string text() const {
    return text_.empty() ? std::string(" (no diagnostic)") : text_;
  }

private:
  std::string text_;
  llvm::raw_string_ostream os_;
  mlir::ScopedDiagnosticHandler handler_;
};

/// Runs buildKernelToLLVMPipeline on `module` and checks that only LLVM
/// dialect ops are left.
llvm::Error lowerToLLVMDialect(mlir::ModuleOp module, bool expandHalf) {
  mlir::MLIRContext *context = module.getContext();
  // Something must come out: a kernel that a dispatch launches, or a public
  // function with a body.
  bool exports = false;
  module.walk([&](mlir::Operation *op) {
    if (op->getName().getStringRef() == "llm.dispatch")
      exports = true;
    if (auto func = llvm::dyn_cast<mlir::func::FuncOp>(op))
      exports |= !func.isExternal() && func.isPublic();
    return exports ? mlir::WalkResult::interrupt() : mlir::WalkResult::advance();
  });
  if (!exports)
    return makeError("the module exports nothing: no llm.dispatch and no "
                     "public function with a body");

  DiagnosticCollector diagnostics(context);
  mlir::PassManager pm(context, mlir::ModuleOp::getOperationName());
  buildKernelToLLVMPipeline(pm, expandHalf);
  if (mlir::failed(pm.run(module)))
    return makeError("lowering the dispatch level to the LLVM dialect failed:" +
                     diagnostics.text());

  // The conversions are partial: an op no pattern knows survives them.
  // Name it here rather than letting the translation fail vaguely.
  mlir::Operation *leftover = nullptr;
  module.walk([&](mlir::Operation *op) {
    mlir::Dialect *dialect = op->getDialect(); // null for unregistered ops
    if (op == module.getOperation() ||
        (dialect && llvm::isa<mlir::LLVM::LLVMDialect>(dialect)))
      return mlir::WalkResult::advance();
    leftover = op;
    return mlir::WalkResult::interrupt();
  });
  if (leftover) {
    std::string hint;
    if (auto func = llvm::dyn_cast<mlir::func::FuncOp>(leftover))
      hint = " (function @" + func.getSymName().str() +
             ": with the bare-pointer calling convention every memref in a "
             "function signature needs a static shape and a static layout)";
    std::string location;
    llvm::raw_string_ostream locOs(location);
    locOs << leftover->getLoc();
    leftover->emitError("op was not lowered to the LLVM dialect by the CPU "
                        "target's pipeline");
    return makeError("op '" + leftover->getName().getStringRef() + "' at " +
                     location + " was not lowered to the LLVM dialect" + hint);
  }
  return llvm::Error::success();
}

/// Lowers, translates and optimizes `module` for `machine`.
llvm::Expected<std::unique_ptr<llvm::Module>>
lowerAndOptimize(mlir::ModuleOp module, llvm::LLVMContext &llvmContext,
                 llvm::TargetMachine &machine, unsigned optLevel) {
  // x86-64 without F16C would call compiler-rt for f16 conversions.
  const bool expandHalf = machine.getTargetTriple().isX86() &&
                          !machine.getMCSubtargetInfo()->checkFeatures("+f16c");
  if (llvm::Error error = lowerToLLVMDialect(module, expandHalf))
    return std::move(error);

  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule;
  {
    DiagnosticCollector diagnostics(module.getContext());
    llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext, "llmc_kernels");
    if (!llvmModule)
      return makeError("translating the LLVM dialect to LLVM IR failed:" +
                       diagnostics.text());
  }

  llvmModule->setTargetTriple(machine.getTargetTriple().str());
  llvmModule->setDataLayout(machine.createDataLayout());
  if (llvm::Error error = linkUkernels(*llvmModule, machine))
    return std::move(error);
  std::string cpu = machine.getTargetCPU().str();
  std::string features = machine.getTargetFeatureString().str();
  for (llvm::Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    if (!function.hasLocalLinkage())
      function.setVisibility(llvm::GlobalValue::DefaultVisibility);
    function.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      function.addFnAttr("target-features", features);
    function.addFnAttr(llvm::Attribute::NoUnwind);
  }
  for (llvm::GlobalVariable &global : llvmModule->globals())
    if (!global.isDeclaration())
      global.setLinkage(llvm::GlobalValue::InternalLinkage);

  {
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(*llvmModule, &os))
      return makeError("the translated LLVM IR does not verify:\n" + problems);
  }

  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel >= 2;
  tuning.SLPVectorization = optLevel >= 2;
  tuning.LoopUnrolling = optLevel >= 2;
  tuning.LoopInterleaving = optLevel >= 2;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      optLevel == 0
          ? builder.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
          : builder.buildPerModuleDefaultPipeline(optimizationLevel(optLevel));
  mpm.run(*llvmModule, mam);
  return llvmModule;
}

llvm::Expected<llvm::SmallString<0>>
emitMachineCode(llvm::Module &llvmModule, llvm::TargetMachine &machine,
                llvm::CodeGenFileType type) {
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr, type))
    return makeError("the target machine cannot emit this file type");
  codegen.run(llvmModule);
  return buffer;
}

/// Set when lld says it cannot run again in this process.
std::atomic<bool> embeddedLldUnusable{false};

/// The external linker to run, or "" for the embedded lld.
llvm::Expected<std::string> findLinker(const CpuTargetOptions &options) {
#if LLMC_EMBEDDED_LLD
  if (options.lldPath.empty() && !embeddedLldUnusable)
    return std::string();
#endif
  if (!options.lldPath.empty()) {
    if (llvm::sys::fs::can_execute(options.lldPath))
      return options.lldPath;
    if (auto found = llvm::sys::findProgramByName(options.lldPath))
      return *found;
    return makeError("linker '" + options.lldPath + "' not found or not executable");
  }
  if (auto found = llvm::sys::findProgramByName("ld.lld-19"))
    return *found;
  if (llvm::sys::fs::can_execute("/usr/lib/llvm-19/bin/ld.lld"))
    return std::string("/usr/lib/llvm-19/bin/ld.lld");
  if (auto found = llvm::sys::findProgramByName("ld.lld"))
    return *found;
  return makeError("no ELF linker found: install lld-19 (ld.lld-19) or set "
                   "the linker path");
}

/// Links `object` into a shared object with ld.lld; temporaries are removed
/// on every path.
llvm::Expected<std::vector<uint8_t>> linkSharedObject(llvm::StringRef object,
                                                      const CpuTargetOptions &options,
                                                      llvm::StringRef soname = "llmc_kernels") {
  auto linker = findLinker(options);
  if (!linker)
    return linker.takeError();

  llvm::SmallString<128> objectPath, outputPath, logPath;
  int objectFd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "llmc-kernels", "o", objectFd, objectPath))
    return makeError("cannot create a temporary object file: " + ec.message());
  auto removeObject = llvm::make_scope_exit([&] { llvm::sys::fs::remove(objectPath); });
  {
    llvm::raw_fd_ostream os(objectFd, /*shouldClose=*/true);
    os << object;
    os.close();
    if (os.has_error())
      return makeError("cannot write " + objectPath + ": " + os.error().message());
  }
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("llmc-kernels", "so", outputPath))
    return makeError("cannot create a temporary output file: " + ec.message());
  auto removeOutput = llvm::make_scope_exit([&] { llvm::sys::fs::remove(outputPath); });
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("llmc-ld", "log", logPath))
    return makeError("cannot create a temporary log file: " + ec.message());
  auto removeLog = llvm::make_scope_exit([&] { llvm::sys::fs::remove(logPath); });

  llvm::SmallVector<std::string, 16> args = {
      "ld.lld",   "-shared",      "--hash-style=gnu", "-z",      "noexecstack",
      "-z",       "relro",        "-z",               "now",     "--build-id=none",
      "-soname",  soname.str(),   "-o",               outputPath.str().str(),
      objectPath.str().str()};
  if (linker->empty()) {
#if LLMC_EMBEDDED_LLD
    std::string log;
    llvm::raw_string_ostream logOs(log);
    llvm::SmallVector<const char *, 16> argv;
    for (const std::string &arg : args)
      argv.push_back(arg.c_str());
    lld::Result result;
    {
      // lld keeps global state: one link at a time.
      static std::mutex lldMutex;
      std::lock_guard<std::mutex> lock(lldMutex);
      result = lld::lldMain(argv, logOs, logOs, {{lld::Gnu, &lld::elf::link}});
      if (!result.canRunAgain)
        embeddedLldUnusable = true;
    }
    if (result.retCode != 0)
      return makeError("linking with the embedded lld failed" +
                       (log.empty() ? std::string() : ":\n" + llvm::StringRef(log).trim().str()));
#endif
  } else {
    llvm::SmallVector<llvm::StringRef, 16> argRefs;
    for (const std::string &arg : args)
      argRefs.push_back(arg);
    argRefs[0] = *linker;
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(logPath),
                                                  llvm::StringRef(logPath)};
    std::string execError;
    int rc = llvm::sys::ExecuteAndWait(*linker, argRefs, /*Env=*/std::nullopt, redirects,
                                       /*SecondsToWait=*/0, /*MemoryLimit=*/0, &execError);
    if (rc != 0) {
      std::string log;
      if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
        log = (*buffer)->getBuffer().trim().str();
      return makeError("linking with " + *linker + " failed" +
                       (execError.empty() ? "" : ": " + execError) +
                       (log.empty() ? "" : ":\n" + log));
    }
  }
  auto buffer = llvm::MemoryBuffer::getFile(outputPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot read the linked shared object: " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

/// The symbols of an object as the linker sees them: a shared object's
/// dynamic symbols, a relocatable object's (ELF or Mach-O) symbols; C names
/// without Mach-O's leading underscore.
struct Symbol {
  std::string name;
  bool undefined;
};
llvm::Expected<std::vector<Symbol>> linkSymbols(const std::vector<uint8_t> &bytes) {
  llvm::MemoryBufferRef ref(
      llvm::StringRef(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
      "llmc_kernels");
  auto object = llvm::object::ObjectFile::createObjectFile(ref);
  if (!object)
    return makeError("the compiled code is not an object file: " +
                     llvm::toString(object.takeError()));
  std::vector<llvm::object::SymbolRef> refs;
  auto *elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(object->get());
  if (elf && !elf->isRelocatableObject())
    for (const llvm::object::ELFSymbolRef &symbol : elf->getDynamicSymbolIterators())
      refs.push_back(symbol);
  else
    for (const llvm::object::SymbolRef &symbol : (*object)->symbols())
      refs.push_back(symbol);
  const bool macho = (*object)->isMachO();
  std::vector<Symbol> symbols;
  for (const llvm::object::SymbolRef &symbol : refs) {
    auto name = symbol.getName();
    auto flags = symbol.getFlags();
    if (!name || !flags) {
      if (!name)
        llvm::consumeError(name.takeError());
      if (!flags)
        llvm::consumeError(flags.takeError());
      continue;
    }
    llvm::StringRef c = macho ? name->drop_front(name->starts_with("_")) : *name;
    if (!c.empty())
      symbols.push_back({c.str(), (*flags & llvm::object::SymbolRef::SF_Undefined) != 0});
  }
  return symbols;
}

/// Checks that the shared object `bytes` defines every name in `exports`.
llvm::Error checkExports(const std::vector<uint8_t> &bytes,
                         const std::vector<std::string> &exports) {
  auto symbols = linkSymbols(bytes);
  if (!symbols)
    return symbols.takeError();
  llvm::StringSet<> defined;
  for (const Symbol &symbol : *symbols)
    if (!symbol.undefined)
      defined.insert(symbol.name);
  for (const std::string &name : exports)
    if (!defined.contains(name))
      return makeError("the shared object does not export " + name);
  return llvm::Error::success();
}

/// Symbols the code imports, except libc's memory functions (LLVM lowers
/// large copies and fills to them; every process has libc, the runtime
/// itself needs it; Apple's libSystem adds bzero and memset_pattern16).
llvm::Expected<std::vector<std::string>> importedSymbols(const std::vector<uint8_t> &bytes) {
  auto symbols = linkSymbols(bytes);
  if (!symbols)
    return symbols.takeError();
  static const llvm::StringSet<> libc = {"memcpy", "memmove", "memset", "bzero",
                                         "memset_pattern16"};
  std::vector<std::string> imports;
  for (const Symbol &symbol : *symbols)
    if (symbol.undefined && !libc.contains(symbol.name))
      imports.push_back(symbol.name);
  return imports;
}

/// The dispatch level lowered to optimized LLVM IR for a target machine: the
/// common first half of every entry point below.
struct Lowered {
  std::unique_ptr<llvm::TargetMachine> machine;
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  std::vector<std::string> exports; ///< what the shared object must define
};

llvm::Expected<Lowered> lowerForTarget(mlir::ModuleOp module,
                                       const CpuTargetOptions &options) {
  Lowered out;
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  out.machine = std::move(*machine);
  out.context = std::make_unique<llvm::LLVMContext>();
  auto llvmModule =
      lowerAndOptimize(module, *out.context, *out.machine, options.optLevel);
  if (!llvmModule)
    return llvmModule.takeError();
  out.module = std::move(*llvmModule);
  for (llvm::Function &function : *out.module)
    if (!function.isDeclaration() && !function.hasLocalLinkage())
      out.exports.push_back(function.getName().str());
  return std::move(out);
}

} // namespace

llvm::Expected<std::vector<uint8_t>>
llmc::cpu::compileToSharedObject(mlir::ModuleOp module, const CpuTargetOptions &options) {
  auto lowered = lowerForTarget(module, options);
  if (!lowered)
    return lowered.takeError();
  auto object = emitMachineCode(*lowered->module, *lowered->machine,
                                llvm::CodeGenFileType::ObjectFile);
  if (!object)
    return object.takeError();
  auto bytes = linkSharedObject(*object, options);
  if (!bytes)
    return bytes.takeError();
  if (llvm::Error error = checkExports(*bytes, lowered->exports))
    return std::move(error);
  return bytes;
}

namespace {

/// A private constant holding `bytes`, aligned to `align`.
llvm::GlobalVariable *addBytes(llvm::Module &module, const std::vector<uint8_t> &bytes,
                               const char *name, uint64_t align) {
  llvm::Constant *init = llvm::ConstantDataArray::getRaw(
      llvm::StringRef(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
      bytes.size(), llvm::Type::getInt8Ty(module.getContext()));
  auto *var = new llvm::GlobalVariable(module, init->getType(), true,
                                       llvm::GlobalValue::PrivateLinkage, init, name);
  var->setAlignment(llvm::Align(align));
  return var;
}

/// Adds the kernel table of runtime/include/llmc_kernel_abi.h and its
/// getter `symbol` to the optimized module, and makes everything else
/// internal: an app may link the kernels of several models.
void addKernelTable(llvm::Module &module, const std::vector<std::string> &entries,
                    uint64_t codeId, llvm::StringRef symbol, llvm::StringRef triple,
                    llvm::StringRef features, const std::vector<uint8_t> &record) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx), *i64 = llvm::Type::getInt64Ty(ctx);
  auto string = [&](llvm::StringRef text) -> llvm::Constant * {
    llvm::Constant *init = llvm::ConstantDataArray::getString(ctx, text);
    return new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                    llvm::GlobalValue::PrivateLinkage, init, "llmc.str");
  };
  std::vector<llvm::Constant *> names, fns;
  for (const std::string &entry : entries) {
    llvm::Function *fn = module.getFunction(entry);
    names.push_back(string(entry));
    fns.push_back(fn);
  }
  auto *arrayTy = llvm::ArrayType::get(ptr, entries.size());
  auto array = [&](std::vector<llvm::Constant *> &items, const char *name) {
    return new llvm::GlobalVariable(module, arrayTy, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(arrayTy, items), name);
  };
  // The record's bytes are little-endian already; 8-aligned for its uint64s.
  llvm::GlobalVariable *recordVar = addBytes(module, record, "llmc.record", 8);
  auto *tableTy = llvm::StructType::get(ctx, {i32, i32, ptr, ptr, i64, ptr, ptr, ptr});
  llvm::Constant *table = llvm::ConstantStruct::get(
      tableTy, {llvm::ConstantInt::get(i32, 2 /* LLMC_KERNEL_TABLE_VERSION */),
                llvm::ConstantInt::get(i32, entries.size()), array(names, "llmc.names"),
                array(fns, "llmc.kernels"), llvm::ConstantInt::get(i64, codeId),
                string(triple), string(features), recordVar});
  auto *tableVar = new llvm::GlobalVariable(module, tableTy, true,
                                           llvm::GlobalValue::PrivateLinkage, table,
                                           "llmc.table");
  for (llvm::Function &f : module)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  auto *getter = llvm::Function::Create(llvm::FunctionType::get(ptr, false),
                                        llvm::GlobalValue::ExternalLinkage, symbol, module);
  getter->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::ReturnInst::Create(ctx, tableVar, llvm::BasicBlock::Create(ctx, "entry", getter));
}

/// `<symbol>_artifact(size_t *size)`: the artifact's bytes, 4096-aligned in
/// read-only data.
void addArtifact(llvm::Module &module, llvm::StringRef symbol,
                 const std::vector<uint8_t> &bytes) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *sizeTy = module.getDataLayout().getIntPtrType(ctx);
  llvm::GlobalVariable *data = addBytes(module, bytes, "llmc.artifact", 4096);
  auto *fn = llvm::Function::Create(llvm::FunctionType::get(ptr, {ptr}, false),
                                    llvm::GlobalValue::ExternalLinkage,
                                    (symbol + "_artifact").str(), module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  auto *bb = llvm::BasicBlock::Create(ctx, "entry", fn);
  new llvm::StoreInst(llvm::ConstantInt::get(sizeTy, bytes.size()), fn->getArg(0), bb);
  llvm::ReturnInst::Create(ctx, data, bb);
}

} // namespace

llvm::Expected<llmc::targets::Library>
llmc::cpu::compileToLibrary(mlir::ModuleOp module, const CpuTargetOptions &options,
                            const targets::LibraryOptions &libraryOptions) {
  auto lowered = lowerForTarget(module, options);
  if (!lowered)
    return lowered.takeError();
  llmc::targets::Library library;
  bool host = options.triple.empty();
  library.triple = host ? llvm::sys::getDefaultTargetTriple() : options.triple;
  library.features = host ? hostFeatureString() : options.features;
  {
    // The id of the code: the optimized IR, which holds the triple, the CPU
    // and its features. The same build gives the same id.
    std::string text;
    llvm::raw_string_ostream os(text);
    lowered->module->print(os, nullptr);
    os.flush();
    library.codeId = llvm::xxh3_64bits(llvm::StringRef(text));
  }
  addKernelTable(*lowered->module, lowered->exports, library.codeId, libraryOptions.symbol,
                 library.triple, library.features, libraryOptions.codeRecord);
  if (libraryOptions.embed) {
    auto bytes = libraryOptions.embed(library);
    if (!bytes)
      return bytes.takeError();
    if (!bytes->empty())
      addArtifact(*lowered->module, libraryOptions.symbol, *bytes);
  }
  {
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(*lowered->module, &os))
      return makeError("the kernel table does not verify:\n" + problems);
  }
  auto object = emitMachineCode(*lowered->module, *lowered->machine,
                                llvm::CodeGenFileType::ObjectFile);
  if (!object)
    return object.takeError();
  std::vector<uint8_t> objectBytes(object->begin(), object->end());
  auto imports = importedSymbols(objectBytes);
  if (!imports)
    return imports.takeError();
  if (!imports->empty())
    return makeError("the kernels call " + llvm::join(*imports, ", ") +
                     ", which the library does not carry");
  const bool apple = lowered->machine->getTargetTriple().isOSDarwin();
  if (libraryOptions.shared && apple)
    return makeError("--emit shared-lib makes ELF shared objects; on Apple platforms "
                     "use --emit static-lib");
  if (libraryOptions.shared) {
    auto bytes = linkSharedObject(*object, options, libraryOptions.soname);
    if (!bytes)
      return bytes.takeError();
    if (llvm::Error error = checkExports(*bytes, {libraryOptions.symbol}))
      return std::move(error);
    library.bytes = std::move(*bytes);
    return std::move(library);
  }
  // One member; a GNU (Apple: BSD-Darwin) archive with a symbol table,
  // deterministic (no timestamps), as ar rcsD would write it.
  std::string memberName = libraryOptions.symbol + ".o";
  auto buffer = llvm::MemoryBuffer::getMemBuffer(llvm::StringRef(object->data(), object->size()),
                                                 memberName, false);
  std::vector<llvm::NewArchiveMember> members;
  members.emplace_back(buffer->getMemBufferRef());
  members.back().MemberName = memberName;
  auto archive = llvm::writeArchiveToBuffer(
      members, llvm::SymtabWritingMode::NormalSymtab,
      apple ? llvm::object::Archive::K_DARWIN : llvm::object::Archive::K_GNU,
      /*Deterministic=*/true, /*Thin=*/false);
  if (!archive)
    return makeError("writing the archive failed: " + llvm::toString(archive.takeError()));
  library.bytes.assign((*archive)->getBufferStart(), (*archive)->getBufferEnd());
  return std::move(library);
}

llvm::Expected<std::string> llmc::cpu::emitLLVMIR(mlir::ModuleOp module,
                                                  const CpuTargetOptions &options) {
  auto lowered = lowerForTarget(module, options);
  if (!lowered)
    return lowered.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  lowered->module->print(os, nullptr);
  os.flush();
  return text;
}

llvm::Expected<std::string> llmc::cpu::emitAssembly(mlir::ModuleOp module,
                                                    const CpuTargetOptions &options) {
  auto lowered = lowerForTarget(module, options);
  if (!lowered)
    return lowered.takeError();
  auto text = emitMachineCode(*lowered->module, *lowered->machine,
                              llvm::CodeGenFileType::AssemblyFile);
  if (!text)
    return text.takeError();
  return std::string(text->str());
}

std::string llmc::cpu::hostFeatureString() {
  std::vector<std::string> names;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      names.push_back(f.first().str());
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto &n : names)
    out += (out.empty() ? "+" : ",+") + n;
  return out;
}

namespace {

class CpuBackend final : public llmc::targets::Target {
public:
  explicit CpuBackend(const llmc::targets::TargetPreset &preset) : preset_(preset) {
    options_.triple = preset.triple;
    options_.cpu = preset.cpu;
    options_.features = preset.features;
  }
  const llmc::targets::TargetPreset &preset() const override { return preset_; }
  // 8 lanes with 4 accumulators: one AVX2 register or two NEON ones, enough
  // chains to hide the FMA latency. Wider vectors for AVX-512 and per-core
  // choices belong to the CPU speed work, measured, not assumed.
  // Integer weights go through the int8 microkernels (ukernels/ukernels.c).
  llmc::targets::KernelStrategy kernelStrategy() const override {
    return {8, 4, /*int8Dot=*/true};
  }
  std::string kernelEntry(llvm::StringRef kernel) const override {
    return kernelEntrySymbol(kernel);
  }
  llvm::Expected<llmc::targets::Executable> compile(mlir::ModuleOp module) override {
    auto bytes = compileToSharedObject(module, options_);
    if (!bytes)
      return bytes.takeError();
    // A payload carries everything it calls but libc's memory functions: an
    // app that links no libm (or an iOS app with no dynamic loading) must
    // run it.
    auto imports = importedSymbols(*bytes);
    if (!imports)
      return imports.takeError();
    if (!imports->empty())
      return makeError("the kernels call " + llvm::join(*imports, ", ") +
                       ", which the payload does not carry (a math function "
                       "without an expansion in targets/cpu/CpuPipeline.cpp?)");
    llmc::targets::Executable exe;
    exe.format = "elf-shared-object";
    bool host = options_.triple.empty();
    exe.triple = host ? llvm::sys::getDefaultTargetTriple() : options_.triple;
    exe.features = host ? hostFeatureString() : options_.features;
    exe.bytes = std::move(*bytes);
    return std::move(exe);
  }
  llvm::Expected<std::string> emitText(mlir::ModuleOp module) override {
    return emitLLVMIR(module, options_);
  }
  llvm::Expected<llmc::targets::Library>
  compileLibrary(mlir::ModuleOp module,
                 const llmc::targets::LibraryOptions &options) override {
    return compileToLibrary(module, options_, options);
  }

private:
  const llmc::targets::TargetPreset &preset_;
  CpuTargetOptions options_;
};

} // namespace

std::unique_ptr<llmc::targets::Target>
llmc::cpu::createCpuTarget(const llmc::targets::TargetPreset &preset) {
  return std::make_unique<CpuBackend>(preset);
}
