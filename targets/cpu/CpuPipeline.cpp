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
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

using namespace mlir;

#include <cmath>

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

/// A constant of `type` from a scalar: itself, or its splat for a vector
/// type (the math expansions below build both).
Value splat(OpBuilder &b, Location loc, Type type, TypedAttr scalar) {
  Attribute a = scalar;
  if (auto v = dyn_cast<VectorType>(type))
    a = DenseElementsAttr::get(v, ArrayRef<Attribute>{scalar});
  return b.create<arith::ConstantOp>(loc, type, cast<TypedAttr>(a));
}

/// math.exp on f32 (scalars and vectors) as arithmetic: Cody-Waite range
/// reduction x = n ln2 + r, a degree-6 polynomial for e^r (Cephes' expf
/// coefficients, ~1 ulp), and 2^n built in the exponent bits. LLVM lowers
/// exp to a scalar libm call even inside a vector loop: the softmax of
/// attention and SiLU's sigmoid take one per element, which was about a
/// tenth of a 512-token prefill. As arithmetic it vectorizes and needs no
/// libm. Below -88.38 the result is 0 (exp(-inf) = 0 for masked scores),
/// above +88.38 it is +inf, NaN stays NaN.
struct ExpandExpPass
    : public PassWrapper<ExpandExpPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandExpPass)

  StringRef getArgument() const final { return "llmc-cpu-expand-exp"; }
  StringRef getDescription() const final {
    return "Expand f32 math.exp into a polynomial (vectorizable, no libm)";
  }

  void runOnOperation() override {
    SmallVector<math::ExpOp> exps;
    getOperation().walk([&](math::ExpOp op) {
      if (getElementTypeOrSelf(op.getType()).isF32())
        exps.push_back(op);
    });
    for (math::ExpOp op : exps)
      expand(op);
  }

  static void expand(math::ExpOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type type = op.getType();
    Type i32 = b.getI32Type();
    Type intType = i32;
    if (auto v = dyn_cast<VectorType>(type))
      intType = VectorType::get(v.getShape(), i32);
    auto f = [&](double c) { return splat(b, loc, type, b.getF32FloatAttr(c)); };
    auto i = [&](int64_t c) { return splat(b, loc, intType, b.getI32IntegerAttr(c)); };
    auto add = [&](Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y).getResult(); };
    auto mul = [&](Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y).getResult(); };
    // x * y + z, fused where the CPU has FMA (the `contract` flags), a
    // multiply and an add where it has not: math.fma would be a libm call
    // there, which a payload must not make.
    auto contract = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
    auto fma = [&](Value x, Value y, Value z) {
      Value p = b.create<arith::MulFOp>(loc, x, y, contract);
      return b.create<arith::AddFOp>(loc, p, z, contract).getResult();
    };
    auto cmp = [&](arith::CmpFPredicate p, Value x, Value y) {
      return b.create<arith::CmpFOp>(loc, p, x, y).getResult();
    };
    const double kMax = 88.3762626647949;
    Value x0 = op.getOperand();
    Value x = b.create<arith::MinimumFOp>(
        loc, b.create<arith::MaximumFOp>(loc, x0, f(-kMax)), f(kMax));
    // n = round(x / ln2), half away from zero, without a libm call.
    Value t = mul(x, f(1.44269504088896341));
    Value half = b.create<arith::SelectOp>(
        loc, cmp(arith::CmpFPredicate::OLT, t, f(0)), f(-0.5), f(0.5));
    Value n = b.create<arith::FPToSIOp>(loc, intType, add(t, half));
    Value nf = b.create<arith::SIToFPOp>(loc, type, n);
    Value r = fma(nf, f(-0.693359375), x);
    r = fma(nf, f(2.12194440e-4), r);
    Value p = f(1.9875691500e-4);
    for (double c : {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                     1.6666665459e-1, 5.0000001201e-1})
      p = fma(p, r, f(c));
    Value y = add(fma(p, mul(r, r), r), f(1.0));
    // 2^n: n + 127 in the exponent field (n >= -127 after the clamp; the
    // cases that would leave the normal range are selected away below).
    Value bits = b.create<arith::ShLIOp>(
        loc, b.create<arith::AddIOp>(loc, n, i(127)), i(23));
    y = mul(y, b.create<arith::BitcastOp>(loc, type, bits));
    y = b.create<arith::SelectOp>(loc, cmp(arith::CmpFPredicate::OLT, x0, f(-kMax)),
                                  f(0), y);
    y = b.create<arith::SelectOp>(loc, cmp(arith::CmpFPredicate::OGT, x0, f(kMax)),
                                  f(INFINITY), y);
    y = b.create<arith::SelectOp>(loc, cmp(arith::CmpFPredicate::UNO, x0, x0), x0, y);
    op.replaceAllUsesWith(y);
    op.erase();
  }
};

/// math.sin / math.cos on f32 (scalars and vectors) as arithmetic, so a
/// payload imports nothing from libm (RoPE's angles were the only `sincosf`
/// calls; an app that does not link libm could not load such a payload).
/// The angle is reduced in f64: k = round(x * 2/pi), r = x - k * pi/2 with
/// pi/2 in two parts, which is exact to ~1e-10 for any |x| below 2^31 (a
/// position times an inverse frequency); then Cephes' sinf / cosf
/// polynomials on |r| <= pi/4 (~1 ulp) and the quadrant of k pick and sign
/// the result. |x| >= 2^31 or NaN gives NaN. No fma: on a CPU without it
/// that would be a libm call again.
struct ExpandSinCosPass
    : public PassWrapper<ExpandSinCosPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandSinCosPass)

  StringRef getArgument() const final { return "llmc-cpu-expand-sincos"; }
  StringRef getDescription() const final {
    return "Expand f32 math.sin and math.cos into arithmetic (no libm)";
  }

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<math::SinOp, math::CosOp>(op) &&
          getElementTypeOrSelf(op->getResult(0).getType()).isF32())
        ops.push_back(op);
    });
    for (Operation *op : ops)
      expand(op, isa<math::SinOp>(op));
  }

  static void expand(Operation *op, bool isSin) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Type type = op->getResult(0).getType();
    auto like = [&](Type element) -> Type {
      if (auto v = dyn_cast<VectorType>(type))
        return VectorType::get(v.getShape(), element);
      return element;
    };
    Type f64 = like(b.getF64Type()), i64 = like(b.getI64Type()), i32 = like(b.getI32Type());
    auto f = [&](double c) { return splat(b, loc, type, b.getF32FloatAttr(c)); };
    auto d = [&](double c) { return splat(b, loc, f64, b.getF64FloatAttr(c)); };
    auto i = [&](int64_t c) { return splat(b, loc, i32, b.getI32IntegerAttr(c)); };
    auto add = [&](Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y).getResult(); };
    auto mul = [&](Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y).getResult(); };
    auto select = [&](Value c, Value x, Value y) {
      return b.create<arith::SelectOp>(loc, c, x, y).getResult();
    };
    auto bit = [&](Value q, int64_t mask) {
      Value m = b.create<arith::AndIOp>(loc, q, i(mask));
      return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, m, i(0)).getResult();
    };
    Value x = op->getOperand(0);
    Value xd = b.create<arith::ExtFOp>(loc, f64, x);
    // k = round(x * 2/pi), half away from zero, without a libm call.
    Value t = mul(xd, d(0.63661977236758134308));
    Value half = select(b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, t, d(0)),
                        d(-0.5), d(0.5));
    Value k = b.create<arith::FPToSIOp>(loc, i64, add(t, half));
    Value kd = b.create<arith::SIToFPOp>(loc, f64, k);
    Value rd = add(add(xd, mul(kd, d(-1.5707963267948966))), mul(kd, d(-6.123233995736766e-17)));
    Value r = b.create<arith::TruncFOp>(loc, type, rd);
    Value z = mul(r, r);
    // Cephes sinf / cosf on [-pi/4, pi/4].
    Value sp = add(mul(add(mul(f(-1.9515295891e-4), z), f(8.3321608736e-3)), z),
                   f(-1.6666654611e-1));
    Value sinR = add(mul(mul(sp, z), r), r);
    Value cp = add(mul(add(mul(f(2.443315711809948e-5), z), f(-1.388731625493765e-3)), z),
                   f(4.166664568298827e-2));
    Value cosR = add(add(mul(mul(cp, z), z), mul(f(-0.5), z)), f(1.0));
    // Quadrant q = k mod 4: sin is (s, c, -s, -c), cos (c, -s, -c, s).
    Value q = b.create<arith::TruncIOp>(loc, i32, k);
    Value swap = bit(q, 1);
    Value v = isSin ? select(swap, cosR, sinR) : select(swap, sinR, cosR);
    Value negate = isSin ? bit(q, 2) : bit(b.create<arith::AddIOp>(loc, q, i(1)), 2);
    v = select(negate, b.create<arith::NegFOp>(loc, v), v);
    Value inRange = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT,
                                            b.create<math::AbsFOp>(loc, x), f(2147483648.0));
    v = select(inRange, v, f(NAN));
    op->getResult(0).replaceAllUsesWith(v);
    op->erase();
  }
};

/// math.roundeven on f32 (the q8 KV cache's quantization) as arithmetic:
/// adding and subtracting 2^23 to |x| rounds it to the nearest integer, ties
/// to even; the sign comes back with copysign, and |x| >= 2^23 (already an
/// integer) or NaN stays x. Without SSE4.1 (an SSE2-only x86-64 CPU) LLVM
/// would call libm's roundevenf.
struct ExpandRoundEvenPass
    : public PassWrapper<ExpandRoundEvenPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandRoundEvenPass)

  StringRef getArgument() const final { return "llmc-cpu-expand-roundeven"; }
  StringRef getDescription() const final {
    return "Expand f32 math.roundeven into arithmetic (no libm)";
  }

  void runOnOperation() override {
    SmallVector<math::RoundEvenOp> ops;
    getOperation().walk([&](math::RoundEvenOp op) {
      if (getElementTypeOrSelf(op.getType()).isF32())
        ops.push_back(op);
    });
    for (math::RoundEvenOp op : ops) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Type type = op.getType();
      Value two23 = splat(b, loc, type, b.getF32FloatAttr(8388608.0f));
      Value x = op.getOperand();
      Value ax = b.create<math::AbsFOp>(loc, x);
      Value r = b.create<arith::SubFOp>(loc, b.create<arith::AddFOp>(loc, ax, two23), two23);
      r = b.create<math::CopySignOp>(loc, r, x);
      Value keep = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UGE, ax, two23);
      op.replaceAllUsesWith(b.create<arith::SelectOp>(loc, keep, x, r).getResult());
      op.erase();
    }
  }
};

/// f16 <-> f32 conversions (arith.extf / arith.truncf: the f16 KV cache,
/// f16 scales on the float-activation kernels) as integer arithmetic, for
/// x86-64 CPUs without F16C, where LLVM would call compiler-rt's
/// __extendhfsf2 / __truncsfhf2, which a payload does not carry. Exact:
/// extf widens every f16 (subnormals through an integer-to-float convert,
/// inf and NaN kept), truncf rounds to nearest even (ties to even,
/// overflow to inf, subnormal results by a float add whose rounding is the
/// one wanted, NaN to a quiet NaN).
struct ExpandHalfPass
    : public PassWrapper<ExpandHalfPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandHalfPass)

  StringRef getArgument() const final { return "llmc-cpu-expand-f16"; }
  StringRef getDescription() const final {
    return "Expand f16 <-> f32 conversions into integer arithmetic (no F16C, "
           "no compiler-rt)";
  }

  static Type like(Type type, Type element) {
    if (auto v = dyn_cast<VectorType>(type))
      return VectorType::get(v.getShape(), element);
    return element;
  }

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (auto e = dyn_cast<arith::ExtFOp>(op)) {
        if (getElementTypeOrSelf(e.getIn().getType()).isF16() &&
            getElementTypeOrSelf(e.getType()).isF32())
          ops.push_back(op);
      } else if (auto t = dyn_cast<arith::TruncFOp>(op)) {
        if (getElementTypeOrSelf(t.getIn().getType()).isF32() &&
            getElementTypeOrSelf(t.getType()).isF16() && !t.getRoundingmodeAttr())
          ops.push_back(op);
      }
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      Type src = op->getOperand(0).getType();
      Type i16 = like(src, b.getI16Type()), i32 = like(src, b.getI32Type());
      Type f32 = like(src, b.getF32Type()), f16 = like(src, b.getF16Type());
      auto c = [&](uint32_t v) { return splat(b, loc, i32, b.getI32IntegerAttr(int32_t(v))); };
      auto cf = [&](float v) { return splat(b, loc, f32, b.getF32FloatAttr(v)); };
      auto band = [&](Value x, uint32_t m) { return b.create<arith::AndIOp>(loc, x, c(m)).getResult(); };
      auto shl = [&](Value x, uint32_t n) { return b.create<arith::ShLIOp>(loc, x, c(n)).getResult(); };
      auto shr = [&](Value x, uint32_t n) { return b.create<arith::ShRUIOp>(loc, x, c(n)).getResult(); };
      auto add = [&](Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y).getResult(); };
      auto cmp = [&](arith::CmpIPredicate p, Value x, uint32_t v) {
        return b.create<arith::CmpIOp>(loc, p, x, c(v)).getResult();
      };
      auto sel = [&](Value k, Value x, Value y) { return b.create<arith::SelectOp>(loc, k, x, y).getResult(); };
      auto asF = [&](Value x) { return b.create<arith::BitcastOp>(loc, f32, x).getResult(); };
      auto asI = [&](Value x) { return b.create<arith::BitcastOp>(loc, i32, x).getResult(); };
      Value result;
      if (isa<arith::ExtFOp>(op)) {
        Value w = b.create<arith::ExtUIOp>(
            loc, i32, b.create<arith::BitcastOp>(loc, i16, op->getOperand(0)));
        Value sign = shl(band(w, 0x8000), 16), em = band(w, 0x7fff);
        // Normal: rebias the exponent (112 = 127 - 15); subnormal: the
        // mantissa times 2^-24; inf / NaN: all-ones exponent, mantissa kept.
        Value normal = shl(add(em, c(112u << 10)), 13);
        Value sub = asI(b.create<arith::MulFOp>(
            loc, b.create<arith::UIToFPOp>(loc, f32, em), cf(5.9604644775390625e-8f)));
        Value special = b.create<arith::OrIOp>(loc, c(0x7f800000), shl(band(em, 0x3ff), 13));
        Value bits = sel(cmp(arith::CmpIPredicate::ult, em, 0x400), sub,
                         sel(cmp(arith::CmpIPredicate::uge, em, 0x7c00), special, normal));
        result = asF(b.create<arith::OrIOp>(loc, bits, sign));
      } else {
        Value x = asI(op->getOperand(0));
        Value sign = band(x, 0x80000000u), a = band(x, 0x7fffffff);
        // |x| >= 65536: inf, or a quiet NaN.
        Value big = sel(cmp(arith::CmpIPredicate::ugt, a, 0x7f800000), c(0x7e00), c(0x7c00));
        // Below 2^-14 (an f16 subnormal or zero): adding 0.5 puts the f16
        // mantissa in the low bits, rounded to nearest even by the add.
        Value tiny = b.create<arith::SubIOp>(
            loc, asI(b.create<arith::AddFOp>(loc, asF(a), cf(0.5f))), c(0x3f000000));
        // Normal: rebias, then round the 13 dropped bits to nearest even
        // (a carry into the exponent is the right result, up to inf).
        Value odd = band(shr(a, 13), 1);
        Value normal = shr(add(add(a, c(0xc8000fffu)), odd), 13); // -(112 << 23) + 0xfff
        Value h = sel(cmp(arith::CmpIPredicate::uge, a, 0x47800000), big,
                      sel(cmp(arith::CmpIPredicate::ult, a, 0x38800000), tiny, normal));
        h = b.create<arith::OrIOp>(loc, h, shr(sign, 16));
        result = b.create<arith::BitcastOp>(loc, f16, b.create<arith::TruncIOp>(loc, i16, h));
      }
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }
  }
};

} // namespace

std::string llmc::cpu::kernelEntrySymbol(llvm::StringRef kernel) {
  return ("llmc_" + kernel).str();
}

void llmc::cpu::buildKernelToLLVMPipeline(OpPassManager &pm, bool expandHalf) {
  pm.addPass(std::make_unique<PrepareKernelsPass>());
  if (expandHalf)
    pm.addPass(std::make_unique<ExpandHalfPass>());
  pm.addPass(std::make_unique<ExpandExpPass>());
  pm.addPass(std::make_unique<ExpandSinCosPass>());
  pm.addPass(std::make_unique<ExpandRoundEvenPass>());
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
  static PassRegistration<ExpandExpPass> expandExp;
  (void)expandExp;
  static PassRegistration<ExpandHalfPass> expandHalf;
  (void)expandHalf;
  static PassRegistration<ExpandSinCosPass> expandSinCos;
  (void)expandSinCos;
  static PassRegistration<ExpandRoundEvenPass> expandRoundEven;
  (void)expandRoundEven;
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
