//===- SPIRVLowering.cpp - dispatch-level kernels as one SPIR-V module -----===//
//
// See SPIRVLowering.h for the two passes. The kernels arrive target-neutral:
// func.func over memref bindings and index scalars, a body in scf / arith /
// math / vector / memref that runs iterations [begin, end). Upstream's
// conversions do the instruction selection; what is ours is the launch
// convention (bindings, params slot, grid) and the few rewrites Vulkan's
// logical addressing model needs that upstream leaves to the producer.
//
//===----------------------------------------------------------------------===//

#include "targets/vulkan/SPIRVLowering.h"

#include "dialects/llm/LLMDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Conversion/ArithToSPIRV/ArithToSPIRV.h"
#include "mlir/Conversion/FuncToSPIRV/FuncToSPIRV.h"
#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRV.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRV.h"
#include "mlir/Conversion/MemRefToSPIRV/MemRefToSPIRV.h"
#include "mlir/Conversion/SCFToSPIRV/SCFToSPIRV.h"
#include "mlir/Conversion/VectorToSPIRV/VectorToSPIRV.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Dialect/SPIRV/Transforms/SPIRVConversion.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kTargetEnv = "spirv.target_env";

llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

MemRefType inStorage(MemRefType t, spirv::StorageClass sc) {
  return MemRefType::get(t.getShape(), t.getElementType(), t.getLayout(),
                         spirv::StorageClassAttr::get(t.getContext(), sc));
}

/// vector.load / vector.store as element accesses. Upstream lowers them to
/// a pointer bitcast from the element to the vector type, which Vulkan's
/// logical addressing forbids (spirv-val: "not a logical pointer"); typing
/// the buffers as arrays of vectors instead would need every load aligned
/// to the vector, which the quantized layouts (nibble offsets, odd scales
/// columns) do not promise. Drivers merge neighbouring element loads.
LogicalResult scalarizeVectorMemory(Operation *root) {
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    if (isa<vector::LoadOp, vector::StoreOp>(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    auto offsetIndices = [&](ValueRange indices, int64_t k) {
      SmallVector<Value> idx(indices);
      if (k)
        idx.back() = b.create<arith::AddIOp>(
            loc, idx.back(), b.create<arith::ConstantIndexOp>(loc, k));
      return idx;
    };
    if (auto ld = dyn_cast<vector::LoadOp>(op)) {
      VectorType vt = ld.getVectorType();
      if (vt.getRank() != 1 || ld.getIndices().empty())
        return ld.emitOpError("only 1-D vector loads are lowered to SPIR-V");
      Value acc = b.create<arith::ConstantOp>(loc, vt, b.getZeroAttr(vt));
      for (int64_t k = 0; k < vt.getNumElements(); ++k) {
        Value e = b.create<memref::LoadOp>(loc, ld.getBase(),
                                           offsetIndices(ld.getIndices(), k));
        acc = b.create<vector::InsertOp>(loc, e, acc, k);
      }
      ld.replaceAllUsesWith(acc);
      ld.erase();
      continue;
    }
    auto st = cast<vector::StoreOp>(op);
    VectorType vt = st.getVectorType();
    if (vt.getRank() != 1 || st.getIndices().empty())
      return st.emitOpError("only 1-D vector stores are lowered to SPIR-V");
    for (int64_t k = 0; k < vt.getNumElements(); ++k) {
      Value e = b.create<vector::ExtractOp>(loc, st.getValueToStore(), k);
      b.create<memref::StoreOp>(loc, e, st.getBase(),
                                offsetIndices(st.getIndices(), k));
    }
    st.erase();
  }
  return success();
}

/// Private arrays (memref.alloca) become Function-storage variables, which
/// SPIR-V wants in the function's first block; constant tables
/// (memref.get_global: RoPE frequencies) become such an array filled at
/// entry, since a SPIR-V variable's initializer cannot be an array literal
/// in MLIR 19's spirv dialect.
LogicalResult placePrivateArrays(gpu::GPUFuncOp fn, ModuleOp top) {
  Block &entry = fn.getBody().front();
  OpBuilder b(fn.getContext());
  SmallVector<memref::AllocaOp> allocas;
  fn.walk([&](memref::AllocaOp a) { allocas.push_back(a); });
  for (memref::AllocaOp a : allocas) {
    if (!a.getType().hasStaticShape() || a->getNumOperands())
      return a.emitOpError("a private array needs a static shape on SPIR-V");
    a.getResult().setType(inStorage(a.getType(), spirv::StorageClass::Function));
    a->moveBefore(&entry, entry.begin());
  }
  SmallVector<memref::GetGlobalOp> tables;
  fn.walk([&](memref::GetGlobalOp g) { tables.push_back(g); });
  for (memref::GetGlobalOp g : tables) {
    auto global = top.lookupSymbol<memref::GlobalOp>(g.getName());
    auto init = global ? dyn_cast_or_null<DenseElementsAttr>(
                             global.getInitialValue().value_or(Attribute()))
                       : DenseElementsAttr();
    if (!global || !global.getConstant() || !init)
      return g.emitOpError("only constant tables with an initializer are "
                           "lowered to SPIR-V");
    MemRefType t = g.getType();
    Location loc = g.getLoc();
    b.setInsertionPoint(&entry, entry.begin());
    auto copy = b.create<memref::AllocaOp>(
        loc, inStorage(t, spirv::StorageClass::Function));
    // Fill after every variable of the block (they must stay first).
    Operation *firstNonVar = nullptr;
    for (Operation &op : entry)
      if (!isa<memref::AllocaOp>(op)) {
        firstNonVar = &op;
        break;
      }
    b.setInsertionPoint(firstNonVar);
    SmallVector<int64_t> strides = computeStrides(t.getShape());
    int64_t flat = 0;
    for (Attribute v : init.getValues<Attribute>()) {
      SmallVector<Value> idx;
      for (int64_t d = 0; d < t.getRank(); ++d)
        idx.push_back(b.create<arith::ConstantIndexOp>(loc, flat / strides[d] %
                                                               t.getDimSize(d)));
      Value c = b.create<arith::ConstantOp>(loc, cast<TypedAttr>(v));
      b.create<memref::StoreOp>(loc, c, copy, idx);
      ++flat;
    }
    g.replaceAllUsesWith(copy.getResult());
    g.erase();
  }
  return success();
}

/// Positions reach floats through i64 (index -> i64 -> f32, the RoPE
/// angle); SPIR-V's index is 32 bits and Int64 is not a capability every
/// phone GPU has, so such casts go through i32, exact for positions below
/// 2^31.
LogicalResult narrowIndexCasts(gpu::GPUFuncOp fn) {
  SmallVector<arith::IndexCastOp> casts;
  fn.walk([&](arith::IndexCastOp c) {
    if (c.getType().isInteger(64))
      casts.push_back(c);
  });
  for (arith::IndexCastOp c : casts) {
    if (!c.getIn().getType().isIndex() ||
        !llvm::all_of(c->getUsers(), [](Operation *u) { return isa<arith::SIToFPOp>(u); }))
      return c.emitOpError("64-bit integers are not lowered to SPIR-V (only "
                           "index -> i64 -> float casts are narrowed)");
    OpBuilder b(c);
    Value narrow = b.create<arith::IndexCastOp>(c.getLoc(), b.getI32Type(), c.getIn());
    for (Operation *u : llvm::make_early_inc_range(c->getUsers())) {
      b.setInsertionPoint(u);
      u->replaceAllUsesWith(
          b.create<arith::SIToFPOp>(u->getLoc(), u->getResult(0).getType(), narrow));
      u->erase();
    }
    c.erase();
  }
  return success();
}

/// llm.lane_sum: the workgroup's lanes add their values. Subgroup
/// arithmetic does the bulk; the subgroups' results meet in workgroup
/// memory, because the subgroup size is the driver's choice (8 on lavapipe,
/// 64 or 128 on Adreno, 16 on Mali) and the workgroup may hold several.
/// Every lane gets the sum. The two barriers keep the scratch from being
/// overwritten by the next lane_sum before everyone has read it.
LogicalResult expandLaneSums(gpu::GPUFuncOp fn, int64_t lanes) {
  SmallVector<llmc::llm::LaneSumOp> sums;
  fn.walk([&](llmc::llm::LaneSumOp op) { sums.push_back(op); });
  if (sums.empty())
    return success();
  Block &entry = fn.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  Location floc = fn.getLoc();
  auto scratchType = MemRefType::get(
      {lanes}, b.getF32Type(), MemRefLayoutAttrInterface(),
      spirv::StorageClassAttr::get(b.getContext(), spirv::StorageClass::Workgroup));
  Value scratch = b.create<memref::AllocOp>(floc, scratchType);
  for (llmc::llm::LaneSumOp op : sums) {
    b.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value part = b.create<gpu::SubgroupReduceOp>(
        loc, op.getValue(), gpu::AllReduceOperation::ADD, /*uniform=*/false);
    // One lane per subgroup writes its result. gpu.lane_id has no SPIR-V
    // lowering in MLIR 19, and the local id does not give the lane (the
    // driver maps invocations to subgroups as it likes); OpGroupNonUniformElect
    // picks one without either.
    Value first = b.create<spirv::GroupNonUniformElectOp>(loc, spirv::Scope::Subgroup);
    Value subgroup = b.create<gpu::SubgroupIdOp>(loc, /*upper_bound=*/nullptr);
    Value subgroups = b.create<gpu::NumSubgroupsOp>(loc, /*upper_bound=*/nullptr);
    Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
    Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
    auto ifFirst = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    {
      OpBuilder tb = ifFirst.getThenBodyBuilder();
      tb.create<memref::StoreOp>(loc, part, scratch, ValueRange{subgroup});
    }
    b.create<gpu::BarrierOp>(loc);
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0.0f));
    auto loop = b.create<scf::ForOp>(
        loc, c0, subgroups, c1, ValueRange{zero},
        [&](OpBuilder &lb, Location l, Value i, ValueRange acc) {
          Value v = lb.create<memref::LoadOp>(l, scratch, ValueRange{i});
          lb.create<scf::YieldOp>(l, ValueRange{lb.create<arith::AddFOp>(l, acc[0], v)});
        });
    b.create<gpu::BarrierOp>(loc);
    op.replaceAllUsesWith(loop.getResult(0));
    op.erase();
  }
  return success();
}

/// `llmc-vulkan-outline`: see SPIRVLowering.h.
struct OutlinePass : public PassWrapper<OutlinePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OutlinePass)
  OutlinePass() = default;
  OutlinePass(const OutlinePass &other) : PassWrapper(other) {}
  explicit OutlinePass(int64_t wg) { workgroupSize = wg; }
  StringRef getArgument() const override { return "llmc-vulkan-outline"; }
  StringRef getDescription() const override {
    return "Turn the dispatched kernels into Vulkan compute entry points "
           "(gpu.func) in one gpu.module";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<gpu::GPUDialect, spirv::SPIRVDialect, scf::SCFDialect,
                    arith::ArithDialect, memref::MemRefDialect,
                    vector::VectorDialect>();
  }
  Option<int64_t> workgroupSize{
      *this, "workgroup-size",
      llvm::cl::desc("Invocations per workgroup of kernels without llm.lanes"),
      llvm::cl::init(64)};

  void runOnOperation() override {
    ModuleOp top = getOperation();
    MLIRContext *ctx = &getContext();
    auto env = top->getAttrOfType<spirv::TargetEnvAttr>(kTargetEnv);
    if (!env) {
      top.emitError("llmc-vulkan-outline needs a `spirv.target_env` on the module");
      return signalPassFailure();
    }
    top->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
    OpBuilder b = OpBuilder::atBlockEnd(top.getBody());
    auto gpuModule = b.create<gpu::GPUModuleOp>(top.getLoc(), "llmc_kernels");
    gpuModule->setAttr(kTargetEnv, env);

    llvm::StringSet<> done;
    SmallVector<func::FuncOp> outlined;
    for (auto schedule : top.getOps<llmc::llm::ScheduleOp>())
      for (auto d : schedule.getOps<llmc::llm::DispatchOp>()) {
        StringRef name = d.getKernel();
        if (!done.insert(name).second)
          continue;
        auto fn = top.lookupSymbol<func::FuncOp>(name);
        if (!fn || fn.isExternal()) {
          d.emitOpError() << "kernel '" << name << "' has no body";
          return signalPassFailure();
        }
        if (failed(outline(fn, d.getBindings().size(), d.getScalars().size(),
                           gpuModule, top)))
          return signalPassFailure();
        outlined.push_back(fn);
      }
    // The schedule stays with the build (it goes into the artifact as
    // data); what is left here is code only.
    for (auto schedule : llvm::make_early_inc_range(top.getOps<llmc::llm::ScheduleOp>()))
      schedule.erase();
    for (func::FuncOp fn : outlined)
      fn.erase();
    for (auto g : llvm::make_early_inc_range(top.getOps<memref::GlobalOp>()))
      g.erase();
  }

  LogicalResult outline(func::FuncOp fn, size_t numBindings, size_t numScalars,
                        gpu::GPUModuleOp gpuModule, ModuleOp top) {
    MLIRContext *ctx = fn.getContext();
    if (fn.getNumArguments() != numBindings + numScalars + 2)
      return fn.emitOpError("does not match its dispatch: ")
             << numBindings << " bindings, " << numScalars
             << " scalars and the iteration range expected";
    if (!fn.getBody().hasOneBlock())
      return fn.emitOpError("has more than one block");
    int64_t wg = workgroupSize;
    if (auto a = fn->getAttrOfType<IntegerAttr>("llm.lanes"))
      wg = a.getInt();
    if (wg < 1 || wg > 1024)
      return fn.emitOpError("workgroup of ") << wg << " invocations (1 to 1024)";
    if (failed(scalarizeVectorMemory(fn)))
      return failure();

    // Bindings 0..n-1 as the kernel's memrefs, binding n the params slot:
    // the scalars, then the grid, as i32 (SPIR-V's index is 32 bits; the
    // runtime refuses values that do not fit).
    SmallVector<Type> argTypes;
    for (size_t i = 0; i < numBindings; ++i) {
      auto m = dyn_cast<MemRefType>(fn.getArgumentTypes()[i]);
      if (!m || !m.hasStaticShape() || !m.getLayout().isIdentity())
        return fn.emitOpError("binding #") << i << " is not a static, dense memref";
      argTypes.push_back(inStorage(m, spirv::StorageClass::StorageBuffer));
    }
    for (size_t i = numBindings; i < fn.getNumArguments(); ++i)
      if (!fn.getArgumentTypes()[i].isIndex())
        return fn.emitOpError("argument #") << i << " is not an index";
    auto paramsType =
        inStorage(MemRefType::get({int64_t(numScalars) + 1}, IntegerType::get(ctx, 32)),
                  spirv::StorageClass::StorageBuffer);
    argTypes.push_back(paramsType);

    OpBuilder b = OpBuilder::atBlockEnd(gpuModule.getBody());
    if (!gpuModule.getBody()->empty() &&
        gpuModule.getBody()->back().hasTrait<OpTrait::IsTerminator>())
      b.setInsertionPoint(&gpuModule.getBody()->back());
    Location loc = fn.getLoc();
    auto gfn = b.create<gpu::GPUFuncOp>(loc, spirvEntryNameLocal(fn.getSymName()),
                                        FunctionType::get(ctx, argTypes, {}));
    gfn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
    gfn->setAttr(spirv::getEntryPointABIAttrName(),
                 spirv::getEntryPointABIAttr(ctx, {int32_t(wg), 1, 1}));

    Block &entry = gfn.getBody().front();
    OpBuilder fb = OpBuilder::atBlockEnd(&entry);
    // Invocation id = y-group * (x-groups * wg) + global x: the HAL splits
    // launches beyond maxComputeWorkGroupCount[0] groups over y.
    Value gx = fb.create<gpu::GlobalIdOp>(loc, gpu::Dimension::x);
    Value gy = fb.create<gpu::BlockIdOp>(loc, gpu::Dimension::y);
    Value nx = fb.create<gpu::GridDimOp>(loc, gpu::Dimension::x);
    Value wgc = fb.create<arith::ConstantIndexOp>(loc, wg);
    Value id = fb.create<arith::AddIOp>(
        loc, fb.create<arith::MulIOp>(loc, gy, fb.create<arith::MulIOp>(loc, nx, wgc)), gx);
    Value params = entry.getArgument(numBindings);
    auto param = [&](OpBuilder &pb, int64_t i) -> Value {
      Value v = pb.create<memref::LoadOp>(
          loc, params, ValueRange{pb.create<arith::ConstantIndexOp>(loc, i)});
      return pb.create<arith::IndexCastOp>(loc, pb.getIndexType(), v);
    };
    Value grid = param(fb, numScalars);
    Value inGrid = fb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, id, grid);
    // A distributed kernel's grid is whole workgroups (rows of lanes), so a
    // workgroup passes this test whole or not at all: its barriers stay in
    // uniform control flow.
    auto ifIn = fb.create<scf::IfOp>(loc, inGrid, /*withElseRegion=*/false);
    fb.create<gpu::ReturnOp>(loc);

    OpBuilder tb = ifIn.getThenBodyBuilder();
    IRMapping map;
    for (size_t i = 0; i < numBindings; ++i)
      map.map(fn.getArgument(i), entry.getArgument(i));
    for (size_t i = 0; i < numScalars; ++i)
      map.map(fn.getArgument(numBindings + i), param(tb, i));
    map.map(fn.getArgument(numBindings + numScalars), id);
    map.map(fn.getArgument(numBindings + numScalars + 1),
            tb.create<arith::AddIOp>(loc, id, tb.create<arith::ConstantIndexOp>(loc, 1)));
    for (Operation &op : fn.getBody().front().without_terminator())
      tb.clone(op, map);

    if (failed(placePrivateArrays(gfn, top)) || failed(narrowIndexCasts(gfn)) ||
        failed(expandLaneSums(gfn, wg)))
      return failure();
    return success();
  }

  static std::string spirvEntryNameLocal(StringRef kernel) {
    return llmc::vulkan::spirvEntryName(kernel);
  }
};

/// `llmc-vulkan-to-spirv`: see SPIRVLowering.h.
struct ToSPIRVPass : public PassWrapper<ToSPIRVPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ToSPIRVPass)
  StringRef getArgument() const override { return "llmc-vulkan-to-spirv"; }
  StringRef getDescription() const override {
    return "Convert the gpu.module of llmc-vulkan-outline to a spirv.module "
           "(upstream conversions, ABI lowering, version/capability update)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<spirv::SPIRVDialect>();
  }

  void runOnOperation() override {
    ModuleOp top = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<Operation *> gpuModules;
    top.walk([&](gpu::GPUModuleOp m) { gpuModules.push_back(m); });
    for (Operation *m : gpuModules) {
      spirv::TargetEnvAttr env = spirv::lookupTargetEnvOrDefault(m);
      std::unique_ptr<ConversionTarget> target = SPIRVConversionTarget::get(env);
      SPIRVConversionOptions options;
      SPIRVTypeConverter typeConverter(env, options);
      RewritePatternSet patterns(ctx);
      populateGPUToSPIRVPatterns(typeConverter, patterns);
      ScfToSPIRVContext scfContext;
      populateSCFToSPIRVPatterns(typeConverter, scfContext, patterns);
      arith::populateArithToSPIRVPatterns(typeConverter, patterns);
      populateMathToSPIRVPatterns(typeConverter, patterns);
      populateMemRefToSPIRVPatterns(typeConverter, patterns);
      populateFuncToSPIRVPatterns(typeConverter, patterns);
      populateVectorToSPIRVPatterns(typeConverter, patterns);
      if (failed(applyFullConversion(m, *target, std::move(patterns))))
        return signalPassFailure();
    }
    OpPassManager pm(ModuleOp::getOperationName());
    OpPassManager &spm = pm.nest<spirv::ModuleOp>();
    spm.addPass(spirv::createSPIRVLowerABIAttributesPass());
    spm.addPass(spirv::createSPIRVUpdateVCEPass());
    if (failed(runPipeline(pm, top)))
      return signalPassFailure();
  }
};

} // namespace

std::string llmc::vulkan::spirvEntryName(llvm::StringRef kernel) {
  return "llmc_" + kernel.str();
}

void llmc::vulkan::registerVulkanTargetPasses() {
  static PassRegistration<OutlinePass> outline;
  static PassRegistration<ToSPIRVPass> toSpirv;
  (void)outline;
  (void)toSpirv;
}

llvm::Error llmc::vulkan::lowerToSPIRV(ModuleOp module, const SPIRVOptions &options) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<gpu::GPUDialect, spirv::SPIRVDialect>();
  Attribute env = parseAttribute(options.targetEnv, ctx);
  if (!env || !isa<spirv::TargetEnvAttr>(env))
    return fail("not a #spirv.target_env: " + options.targetEnv);
  module->setAttr(kTargetEnv, env);
  PassManager pm(ctx);
  pm.addPass(std::make_unique<OutlinePass>(options.workgroupSize));
  pm.addPass(std::make_unique<ToSPIRVPass>());
  if (failed(pm.run(module)))
    return fail("lowering the kernels to SPIR-V failed (see the errors above)");
  return llvm::Error::success();
}

llvm::Expected<std::vector<uint32_t>> llmc::vulkan::serializeSPIRV(ModuleOp module) {
  auto modules = module.getOps<spirv::ModuleOp>();
  if (std::distance(modules.begin(), modules.end()) != 1)
    return fail("expected exactly one spirv.module after lowering");
  SmallVector<uint32_t> words;
  if (failed(spirv::serialize(*modules.begin(), words)))
    return fail("serializing the SPIR-V module failed (see the errors above)");
  return std::vector<uint32_t>(words.begin(), words.end());
}
