//===- LowerToKernels.cpp - llm model -> dispatch level -------------------===//
//
// The plan passes decided where every value lives; this pass decides which
// code computes it: each op of @forward goes through its kernel pattern
// (KernelPatterns.cpp, or a target's override), which writes a kernel
// specialised for its shapes (identical kernels, all layers' q_proj say,
// are shared) and appends its dispatch to the llm.schedule. The schedule is
// straight-line: the only per-call choice (project all rows or the last
// one) is the `logit_rows` scalar.
//
//===----------------------------------------------------------------------===//

#include "passes/DispatchBuilder.h"
#include "passes/Passes.h"

namespace llmc {
#define GEN_PASS_DEF_LLMLOWERTOKERNELS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace llmc::lowering;
namespace quant = llmc::quant;

namespace {

/// The DispatchBuilder that runs the patterns over @forward.
class Lowering : public DispatchBuilder {
public:
  Lowering(ModuleOp module, int64_t vec, int64_t accs,
           const KernelPatterns &patterns)
      : DispatchBuilder(module, vec, accs), patterns(patterns) {}
  LogicalResult run();

private:
  LogicalResult readPlan(func::FuncOp forward);
  const KernelPatterns &patterns;
};

} // namespace

/// N of a `layer N` name location inside `loc` (fused ops carry the fused
/// locations of the ops they replace).
static std::optional<int64_t> layerOf(Location loc) {
  std::optional<int64_t> layer;
  loc->walk([&](Location l) {
    if (auto name = dyn_cast<NameLoc>(l)) {
      StringRef s = name.getName().getValue();
      int64_t n;
      if (s.consume_front("layer ") && !s.getAsInteger(10, n)) {
        layer = n;
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return layer;
}

LogicalResult Lowering::readPlan(func::FuncOp forward) {
  auto plan = module->getAttrOfType<PlanAttr>("llm.plan");
  if (!plan)
    return module.emitError() << "no llm.plan: run --llm-plan-weights and "
                                 "--llm-plan-memory first";
  chunk = plan.getPrefillChunk();
  actElt = plan.getActivationType();
  for (auto w : module.getOps<WeightOp>()) {
    std::optional<int64_t> at = w.getSegmentOffset();
    if (!at)
      return w.emitOpError() << "is not placed (run --llm-plan-weights first)";
    quant::Layout l = w.getLayout();
    if (l.bits == 8 && l.group % vec)
      return w.emitOpError() << "int8 groups of " << l.group
                             << " do not fill vectors of " << vec;
    // int6 exists for the integer-dot panel kernels alone (the CPU's).
    if (l.bits == 6 && !l.panel)
      return w.emitOpError()
             << "@" << w.getSymName() << " is int6 (q6), which only the integer-dot panel kernels read "
                "(the CPU back end, for weights that all their ops read in "
                "panels): use q8 for it here";
    weights[w.getSymName()] = {w, *at, l};
  }
  for (Operation &op : forward.getBody().front()) {
    if (auto slot = op.getAttrOfType<IntegerAttr>("llm.slot"))
      slots[op.getResult(0)] = {
          slot.getInt(),
          cast<RankedTensorType>(op.getResult(0).getType()).getDimSize(1)};
    if (auto off = op.getAttrOfType<IntegerAttr>("llm.scratch"))
      scratch[&op] = off.getInt();
  }
  return success();
}

Buffer DispatchBuilder::buffer(BufferSpace space, int64_t offset, MemRefType type) {
  int64_t bytes =
      type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
  return {space, offset, bytes, type, {}, {}};
}

Buffer DispatchBuilder::activation(Value v) {
  auto [off, feats] = slots.lookup(v);
  return buffer(BufferSpace::arena, off, actType(feats));
}

Buffer DispatchBuilder::scratchView(int64_t offset, ArrayRef<int64_t> shape) {
  return buffer(BufferSpace::arena, offset,
                MemRefType::get(shape, Float32Type::get(ctx())));
}

Buffer DispatchBuilder::scratchI8(int64_t offset, int64_t bytes) {
  return buffer(BufferSpace::arena, offset,
                MemRefType::get({bytes}, IntegerType::get(ctx(), 8)));
}

func::FuncOp DispatchBuilder::declareExternal(StringRef name, FunctionType type) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  OpBuilder b(ctx());
  b.restoreInsertionPoint(kernelsAt);
  auto fn = b.create<func::FuncOp>(loc, name, type);
  fn.setPrivate();
  return fn;
}

DispatchBuilder::KVViews DispatchBuilder::kvLayer(int64_t layer) {
  Type elt = cacheType.getDtype() == DType::f16  ? Type(Float16Type::get(ctx()))
             : cacheType.getDtype() == DType::i8 ? Type(IntegerType::get(ctx(), 8))
                                                 : Type(Float32Type::get(ctx()));
  int64_t base = layer * cacheType.getLayerBytes();
  KVViews v;
  v.data = buffer(BufferSpace::kv_cache, base,
                  MemRefType::get(cacheType.getLayerShape(), elt));
  if (cacheType.getDtype() == DType::i8)
    v.scales = buffer(BufferSpace::kv_cache, base + cacheType.getScalesOffset(),
                      MemRefType::get(cacheType.getScalesShape(),
                                      Float32Type::get(ctx())));
  return v;
}

/// Per position: a K and a V row, and for i8 a K and a V scale per head.
static SmallVector<Buffer, 2> kvTraffic(const DispatchBuilder::KVViews &v,
                                        Affine positions, bool write) {
  auto perPosition = [](const Buffer &b) {
    return 2 * b.size / (b.type.getDimSize(0) * b.type.getDimSize(1));
  };
  SmallVector<Buffer, 2> out;
  for (const Buffer *b : {&v.data, v.scales ? &*v.scales : nullptr}) {
    if (!b)
      continue;
    Affine bytes = positions * perPosition(*b);
    out.push_back(write ? b->writes(bytes) : b->reads(bytes));
  }
  return out;
}

SmallVector<Buffer, 2> DispatchBuilder::KVViews::reads(Affine positions) const {
  return kvTraffic(*this, positions, /*write=*/false);
}
SmallVector<Buffer, 2> DispatchBuilder::KVViews::writes(Affine positions) const {
  return kvTraffic(*this, positions, /*write=*/true);
}

Buffer DispatchBuilder::logits() {
  return buffer(BufferSpace::logits, 0,
                MemRefType::get({chunk, config.getVocabSize()},
                                Float32Type::get(ctx())));
}

Buffer DispatchBuilder::tokens() {
  return buffer(BufferSpace::tokens, 0,
                MemRefType::get({chunk}, IntegerType::get(ctx(), 32)));
}

Buffer DispatchBuilder::weightView(FlatSymbolRefAttr sym) {
  WeightInfo &w = weights[sym.getValue()];
  auto shape = w.op.getTensorType().getShape();
  Type elt = w.layout.bits == 16 ? Type(Float16Type::get(ctx()))
                                 : Type(Float32Type::get(ctx()));
  return buffer(BufferSpace::weights, w.offset, MemRefType::get(shape, elt));
}

DispatchBuilder::QuantViews DispatchBuilder::quantViews(FlatSymbolRefAttr sym) {
  WeightInfo &w = weights[sym.getValue()];
  const quant::Layout &l = w.layout;
  Type i8 = IntegerType::get(ctx(), 8);
  Type scaleTy = l.scaleBytes == 4 ? Type(Float32Type::get(ctx()))
                                   : Type(Float16Type::get(ctx()));
  QuantViews v;
  v.qs = buffer(BufferSpace::weights, w.offset,
                MemRefType::get({l.storedRows(), l.cols * l.bits / 8}, i8));
  // Two-level scales: per row, its int8 sub-scales and f32 multipliers'
  // bytes (the panel kernels take the address; QuantLayout.h the order).
  auto scalesTy =
      l.superGroups
          ? MemRefType::get({l.storedRows(), l.scalesBytes() / l.storedRows()}, i8)
          : MemRefType::get({l.storedRows(), l.groups()}, scaleTy);
  v.scales = buffer(BufferSpace::weights, w.offset + l.scalesOffset(), scalesTy);
  if (l.asymmetric)
    v.mins = buffer(BufferSpace::weights, w.offset + l.minsOffset(), scalesTy);
  return v;
}

FailureOr<Affine> DispatchBuilder::index(Operation *user, Value v) {
  auto it = indices.find(v);
  if (it == indices.end())
    return user->emitOpError()
           << "uses an index the dispatch level cannot express";
  return it->second;
}

func::FuncOp DispatchBuilder::kernel(StringRef kind, StringRef key,
                              ArrayRef<Buffer> buffers, unsigned numScalars,
                              function_ref<void(KB &, ValueRange)> body) {
  std::string fullKey = (kind + "|" + key).str();
  auto it = kernels.find(fullKey);
  if (it != kernels.end())
    return it->second;
  OpBuilder b(ctx());
  b.restoreInsertionPoint(kernelsAt);
  SmallVector<Type> args;
  for (const Buffer &buf : buffers)
    args.push_back(buf.type);
  args.append(numScalars + 2, b.getIndexType());
  std::string name = ("k_" + kind + "_" + Twine(kindCounts[kind]++)).str();
  auto fn = b.create<func::FuncOp>(loc, name, b.getFunctionType(args, {}));
  fn.setPrivate();
  Block *block = fn.addEntryBlock();
  b.setInsertionPointToStart(block);
  KB k{b, loc, vec, accs};
  body(k, block->getArguments());
  b.create<func::ReturnOp>(loc);
  kernels[fullKey] = fn;
  return fn;
}

void DispatchBuilder::dispatch(func::FuncOp fn, StringRef label, Affine grid,
                        ArrayRef<Buffer> buffers, ArrayRef<Affine> scalars) {
  SmallVector<Attribute> bindings, values;
  auto bytes = [&](const Affine &a) {
    return a.isZero() ? ScalarAttr() : a.attr(ctx());
  };
  for (const Buffer &buf : buffers)
    bindings.push_back(BindingAttr::get(ctx(), buf.space, buf.offset, buf.size,
                                        bytes(buf.read), bytes(buf.write)));
  for (const Affine &s : scalars)
    values.push_back(s.attr(ctx()));
  builder->create<DispatchOp>(
      loc, fn.getSymName(), label, grid.attr(ctx()),
      builder->getArrayAttr(bindings), builder->getArrayAttr(values),
      currentLayer ? builder->getI64IntegerAttr(*currentLayer) : IntegerAttr());
}


StringRef DispatchBuilder::constantTable(StringRef prefix, ArrayRef<float> values) {
  std::string key = prefix.str() + ":";
  for (float f : values)
    key += std::to_string(f) + ",";
  memref::GlobalOp &table = tables[key];
  if (!table) {
    OpBuilder gb(ctx());
    gb.restoreInsertionPoint(kernelsAt);
    auto type = RankedTensorType::get({int64_t(values.size())}, gb.getF32Type());
    table = gb.create<memref::GlobalOp>(
        loc, (prefix + "_" + Twine(tables.size() - 1)).str(),
        gb.getStringAttr("private"),
        MemRefType::get({int64_t(values.size())}, gb.getF32Type()),
        DenseElementsAttr::get(type, values), /*constant=*/true, IntegerAttr());
  }
  return table.getSymName();
}

LogicalResult Lowering::run() {
  config = getModelConfig(module);
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!config || !forward)
    return module.emitError()
           << "expected an llm model (run -llm-verify-model for details)";
  // Int4 blocks feed vectors of half a block at most.
  if (vec != 4 && vec != 8 && vec != 16)
    return module.emitError() << "vector width must be 4, 8 or 16, got " << vec;
  if (accs < 1 || accs > 8)
    return module.emitError() << "accumulators must be in [1, 8], got " << accs;
  cacheType = cast<KVCacheType>(forward.getArgument(2).getType());
  if (failed(readPlan(forward)))
    return failure();

  // The logits come from the linear feeding the return; when the caller
  // wants only the last position, that linear runs on one row.
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  lmHead = ret.getOperand(0).getDefiningOp();
  auto fused = dyn_cast_or_null<FusedLinearOp>(lmHead);
  if (!isa_and_nonnull<LinearOp, QuantizedLinearOp>(lmHead) &&
      !(fused && !fused.getResidual() && !fused.getSwiglu()))
    return ret.emitOpError() << "@forward must return the result of an "
                                "llm.linear (the lm_head), possibly with a "
                                "norm prologue";

  MLIRContext *c = ctx();
  OpBuilder b(c);
  builder = &b;
  loc = forward.getLoc();
  b.setInsertionPoint(forward);
  kernelsAt = b.saveInsertionPoint();
  b.setInsertionPointToEnd(module.getBody());
  auto schedule = b.create<ScheduleOp>(loc);
  b.setInsertionPointToStart(&schedule.getBody().emplaceBlock());
  indices[forward.getArgument(1)] = Affine{0, 0, 1, 0};

  for (Operation &op : forward.getBody().front()) {
    currentLayer = layerOf(op.getLoc());
    if (&op == lmHead) {
      // Move the row the logits come from to row 0: the last one (at
      // n - logit_rows = n - 1), or row 0 itself when all rows are wanted.
      Value in = op.getOperand(0);
      int64_t d = cast<RankedTensorType>(in.getType()).getDimSize(1);
      SmallVector<Buffer> bufs{
          activation(in).readsRows(Affine{1, 0, 0, 0}, d).writesRows(Affine{1, 0, 0, 0}, d)};
      auto copyFn = kernel("select_last_row", std::to_string(d), bufs, 1,
                           [&](KB &k, ValueRange a) {
                             k.loop(a[2], a[3], 1, [&](Value) {
                               k.loop(k.idx(0), k.idx(d), 1, [&](Value i) {
                                 k.store(k.load(a[0], {a[1], i}), a[0],
                                         {k.idx(0), i});
                               });
                             });
                           });
      dispatch(copyFn, "select_last_row", Affine{1, 0, 0, 0}, bufs,
               {Affine{0, 1, 0, -1}});
    }
    if (isa<func::ReturnOp>(op))
      continue;
    auto it = patterns.find(op.getName().getStringRef());
    if (it == patterns.end())
      return op.emitOpError() << "has no kernel lowering";
    if (failed(it->second(&op, *this)))
      return failure();
  }

  forward.erase();
  return success();
}


namespace {

struct LowerToKernelsPass
    : public llmc::impl::LLMLowerToKernelsBase<LowerToKernelsPass> {
  using LLMLowerToKernelsBase::LLMLowerToKernelsBase;
  LowerToKernelsPass(const llmc::LLMLowerToKernelsOptions &options,
                     KernelPatterns overrides)
      : LLMLowerToKernelsBase(options), overrides(std::move(overrides)) {}

  void runOnOperation() override {
    KernelPatterns patterns;
    populateKernelPatterns(patterns);
    for (auto &entry : overrides)
      patterns[entry.getKey()] = entry.getValue();
    if (failed(Lowering(getOperation(), vectorWidth, accumulators, patterns)
                   .run()))
      signalPassFailure();
  }

  KernelPatterns overrides;
};

} // namespace

std::unique_ptr<mlir::Pass>
llmc::createLLMLowerToKernels(const LLMLowerToKernelsOptions &options,
                              KernelPatterns overrides) {
  return std::make_unique<LowerToKernelsPass>(options, std::move(overrides));
}
