//===- MetalEmitter.cpp - dispatch-level kernels as MSL --------------------===//
//
// MSL is C++ with address spaces: the bodies come from the shared C-family
// printer, spelled here. Choices that differ from OpenCL C and why:
//
// * `int` indices: Apple GPUs do 32-bit integer math natively and every
//   index of a Llama binding fits (the largest, an 8B model's embedding
//   codes, is 5.3e8 elements).
// * Vectors of at most 4 lanes (MSL has no 8 or 16), read and written
//   through `packed_` types, which only need the scalar's alignment.
// * `half` memory is read by conversion and written rounded to nearest
//   even; f16 values stay floats rounded through `half`, as on OpenCL, so
//   both targets compute the same numbers.
// * Literals in decimal with 9 significant digits (exact for f32): hex
//   floats are C++17 and MSL is C++14-based.
// * `llm.lane_sum` is `simd_sum`: a distributed kernel's row is one
//   SIMD-group (lanes = threadgroup = SIMD width), so no threadgroup memory
//   or barrier is needed.
//
//===----------------------------------------------------------------------===//

#include "targets/metal/MetalEmitter.h"

#include "targets/CKernelPrinter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using llmc::targets::CSpace;

namespace {

class MSLDialect : public llmc::targets::CDialect {
public:
  const char *name() const override { return "MSL"; }
  std::string indexType() const override { return "int"; }
  std::string longLiteral(int64_t v, bool isIndex) const override {
    std::string lit = std::to_string(v) + (isIndex ? "" : "L");
    return v < 0 ? "(" + lit + ")" : lit;
  }
  std::string floatLiteral(double v) const override {
    if (std::isnan(v)) return "NAN";
    if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
    std::string s;
    llvm::raw_string_ostream os(s);
    os << llvm::format("%.9g", v);
    if (s.find_first_of(".en") == std::string::npos)
      s += ".0";
    return s + "f";
  }
  std::string space(CSpace s) const override {
    return s == CSpace::Buffer ? "device" : s == CSpace::Constant ? "constant" : "thread";
  }
  bool vectorWidth(int64_t n) const override { return n >= 2 && n <= 4; }
  std::string lane(const std::string &v, int64_t i) const override {
    return v + "[" + std::to_string(i) + "]";
  }
  std::string vector(const std::string &type, const std::string &elems) const override {
    return type + "(" + elems + ")";
  }
  std::string convertVector(const std::string &to, const std::string &x) const override {
    return to + "(" + x + ")";
  }
  std::string bitcastVector(const std::string &to, const std::string &x) const override {
    return "as_type<" + to + ">(" + x + ")";
  }
  std::string load(CSpace s, const std::string &elem, int64_t lanes,
                   const std::string &base, const std::string &idx) const override {
    bool half = elem == "half";
    if (!lanes)
      return half ? "float(" + base + "[" + idx + "])" : base + "[" + idx + "]";
    std::string n = std::to_string(lanes);
    return (half ? "float" : elem) + n + "(*(" + space(s) + " const packed_" + elem +
           n + " *)(" + base + " + (" + idx + ")))";
  }
  std::string store(CSpace s, const std::string &elem, int64_t lanes,
                    const std::string &base, const std::string &idx,
                    const std::string &value) const override {
    bool half = elem == "half";
    if (!lanes)
      return base + "[" + idx + "] = " + (half ? "half(" + value + ")" : value) + ";";
    std::string n = std::to_string(lanes);
    return "*(" + space(s) + " packed_" + elem + n + " *)(" + base + " + (" + idx +
           ")) = " + (half ? "half" + n + "(" + value + ")" : value) + ";";
  }
  std::string roundHalf(const std::string &x, int64_t lanes) const override {
    if (!lanes)
      return "float(half(" + x + "))";
    std::string n = std::to_string(lanes);
    return "float" + n + "(half" + n + "(" + x + "))";
  }
  std::string laneSum(const std::string &x) const override {
    return "simd_sum(" + x + ")";
  }
  std::string laneParams() const override { return ""; }
};

/// `llmc-opt --llmc-print-msl`: prints the MSL source of a dispatch-level
/// module on stdout and leaves the module as it is (for lit tests).
struct PrintMSLPass : public PassWrapper<PrintMSLPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PrintMSLPass)
  PrintMSLPass() = default;
  PrintMSLPass(const PrintMSLPass &other) : PassWrapper(other) {}
  StringRef getArgument() const override { return "llmc-print-msl"; }
  StringRef getDescription() const override {
    return "Print the dispatch-level kernels as Metal Shading Language on stdout";
  }
  Option<int64_t> threadgroupSize{*this, "threadgroup-size",
                                  llvm::cl::desc("Threads per threadgroup"),
                                  llvm::cl::init(32)};
  void runOnOperation() override {
    llmc::metal::MetalEmitOptions options;
    options.threadgroupSize = threadgroupSize;
    auto text = llmc::metal::emitMSL(getOperation(), options);
    if (!text) {
      llvm::consumeError(text.takeError());
      return signalPassFailure();
    }
    llvm::outs() << *text;
  }
};

} // namespace

void llmc::metal::registerMetalTargetPasses() {
  static PassRegistration<PrintMSLPass> pass;
  (void)pass;
}

std::string llmc::metal::metalEntryName(llvm::StringRef kernel) {
  return "llmc_" + kernel.str();
}

llvm::Expected<std::string> llmc::metal::emitMSL(ModuleOp module,
                                                 const MetalEmitOptions &options) {
  MSLDialect dialect;
  if (options.threadgroupSize < 1 || options.threadgroupSize > 1024)
    return llmc::targets::cPrintError(dialect, module,
                                      "threadgroup size must be in [1, 1024]");
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "// Metal Shading Language 2.3, generated by llmc"
     << (options.banner.empty() ? "" : ": ") << options.banner << "\n"
     << "// One kernel per dispatch-level kernel; thread i of a launch runs\n"
     << "// iteration i of [0, grid). Binding i is [[buffer(i)]]; the buffer\n"
     << "// after the bindings holds the scalars, then the grid, as int.\n"
     << "// Needs IEEE infinities: compile without fast math.\n"
     << "#include <metal_stdlib>\n"
     << "using namespace metal;\n\n";

  llvm::StringSet<> globals;
  if (auto err = llmc::targets::printCConstantTables(os, dialect, module, globals))
    return std::move(err);
  os << "\n";

  // Every dispatched kernel, in order of first launch.
  auto kernels = llmc::targets::dispatchedCKernels(dialect, module);
  if (!kernels)
    return kernels.takeError();
  for (const llmc::targets::CKernel &k : *kernels) {
    func::FuncOp fn = k.fn;
    StringRef name = fn.getSymName();
    size_t numBindings = k.numBindings, numScalars = k.numScalars;
    // simd_sum sums one SIMD-group: a distributed kernel's row must be
    // exactly that, and its threadgroup.
    if (k.lanes)
      if (k.lanes != options.simdWidth || k.lanes != options.threadgroupSize)
        return llmc::targets::cPrintError(
            dialect, fn,
            "llm.lanes " + std::to_string(k.lanes) +
                " must equal the SIMD-group width " +
                std::to_string(options.simdWidth) + " and the threadgroup size " +
                std::to_string(options.threadgroupSize));
    if (auto err =
            llmc::targets::printCKernelFunction(os, dialect, fn, name, globals))
      return std::move(err);
    os << "[[max_total_threads_per_threadgroup(" << options.threadgroupSize
       << ")]]\nkernel void " << metalEntryName(name) << "(";
    for (size_t i = 0; i < numBindings; ++i) {
      auto m = cast<MemRefType>(fn.getArgumentTypes()[i]);
      os << "device " << llmc::targets::cMemoryName(dialect, m.getElementType())
         << " *b" << i << " [[buffer(" << i << ")]], ";
    }
    os << "constant int *llmc_params [[buffer(" << numBindings << ")]], "
       << "uint llmc_gid [[thread_position_in_grid]]) {\n";
    // A distributed kernel's grid is whole rows of lanes, so whole
    // SIMD-groups return here or none: simd_sum sees full groups.
    os << "  int i = int(llmc_gid);\n"
       << "  if (i >= llmc_params[" << numScalars << "]) return;\n"
       << "  " << name << "(";
    for (size_t i = 0; i < numBindings; ++i)
      os << "b" << i << ", ";
    for (size_t i = 0; i < numScalars; ++i)
      os << "llmc_params[" << i << "], ";
    os << "i, i + 1);\n}\n\n";
  }
  return os.str();
}
