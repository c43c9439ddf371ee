//===- CpuPipeline.cpp - dispatch level -> LLVM dialect -------------------===//
//
// The MLIR half of the CPU back end: the pass pipeline that lowers the kernel
// level (func/scf/arith/math/memref/vector/cf on memrefs) to the LLVM dialect,
// its registration for llmc-opt, and the dialects it needs.
//
//===----------------------------------------------------------------------===//

#include "targets/cpu/CpuTarget.h"

#include "dialects/llm/LLMDialect.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

using namespace mlir;

namespace {

/// Name of the discardable attribute that marks, between the two passes
/// below, the functions a dispatch launches.
constexpr llvm::StringLiteral kExportAttr = "llmc.cpu.kernel";

/// Takes the dispatch level apart for the CPU: the functions `llm.dispatch`
/// launches are marked for export, the `llm.schedule` and the `llm.weight`
/// table are dropped (the runtime walks the schedule from the artifact, the
/// packager writes the weights), and every private function gets
/// internal linkage (`llvm.linkage`, which convert-func-to-llvm carries
/// over) so LLVM may inline and drop it. Public functions with a body stay
/// exported as they are; external declarations (libm) are left alone.
struct PrepareKernelsPass
    : public PassWrapper<PrepareKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PrepareKernelsPass)

  StringRef getArgument() const final { return "llmc-cpu-prepare-kernels"; }
  StringRef getDescription() const final {
    return "Mark dispatched kernels for export, drop the llm.schedule, "
           "internalize private functions";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<LLVM::LLVMDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto schedule :
         llvm::make_early_inc_range(module.getOps<llmc::llm::ScheduleOp>())) {
      for (auto dispatch : schedule.getOps<llmc::llm::DispatchOp>()) {
        auto fn = module.lookupSymbol<func::FuncOp>(dispatch.getKernel());
        if (!fn || fn.isExternal()) {
          dispatch.emitOpError() << "launches " << dispatch.getKernelAttr()
                                 << ", which is not a function with a body";
          return signalPassFailure();
        }
        fn->setAttr(kExportAttr, UnitAttr::get(&getContext()));
      }
      schedule.erase();
    }
    // The weight table is data for the packager, not code.
    for (auto w : llvm::make_early_inc_range(module.getOps<llmc::llm::WeightOp>()))
      w.erase();
    auto internal = LLVM::LinkageAttr::get(&getContext(), LLVM::Linkage::Internal);
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && func.isPrivate())
        func->setAttr("llvm.linkage", internal);
  }
};

/// Gives every kernel a dispatch launches the uniform C entry point of
/// runtime/include/llmc_kernel_abi.h,
///   void llmc_<kernel>(void *const *bindings, const int64_t *scalars,
///                      int64_t begin, int64_t end),
/// which loads the kernel's bare-pointer arguments from the two arrays and
/// calls it. A runtime (and its thread pool) can then launch any kernel
/// without knowing its arity.
struct ExportKernelsPass
    : public PassWrapper<ExportKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExportKernelsPass)

  StringRef getArgument() const final { return "llmc-cpu-export-kernels"; }
  StringRef getDescription() const final {
    return "Add the uniform C entry point of every dispatched kernel";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<LLVM::LLVMFuncOp> kernels;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn->hasAttr(kExportAttr))
        kernels.push_back(fn);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    OpBuilder b(ctx);
    for (LLVM::LLVMFuncOp kernel : kernels) {
      kernel->removeAttr(kExportAttr);
      Location loc = kernel.getLoc();
      LLVM::LLVMFunctionType type = kernel.getFunctionType();
      unsigned n = type.getNumParams();
      if (n < 2 || type.getParamType(n - 1) != i64 ||
          type.getParamType(n - 2) != i64) {
        kernel.emitOpError() << "is not a kernel (..., begin, end)";
        return signalPassFailure();
      }
      b.setInsertionPointAfter(kernel);
      auto entry = b.create<LLVM::LLVMFuncOp>(
          loc, llmc::cpu::kernelEntrySymbol(kernel.getSymName()),
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                      {ptr, ptr, i64, i64}));
      Block *block = entry.addEntryBlock(b);
      b.setInsertionPointToStart(block);
      Value bindings = block->getArgument(0), scalars = block->getArgument(1);
      SmallVector<Value> args;
      int32_t nb = 0, ns = 0;
      for (unsigned i = 0; i + 2 < n; ++i) {
        Type t = type.getParamType(i);
        bool isPtr = isa<LLVM::LLVMPointerType>(t);
        if (!isPtr && t != i64) {
          kernel.emitOpError() << "argument #" << i << " of type " << t
                               << " is neither a buffer nor an index";
          return signalPassFailure();
        }
        Value slot = b.create<LLVM::GEPOp>(
            loc, ptr, t, isPtr ? bindings : scalars,
            ArrayRef<LLVM::GEPArg>{isPtr ? nb++ : ns++});
        args.push_back(b.create<LLVM::LoadOp>(loc, t, slot));
      }
      args.push_back(block->getArgument(2));
      args.push_back(block->getArgument(3));
      b.create<LLVM::CallOp>(loc, kernel, args);
      b.create<LLVM::ReturnOp>(loc, ValueRange{});
    }
  }
};

} // namespace

std::string llmc::cpu::kernelEntrySymbol(llvm::StringRef kernel) {
  return ("llmc_" + kernel).str();
}

void llmc::cpu::buildKernelToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(std::make_unique<PrepareKernelsPass>());
  // n-D transfers become loops of 1-D ones (1-D ones are left to
  // convert-vector-to-llvm, which handles masks and out-of-bounds reads).
  pm.addPass(createConvertVectorToSCFPass());
  // subview/view/reinterpret_cast -> explicit offset/stride arithmetic
  // (creates affine.apply, hence lower-affine after it).
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());

  ConvertVectorToLLVMPassOptions vectorOptions;
  // Let vector.reduction <add> be a tree reduction rather than a sequential
  // chain (the kernels accumulate in lanes anyway).
  vectorOptions.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  // exp/log/sqrt/rsqrt/pow/sin/cos/fma... -> LLVM intrinsics (which LLVM
  // turns into instructions or libm calls); what is left (tanh, erf, ...)
  // becomes libm calls.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  // memref<NxT> arguments become plain `T *` (static shapes only): the entry
  // point is callable from C without building memref descriptors.
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(std::make_unique<ExportKernelsPass>());
}

void llmc::cpu::registerCpuTargetPipelines() {
  static PassPipelineRegistration<> pipeline(
      "llmc-kernel-to-llvm",
      "Lower the dispatch level (kernels in func/scf/arith/math/memref/vector) to the "
      "LLVM dialect with the bare-pointer calling convention",
      [](OpPassManager &pm) { buildKernelToLLVMPipeline(pm); });
  (void)pipeline;
}

void llmc::cpu::registerCpuTargetDialects(DialectRegistry &registry) {
  registry.insert<llmc::llm::LLMDialect, affine::AffineDialect,
                  arith::ArithDialect,
                  cf::ControlFlowDialect, func::FuncDialect,
                  index::IndexDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, ub::UBDialect,
                  vector::VectorDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}
