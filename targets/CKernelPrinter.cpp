//===- CKernelPrinter.cpp - dispatch-level kernels as C-family text -------===//
//
// A printer, not a lowering: the dispatch level is already loops over
// memrefs with static shapes, so every op has a direct C spelling and the
// structure (loops, iteration arguments, vectors) is kept. See the header
// for what the dialects change.
//
//===----------------------------------------------------------------------===//

#include "targets/CKernelPrinter.h"

#include "dialects/llm/LLMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace llmc::targets;

namespace {

/// The C name of a scalar element type as a value (f16 widened to float).
std::string scalarName(const CDialect &d, Type t) {
  if (t.isIndex()) return d.indexType();
  if (t.isF32() || t.isF16()) return "float";
  if (t.isF64()) return "double";
  if (t.isInteger(1)) return "int";
  if (t.isInteger(8)) return "char";
  if (t.isInteger(16)) return "short";
  if (t.isInteger(32)) return "int";
  if (t.isInteger(64)) return "long";
  return "";
}

/// The unsigned type of the same width ("uchar" for i8).
std::string unsignedName(const CDialect &d, Type t) {
  if (auto v = dyn_cast<VectorType>(t))
    return unsignedName(d, v.getElementType()) + std::to_string(v.getNumElements());
  if (t.isIndex()) return "u" + d.indexType();
  if (t.isInteger(64)) return "ulong";
  if (t.isInteger(8)) return "uchar";
  if (t.isInteger(16)) return "ushort";
  if (t.isInteger(32) || t.isInteger(1)) return "uint";
  return "";
}

std::string typeName(const CDialect &d, Type t) {
  if (auto v = dyn_cast<VectorType>(t)) {
    if (v.getRank() != 1) return "";
    int64_t n = v.getNumElements();
    if (!d.vectorWidth(n)) return "";
    std::string s = scalarName(d, v.getElementType());
    return s.empty() ? "" : s + std::to_string(n);
  }
  return scalarName(d, t);
}

/// Memory element type of a buffer: f16 stays half (pointer only).
std::string memoryName(const CDialect &d, Type t) {
  if (t.isF16()) return "half";
  return scalarName(d, t);
}

class KernelPrinter {
public:
  KernelPrinter(llvm::raw_ostream &os, const CDialect &d) : os_(os), d_(d) {}

  llvm::Error printFunction(func::FuncOp fn, StringRef cname,
                            const llvm::StringSet<> &constantGlobals);

private:
  struct MemRefInfo {
    std::string base; // C expression of the element pointer or array
    CSpace space;
  };

  llvm::Error errorAt(Operation *op, const llvm::Twine &msg) {
    return cPrintError(d_, op, msg);
  }
  std::string typeName(Type t) { return ::typeName(d_, t); }
  std::string scalarName(Type t) { return ::scalarName(d_, t); }
  std::string unsignedName(Type t) { return ::unsignedName(d_, t); }
  std::string memoryName(Type t) { return ::memoryName(d_, t); }

  std::string fresh(const char *prefix) {
    return std::string(prefix) + std::to_string(counter_++);
  }
  void indent() {
    for (int i = 0; i < depth_; ++i) os_ << "  ";
  }
  llvm::Expected<std::string> expr(Value v);
  llvm::Error declare(Value v, const std::string &init);
  llvm::Expected<std::string> linearIndex(Operation *op, MemRefType type,
                                          ValueRange indices);
  llvm::Error printBlock(Block &block);
  llvm::Error printOp(Operation *op);
  llvm::Error printFor(scf::ForOp op);
  llvm::Error printIf(scf::IfOp op);
  llvm::Expected<std::string> binary(Operation *op, const char *cop,
                                     bool isUnsigned);

  llvm::raw_ostream &os_;
  const CDialect &d_;
  llvm::DenseMap<Value, std::string> names_;
  llvm::DenseMap<Value, MemRefInfo> memrefs_;
  const llvm::StringSet<> *globals_ = nullptr;
  int counter_ = 0;
  int depth_ = 1;
};

llvm::Expected<std::string> KernelPrinter::expr(Value v) {
  auto it = names_.find(v);
  if (it != names_.end())
    return it->second;
  Operation *def = v.getDefiningOp();
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def)) {
    Attribute a = c.getValue();
    Type t = c.getType();
    auto scalar = [&](Attribute e, Type et) -> std::string {
      if (auto f = dyn_cast<FloatAttr>(e))
        return d_.floatLiteral(f.getValueAsDouble());
      if (auto i = dyn_cast<IntegerAttr>(e)) {
        if (et.isInteger(1))
          return i.getValue().getBoolValue() ? "1" : "0";
        int64_t x = et.isIndex() ? i.getInt() : i.getValue().getSExtValue();
        if (et.isIndex() || et.isInteger(64))
          return d_.longLiteral(x, et.isIndex());
        std::string lit = std::to_string(x);
        if (et.isInteger(32))
          return x < 0 ? "(" + lit + ")" : lit;
        return "((" + scalarName(et) + ")" + lit + ")";
      }
      return "";
    };
    if (auto dense = dyn_cast<DenseElementsAttr>(a)) {
      auto vt = dyn_cast<VectorType>(t);
      if (!vt || typeName(vt).empty())
        return errorAt(def, "unsupported constant type");
      Type et = vt.getElementType();
      if (dense.isSplat()) {
        std::string s = dense.getElementType().isIntOrIndex()
                            ? scalar(dense.getSplatValue<IntegerAttr>(), et)
                            : scalar(dense.getSplatValue<FloatAttr>(), et);
        return d_.vector(typeName(vt), s);
      }
      std::string s;
      bool first = true;
      for (Attribute e : dense.getValues<Attribute>()) {
        s += (first ? "" : ", ") + scalar(e, et);
        first = false;
      }
      return d_.vector(typeName(vt), s);
    }
    std::string s = scalar(a, t);
    if (s.empty())
      return errorAt(def, "unsupported constant");
    return s;
  }
  return errorAt(v.getParentBlock()->getParentOp(),
                 "a value is used before its definition");
}

llvm::Error KernelPrinter::declare(Value v, const std::string &init) {
  std::string t = typeName(v.getType());
  if (t.empty())
    return errorAt(v.getDefiningOp(), "unsupported result type");
  std::string name = fresh("v");
  indent();
  os_ << t << " " << name << " = " << init << ";\n";
  names_[v] = name;
  return llvm::Error::success();
}

llvm::Expected<std::string>
KernelPrinter::linearIndex(Operation *op, MemRefType type, ValueRange indices) {
  if (!type.getLayout().isIdentity() || !type.hasStaticShape())
    return errorAt(op, "memref without a static identity layout");
  ArrayRef<int64_t> shape = type.getShape();
  std::string s;
  for (size_t i = 0; i < indices.size(); ++i) {
    auto e = expr(indices[i]);
    if (!e) return e.takeError();
    s = i == 0 ? *e
               : "(" + s + ") * " + d_.longLiteral(shape[i], true) + " + " + *e;
  }
  return s.empty() ? std::string("0") : s;
}

llvm::Expected<std::string> KernelPrinter::binary(Operation *op, const char *cop,
                                                  bool isUnsigned) {
  auto a = expr(op->getOperand(0));
  if (!a) return a.takeError();
  auto b = expr(op->getOperand(1));
  if (!b) return b.takeError();
  Type t = op->getResult(0).getType();
  if (!isUnsigned)
    return "(" + *a + " " + cop + " " + *b + ")";
  std::string u = unsignedName(t), r = typeName(t);
  if (isa<VectorType>(t))
    return d_.bitcastVector(r, d_.bitcastVector(u, *a) + " " + cop + " " +
                                   d_.bitcastVector(u, *b));
  return "((" + r + ")((" + u + ")" + *a + " " + cop + " (" + u + ")" + *b +
         "))";
}

llvm::Error KernelPrinter::printBlock(Block &block) {
  for (Operation &op : block)
    if (auto err = printOp(&op))
      return err;
  return llvm::Error::success();
}

llvm::Error KernelPrinter::printFor(scf::ForOp op) {
  auto lb = expr(op.getLowerBound());
  if (!lb) return lb.takeError();
  auto ub = expr(op.getUpperBound());
  if (!ub) return ub.takeError();
  auto step = expr(op.getStep());
  if (!step) return step.takeError();
  // Iteration arguments live in variables declared before the loop; the
  // results are those variables after it.
  std::vector<std::string> carried;
  for (auto [init, arg, res] :
       llvm::zip(op.getInitArgs(), op.getRegionIterArgs(), op.getResults())) {
    auto e = expr(init);
    if (!e) return e.takeError();
    std::string t = typeName(arg.getType());
    if (t.empty()) return errorAt(op, "unsupported loop-carried type");
    std::string name = fresh("c");
    indent();
    os_ << t << " " << name << " = " << *e << ";\n";
    names_[arg] = name;
    names_[res] = name;
    carried.push_back(name);
  }
  std::string iv = fresh("i");
  names_[op.getInductionVar()] = iv;
  indent();
  os_ << "for (" << d_.indexType() << " " << iv << " = " << *lb << "; " << iv << " < " << *ub
      << "; " << iv << " += " << *step << ") {\n";
  ++depth_;
  Block &body = *op.getBody();
  for (Operation &inner : body.without_terminator())
    if (auto err = printOp(&inner))
      return err;
  auto yield = cast<scf::YieldOp>(body.getTerminator());
  // Yielded values may read other carried variables: copy through
  // temporaries so every assignment sees the old values.
  std::vector<std::string> tmps;
  for (auto [i, v] : llvm::enumerate(yield.getOperands())) {
    auto e = expr(v);
    if (!e) return e.takeError();
    if (*e == carried[i]) {
      tmps.push_back("");
      continue;
    }
    std::string tmp = fresh("y");
    indent();
    os_ << typeName(v.getType()) << " " << tmp << " = " << *e << ";\n";
    tmps.push_back(tmp);
  }
  for (size_t i = 0; i < carried.size(); ++i)
    if (!tmps[i].empty()) {
      indent();
      os_ << carried[i] << " = " << tmps[i] << ";\n";
    }
  --depth_;
  indent();
  os_ << "}\n";
  return llvm::Error::success();
}

llvm::Error KernelPrinter::printIf(scf::IfOp op) {
  auto cond = expr(op.getCondition());
  if (!cond) return cond.takeError();
  std::vector<std::string> results;
  for (Value r : op.getResults()) {
    std::string t = typeName(r.getType());
    if (t.empty()) return errorAt(op, "unsupported result type");
    std::string name = fresh("r");
    indent();
    os_ << t << " " << name << ";\n";
    names_[r] = name;
    results.push_back(name);
  }
  auto branch = [&](Region &region) -> llvm::Error {
    ++depth_;
    Block &b = region.front();
    for (Operation &inner : b.without_terminator())
      if (auto err = printOp(&inner))
        return err;
    auto yield = cast<scf::YieldOp>(b.getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getOperands())) {
      auto e = expr(v);
      if (!e) return e.takeError();
      indent();
      os_ << results[i] << " = " << *e << ";\n";
    }
    --depth_;
    return llvm::Error::success();
  };
  indent();
  os_ << "if (" << *cond << ") {\n";
  if (auto err = branch(op.getThenRegion()))
    return err;
  if (!op.getElseRegion().empty()) {
    indent();
    os_ << "} else {\n";
    if (auto err = branch(op.getElseRegion()))
      return err;
  }
  indent();
  os_ << "}\n";
  return llvm::Error::success();
}

const char *cmpfOp(arith::CmpFPredicate p, bool &negate) {
  using P = arith::CmpFPredicate;
  negate = false;
  switch (p) {
  case P::OEQ: return "==";
  case P::OGT: return ">";
  case P::OGE: return ">=";
  case P::OLT: return "<";
  case P::OLE: return "<=";
  case P::UNE: return "!=";
  // Unordered forms: true when either is NaN, i.e. not the ordered opposite.
  case P::UGT: negate = true; return "<=";
  case P::UGE: negate = true; return "<";
  case P::ULT: negate = true; return ">=";
  case P::ULE: negate = true; return ">";
  default: return nullptr;
  }
}

const char *cmpiOp(arith::CmpIPredicate p, bool &isUnsigned) {
  using P = arith::CmpIPredicate;
  isUnsigned = false;
  switch (p) {
  case P::eq: return "==";
  case P::ne: return "!=";
  case P::slt: return "<";
  case P::sle: return "<=";
  case P::sgt: return ">";
  case P::sge: return ">=";
  case P::ult: isUnsigned = true; return "<";
  case P::ule: isUnsigned = true; return "<=";
  case P::ugt: isUnsigned = true; return ">";
  case P::uge: isUnsigned = true; return ">=";
  }
  return nullptr;
}

llvm::Error KernelPrinter::printOp(Operation *op) {
  if (isa<arith::ConstantOp>(op))
    return llvm::Error::success(); // printed inline at each use
  if (auto f = dyn_cast<scf::ForOp>(op))
    return printFor(f);
  if (auto i = dyn_cast<scf::IfOp>(op))
    return printIf(i);
  if (isa<func::ReturnOp>(op)) {
    indent();
    os_ << "return;\n";
    return llvm::Error::success();
  }

  // Memory.
  if (auto a = dyn_cast<memref::AllocaOp>(op)) {
    MemRefType t = a.getType();
    if (!t.hasStaticShape() || memoryName(t.getElementType()).empty())
      return errorAt(op, "unsupported alloca");
    std::string name = fresh("m");
    indent();
    // f16 scratch is kept as float: its values are already rounded.
    os_ << scalarName(t.getElementType()) << " " << name << "["
        << t.getNumElements() << "];\n";
    memrefs_[a.getResult()] = {name, CSpace::Private};
    return llvm::Error::success();
  }
  if (auto g = dyn_cast<memref::GetGlobalOp>(op)) {
    if (!globals_->contains(g.getName()))
      return errorAt(op, "global '" + g.getName() + "' is not a constant");
    memrefs_[g.getResult()] = {g.getName().str(), CSpace::Constant};
    return llvm::Error::success();
  }
  auto memrefOf = [&](Value m) -> const MemRefInfo * {
    auto it = memrefs_.find(m);
    return it == memrefs_.end() ? nullptr : &it->second;
  };
  // Private arrays of f16 hold floats (already rounded values).
  auto elemOf = [&](MemRefType t, const MemRefInfo &m) {
    return m.space == CSpace::Private ? scalarName(t.getElementType())
                                      : memoryName(t.getElementType());
  };
  if (auto l = dyn_cast<memref::LoadOp>(op)) {
    const MemRefInfo *m = memrefOf(l.getMemref());
    if (!m) return errorAt(op, "load from an unknown memref");
    auto idx = linearIndex(op, l.getMemRefType(), l.getIndices());
    if (!idx) return idx.takeError();
    return declare(l.getResult(), d_.load(m->space, elemOf(l.getMemRefType(), *m), 0,
                                          m->base, *idx));
  }
  if (auto s = dyn_cast<memref::StoreOp>(op)) {
    const MemRefInfo *m = memrefOf(s.getMemref());
    if (!m) return errorAt(op, "store to an unknown memref");
    auto idx = linearIndex(op, s.getMemRefType(), s.getIndices());
    if (!idx) return idx.takeError();
    auto v = expr(s.getValue());
    if (!v) return v.takeError();
    indent();
    os_ << d_.store(m->space, elemOf(s.getMemRefType(), *m), 0, m->base, *idx, *v)
        << "\n";
    return llvm::Error::success();
  }
  if (auto l = dyn_cast<vector::LoadOp>(op)) {
    const MemRefInfo *m = memrefOf(l.getBase());
    if (!m) return errorAt(op, "load from an unknown memref");
    auto idx = linearIndex(op, l.getMemRefType(), l.getIndices());
    if (!idx) return idx.takeError();
    if (typeName(l.getVectorType()).empty())
      return errorAt(op, "unsupported vector type");
    return declare(l.getResult(),
                   d_.load(m->space, elemOf(l.getMemRefType(), *m),
                           l.getVectorType().getNumElements(), m->base, *idx));
  }
  if (auto s = dyn_cast<vector::StoreOp>(op)) {
    const MemRefInfo *m = memrefOf(s.getBase());
    if (!m) return errorAt(op, "store to an unknown memref");
    auto idx = linearIndex(op, s.getMemRefType(), s.getIndices());
    if (!idx) return idx.takeError();
    auto v = expr(s.getValueToStore());
    if (!v) return v.takeError();
    if (typeName(s.getVectorType()).empty())
      return errorAt(op, "unsupported vector type");
    indent();
    os_ << d_.store(m->space, elemOf(s.getMemRefType(), *m),
                    s.getVectorType().getNumElements(), m->base, *idx, *v)
        << "\n";
    return llvm::Error::success();
  }

  // Everything else is a pure value.
  if (op->getNumResults() != 1)
    return errorAt(op, std::string("operation not supported by the ") + d_.name() +
                           " printer");
  Value result = op->getResult(0);
  Type rt = result.getType();
  std::string rname = typeName(rt);
  if (rname.empty())
    return errorAt(op, "unsupported result type");
  auto operand = [&](unsigned i) { return expr(op->getOperand(i)); };
  auto unary = [&](const std::string &fn) -> llvm::Error {
    auto a = operand(0);
    if (!a) return a.takeError();
    return declare(result, fn + "(" + *a + ")");
  };
  auto bin = [&](const char *cop, bool isUnsigned = false) -> llvm::Error {
    auto e = binary(op, cop, isUnsigned);
    if (!e) return e.takeError();
    return declare(result, *e);
  };
  auto call2 = [&](const std::string &fn) -> llvm::Error {
    auto a = operand(0);
    if (!a) return a.takeError();
    auto b = operand(1);
    if (!b) return b.takeError();
    return declare(result, fn + "(" + *a + ", " + *b + ")");
  };
  auto convert = [&](bool fromUnsigned) -> llvm::Error {
    auto a = operand(0);
    if (!a) return a.takeError();
    Type from = op->getOperand(0).getType();
    std::string src = fromUnsigned ? (isa<VectorType>(from)
                                          ? d_.bitcastVector(unsignedName(from), *a)
                                          : "(" + unsignedName(from) + ")" + *a)
                                   : *a;
    if (isa<VectorType>(rt))
      return declare(result, d_.convertVector(rname, src));
    return declare(result, "(" + rname + ")(" + src + ")");
  };

  if (isa<arith::AddIOp, arith::AddFOp>(op)) return bin("+");
  if (isa<arith::SubIOp, arith::SubFOp>(op)) return bin("-");
  if (isa<arith::MulIOp, arith::MulFOp>(op)) return bin("*");
  if (isa<arith::DivSIOp, arith::DivFOp>(op)) return bin("/");
  if (isa<arith::RemSIOp>(op)) return bin("%");
  if (isa<arith::DivUIOp>(op)) return bin("/", true);
  if (isa<arith::RemUIOp>(op)) return bin("%", true);
  if (isa<arith::AndIOp>(op)) return bin("&");
  if (isa<arith::OrIOp>(op)) return bin("|");
  if (isa<arith::XOrIOp>(op)) return bin("^");
  if (isa<arith::ShLIOp>(op)) return bin("<<");
  if (isa<arith::ShRSIOp>(op)) return bin(">>");
  if (isa<arith::ShRUIOp>(op)) return bin(">>", true);
  if (isa<arith::MinSIOp>(op)) return call2("min");
  if (isa<arith::MaxSIOp>(op)) return call2("max");
  if (isa<arith::MinUIOp, arith::MaxUIOp>(op)) {
    auto a = operand(0);
    if (!a) return a.takeError();
    auto b = operand(1);
    if (!b) return b.takeError();
    std::string u = unsignedName(rt);
    const char *fn = isa<arith::MinUIOp>(op) ? "min" : "max";
    if (isa<VectorType>(rt))
      return declare(result,
                     d_.bitcastVector(rname, std::string(fn) + "(" +
                                                 d_.bitcastVector(u, *a) + ", " +
                                                 d_.bitcastVector(u, *b) + ")"));
    return declare(result, "(" + rname + ")" + fn + "((" + u + ")" + *a + ", (" +
                               u + ")" + *b + ")");
  }
  // NaN handling differs from fmax/fmin only for NaN inputs, which the
  // kernels never produce from finite weights.
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op)) return call2("fmax");
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(op)) return call2("fmin");
  if (auto n = dyn_cast<arith::NegFOp>(op)) return unary("-");
  if (auto c = dyn_cast<arith::CmpFOp>(op)) {
    bool negate;
    const char *cop = cmpfOp(c.getPredicate(), negate);
    if (!cop || isa<VectorType>(rt))
      return errorAt(op, "unsupported comparison");
    auto e = binary(op, cop, false);
    if (!e) return e.takeError();
    return declare(result, negate ? "(!" + *e + ")" : *e);
  }
  if (auto c = dyn_cast<arith::CmpIOp>(op)) {
    bool isUnsigned;
    const char *cop = cmpiOp(c.getPredicate(), isUnsigned);
    if (!cop || isa<VectorType>(rt))
      return errorAt(op, "unsupported comparison");
    auto a = operand(0);
    if (!a) return a.takeError();
    auto b = operand(1);
    if (!b) return b.takeError();
    Type ot = op->getOperand(0).getType();
    if (isUnsigned)
      return declare(result, "((" + unsignedName(ot) + ")" + *a + " " + cop + " (" +
                                 unsignedName(ot) + ")" + *b + ")");
    return declare(result, "(" + *a + " " + cop + " " + *b + ")");
  }
  if (auto s = dyn_cast<arith::SelectOp>(op)) {
    auto c = operand(0);
    if (!c) return c.takeError();
    auto t = operand(1);
    if (!t) return t.takeError();
    auto f = operand(2);
    if (!f) return f.takeError();
    if (isa<VectorType>(op->getOperand(0).getType()))
      return errorAt(op, "vector select is not supported");
    return declare(result, "(" + *c + " ? " + *t + " : " + *f + ")");
  }
  if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp, arith::SIToFPOp,
          arith::FPToSIOp>(op))
    return convert(false);
  if (isa<arith::IndexCastUIOp, arith::ExtUIOp, arith::UIToFPOp>(op))
    return convert(true);
  if (isa<arith::ExtFOp>(op)) {
    // f16 values are floats already; there is no f64.
    if (!getElementTypeOrSelf(rt).isF32())
      return errorAt(op, "only f16 -> f32 extensions are supported");
    auto a = operand(0);
    if (!a) return a.takeError();
    names_[result] = *a;
    return llvm::Error::success();
  }
  if (isa<arith::TruncFOp>(op)) {
    if (!getElementTypeOrSelf(rt).isF16())
      return errorAt(op, "only f32 -> f16 truncations are supported");
    auto vt = dyn_cast<VectorType>(rt);
    int64_t n = vt ? vt.getNumElements() : 0;
    auto a = operand(0);
    if (!a) return a.takeError();
    std::string r = d_.roundHalf(*a, n);
    if (r.empty())
      return errorAt(op, "f16 truncation of a vector of " + std::to_string(n) +
                             " lanes");
    return declare(result, r);
  }
  if (isa<llmc::llm::LaneSumOp>(op)) {
    auto a = operand(0);
    if (!a) return a.takeError();
    return declare(result, d_.laneSum(*a));
  }
  if (isa<math::ExpOp>(op)) return unary("exp");
  if (isa<math::LogOp>(op)) return unary("log");
  if (isa<math::RsqrtOp>(op)) return unary("rsqrt");
  if (isa<math::SqrtOp>(op)) return unary("sqrt");
  if (isa<math::SinOp>(op)) return unary("sin");
  if (isa<math::CosOp>(op)) return unary("cos");
  if (isa<math::TanhOp>(op)) return unary("tanh");
  if (isa<math::AbsFOp>(op)) return unary("fabs");
  // rint rounds to nearest even in the default rounding mode.
  if (isa<math::RoundEvenOp>(op)) return unary("rint");
  if (isa<math::FloorOp>(op)) return unary("floor");
  if (isa<math::CeilOp>(op)) return unary("ceil");
  if (isa<math::FmaOp, vector::FMAOp>(op)) {
    auto a = operand(0);
    if (!a) return a.takeError();
    auto b = operand(1);
    if (!b) return b.takeError();
    auto c = operand(2);
    if (!c) return c.takeError();
    return declare(result, "fma(" + *a + ", " + *b + ", " + *c + ")");
  }
  if (isa<vector::SplatOp, vector::BroadcastOp>(op)) {
    if (isa<VectorType>(op->getOperand(0).getType()))
      return errorAt(op, "vector-to-vector broadcast is not supported");
    auto a = operand(0);
    if (!a) return a.takeError();
    return declare(result, d_.vector(rname, *a));
  }
  if (auto r = dyn_cast<vector::ReductionOp>(op)) {
    if (r.getAcc())
      return errorAt(op, "reductions with an accumulator are not supported");
    auto a = operand(0);
    if (!a) return a.takeError();
    int64_t n = r.getSourceVectorType().getNumElements();
    // One variable, then the lanes in order: the sequential order of LLVM's
    // vector.reduce.fadd without reassociation, as on the CPU.
    std::string v = fresh("w");
    indent();
    os_ << typeName(r.getSourceVectorType()) << " " << v << " = " << *a << ";\n";
    auto lane = [&](int64_t i) { return d_.lane(v, i); };
    std::string acc = lane(0);
    using K = vector::CombiningKind;
    for (int64_t i = 1; i < n; ++i) {
      switch (r.getKind()) {
      case K::ADD: acc = "(" + acc + " + " + lane(i) + ")"; break;
      case K::MUL: acc = "(" + acc + " * " + lane(i) + ")"; break;
      case K::MAXIMUMF: case K::MAXNUMF: acc = "fmax(" + acc + ", " + lane(i) + ")"; break;
      case K::MINIMUMF: case K::MINNUMF: acc = "fmin(" + acc + ", " + lane(i) + ")"; break;
      case K::MAXSI: acc = "max(" + acc + ", " + lane(i) + ")"; break;
      case K::MINSI: acc = "min(" + acc + ", " + lane(i) + ")"; break;
      default: return errorAt(op, "unsupported reduction kind");
      }
    }
    return declare(result, acc);
  }
  if (auto e = dyn_cast<vector::ExtractOp>(op)) {
    if (e.hasDynamicPosition() || e.getStaticPosition().size() != 1 ||
        isa<VectorType>(rt))
      return errorAt(op, "only a constant lane of a 1-D vector can be extracted");
    auto a = operand(0);
    if (!a) return a.takeError();
    int64_t i = e.getStaticPosition()[0];
    return declare(result, d_.lane("(" + *a + ")", i));
  }
  return errorAt(op, "operation not supported");
}

llvm::Error KernelPrinter::printFunction(func::FuncOp fn, StringRef cname,
                                         const llvm::StringSet<> &globals) {
  globals_ = &globals;
  os_ << "static void " << cname << "(";
  bool first = true;
  for (BlockArgument arg : fn.getArguments()) {
    os_ << (first ? "" : ", ");
    first = false;
    std::string name = "a" + std::to_string(arg.getArgNumber());
    if (auto m = dyn_cast<MemRefType>(arg.getType())) {
      std::string el = memoryName(m.getElementType());
      if (el.empty() || !m.hasStaticShape())
        return errorAt(fn, "unsupported binding type");
      os_ << d_.space(CSpace::Buffer) << " " << el << " *" << name;
      memrefs_[arg] = {name, CSpace::Buffer};
    } else if (arg.getType().isIndex()) {
      os_ << d_.indexType() << " " << name;
      names_[arg] = name;
    } else {
      return errorAt(fn, "unsupported argument type");
    }
  }
  if (fn->hasAttr("llm.lanes"))
    os_ << d_.laneParams();
  os_ << ") {\n";
  if (fn.getBody().getBlocks().size() != 1)
    return errorAt(fn, "the kernel has more than one block");
  if (auto err = printBlock(fn.getBody().front()))
    return err;
  os_ << "}\n\n";
  return llvm::Error::success();
}

} // namespace

std::string llmc::targets::cScalarName(const CDialect &d, Type t) {
  return scalarName(d, t);
}

std::string llmc::targets::cMemoryName(const CDialect &d, Type t) {
  return memoryName(d, t);
}

llvm::Error llmc::targets::cPrintError(const CDialect &d, Operation *op,
                                       const llvm::Twine &msg) {
  op->emitError(std::string("cannot print as ") + d.name() + ": ") << msg;
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 std::string("the kernels cannot be printed as ") +
                                     d.name());
}

llvm::Error llmc::targets::printCConstantTables(llvm::raw_ostream &os,
                                                const CDialect &d, ModuleOp module,
                                                llvm::StringSet<> &globals) {
  for (auto g : module.getOps<memref::GlobalOp>()) {
    auto init = dyn_cast_or_null<DenseElementsAttr>(g.getInitialValueAttr());
    MemRefType t = g.getType();
    if (!g.getConstant() || !init || !t.hasStaticShape() ||
        !(t.getElementType().isF32() || t.getElementType().isInteger(32)))
      return cPrintError(d, g, "only constant f32 / i32 tables are supported");
    os << d.space(CSpace::Constant) << " " << scalarName(d, t.getElementType())
       << " " << g.getSymName() << "[" << t.getNumElements() << "] = {";
    bool first = true;
    for (Attribute e : init.getValues<Attribute>()) {
      os << (first ? "" : ", ");
      first = false;
      if (auto f = dyn_cast<FloatAttr>(e))
        os << d.floatLiteral(f.getValueAsDouble());
      else
        os << cast<IntegerAttr>(e).getValue().getSExtValue();
    }
    os << "};\n";
    globals.insert(g.getSymName());
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<CKernel>>
llmc::targets::dispatchedCKernels(const CDialect &d, ModuleOp module) {
  std::vector<CKernel> kernels;
  llvm::StringSet<> done;
  for (auto schedule : module.getOps<llmc::llm::ScheduleOp>())
    for (auto dispatch : schedule.getOps<llmc::llm::DispatchOp>()) {
      StringRef name = dispatch.getKernel();
      if (!done.insert(name).second)
        continue;
      CKernel k;
      k.fn = module.lookupSymbol<func::FuncOp>(name);
      if (!k.fn || k.fn.isExternal())
        return cPrintError(d, dispatch, "kernel '" + name + "' has no body");
      k.numBindings = dispatch.getBindings().size();
      k.numScalars = dispatch.getScalars().size();
      if (k.fn.getNumArguments() != k.numBindings + k.numScalars + 2)
        return cPrintError(d, dispatch,
                           "kernel '" + name + "' does not match its dispatch");
      if (auto a = k.fn->getAttrOfType<IntegerAttr>("llm.lanes")) {
        k.lanes = a.getInt();
        if (k.lanes < 1 || (k.lanes & (k.lanes - 1)) || k.lanes > 1024)
          return cPrintError(d, k.fn, "llm.lanes must be a power of two in [1, 1024]");
      }
      kernels.push_back(k);
    }
  return kernels;
}

llvm::Error llmc::targets::printCKernelFunction(llvm::raw_ostream &os,
                                                const CDialect &d, func::FuncOp fn,
                                                llvm::StringRef cname,
                                                const llvm::StringSet<> &globals) {
  KernelPrinter printer(os, d);
  return printer.printFunction(fn, cname, globals);
}
