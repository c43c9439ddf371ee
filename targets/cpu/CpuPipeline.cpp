//===- CpuPipeline.cpp - kernel level -> LLVM dialect ----------------------===//
//
// The MLIR half of the CPU back end: the pass pipeline that lowers the kernel
// level (func/scf/arith/math/memref/vector/cf on memrefs) to the LLVM dialect,
// its registration for llmc-opt, and the dialects it needs.
//
//===----------------------------------------------------------------------===//

#include "targets/cpu/CpuTarget.h"

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

/// Gives every function with a body other than the entry point internal
/// linkage (`llvm.linkage = #llvm.linkage<internal>`, which
/// convert-func-to-llvm carries over), so the shared object exports
/// `llmc_forward` only and LLVM may inline and drop the kernels. External
/// declarations (libm functions) are left alone.
struct InternalizeKernelsPass
    : public PassWrapper<InternalizeKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InternalizeKernelsPass)

  StringRef getArgument() const final { return "llmc-cpu-internalize-kernels"; }
  StringRef getDescription() const final {
    return "Give every function but llmc_forward internal linkage";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<LLVM::LLVMDialect>();
  }

  void runOnOperation() override {
    auto internal = LLVM::LinkageAttr::get(&getContext(), LLVM::Linkage::Internal);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.getSymName() == llmc::cpu::kEntryPointName)
        continue;
      func->setAttr("llvm.linkage", internal);
    }
  }
};

} // namespace

void llmc::cpu::buildKernelToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(std::make_unique<InternalizeKernelsPass>());
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
}

void llmc::cpu::registerCpuTargetPipelines() {
  static PassPipelineRegistration<> pipeline(
      "llmc-kernel-to-llvm",
      "Lower the kernel level (func/scf/arith/math/memref/vector/cf) to the "
      "LLVM dialect with the bare-pointer calling convention",
      [](OpPassManager &pm) { buildKernelToLLVMPipeline(pm); });
  (void)pipeline;
}

void llmc::cpu::registerCpuTargetDialects(DialectRegistry &registry) {
  registry.insert<affine::AffineDialect, arith::ArithDialect,
                  cf::ControlFlowDialect, func::FuncDialect,
                  index::IndexDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, ub::UBDialect,
                  vector::VectorDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}
