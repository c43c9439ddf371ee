//===- OpenCLEmitter.cpp - dispatch-level kernels as OpenCL C --------------===//
//
// The kernels' bodies are printed by the C-family printer shared with the
// Metal target (targets/CKernelPrinter.h) in OpenCL C's spellings; this file
// adds those spellings, the program's preamble and the __kernel wrappers.
//
// Type mapping: index -> long, f32 -> float, i8 / i32 / i64 -> char / int /
// long, vector<N x T> -> TN. f16 has no arithmetic type in OpenCL C 1.2
// without cl_khr_fp16 (PoCL has none), so f16 *values* are floats already
// rounded to half precision (truncf rounds through vstore_half_rte), and
// f16 memory is read and written with the core vload_half / vstore_half_rte.
// Unsigned arithmetic ops reinterpret their operands as unsigned types.
//
//===----------------------------------------------------------------------===//

#include "targets/opencl/OpenCLEmitter.h"

#include "targets/CKernelPrinter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;

namespace {

/// OpenCL C 1.2: f16 memory through the core vload_half / vstore_half_rte
/// (no cl_khr_fp16 on PoCL), `long` indices, vectors of 2 to 16 lanes.
class OpenCLDialect : public llmc::targets::CDialect {
public:
  using CSpace = llmc::targets::CSpace;
  const char *name() const override { return "OpenCL C"; }
  std::string indexType() const override { return "long"; }
  std::string longLiteral(int64_t v, bool) const override {
    if (v == INT64_MIN) return "(-9223372036854775807L - 1)";
    std::string lit = std::to_string(v) + "L";
    return v < 0 ? "(" + lit + ")" : lit;
  }
  std::string floatLiteral(double v) const override {
    if (std::isnan(v)) return "NAN";
    if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
    // Hex floats are exact and valid OpenCL C (C99).
    std::string s;
    llvm::raw_string_ostream os(s);
    os << llvm::format("%a", v) << "f";
    return os.str();
  }
  std::string space(CSpace s) const override {
    return s == CSpace::Buffer ? "__global" : s == CSpace::Constant ? "__constant" : "__private";
  }
  bool vectorWidth(int64_t n) const override {
    return n == 2 || n == 3 || n == 4 || n == 8 || n == 16;
  }
  std::string lane(const std::string &v, int64_t i) const override {
    return v + ".s" + std::string(1, "0123456789abcdef"[i]);
  }
  std::string vector(const std::string &type, const std::string &elems) const override {
    return "((" + type + ")(" + elems + "))";
  }
  std::string convertVector(const std::string &to, const std::string &x) const override {
    return "convert_" + to + "(" + x + ")";
  }
  std::string bitcastVector(const std::string &to, const std::string &x) const override {
    return "as_" + to + "(" + x + ")";
  }
  std::string load(CSpace s, const std::string &elem, int64_t lanes,
                   const std::string &base, const std::string &idx) const override {
    bool half = elem == "half";
    if (!lanes)
      return half ? "vload_half(" + idx + ", " + base + ")" : base + "[" + idx + "]";
    return (half ? "vload_half" : "vload") + std::to_string(lanes) + "(0, " + base +
           " + (" + idx + "))";
  }
  std::string store(CSpace s, const std::string &elem, int64_t lanes,
                    const std::string &base, const std::string &idx,
                    const std::string &value) const override {
    bool half = elem == "half";
    if (!lanes)
      return half ? "vstore_half_rte(" + value + ", " + idx + ", " + base + ");"
                  : base + "[" + idx + "] = " + value + ";";
    std::string n = std::to_string(lanes);
    return (half ? "vstore_half" + n + "_rte(" : "vstore" + n + "(") + value + ", 0, " +
           base + " + (" + idx + "));";
  }
  std::string roundHalf(const std::string &x, int64_t lanes) const override {
    if (!lanes)
      return "llmc_round_half(" + x + ")";
    if (lanes != 2 && lanes != 4 && lanes != 8 && lanes != 16)
      return "";
    return "llmc_round_half" + std::to_string(lanes) + "(" + x + ")";
  }
  std::string laneSum(const std::string &x) const override {
    return "llmc_lane_sum(" + x + ", llmc_ls)";
  }
  std::string laneParams() const override { return ", __local float *llmc_ls"; }
};

} // namespace

namespace {

/// `llmc-opt --llmc-print-opencl`: prints the OpenCL C program of a
/// dispatch-level module on stdout and leaves the module as it is (for lit
/// tests of the printer).
struct PrintOpenCLPass
    : public PassWrapper<PrintOpenCLPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PrintOpenCLPass)
  PrintOpenCLPass() = default;
  PrintOpenCLPass(const PrintOpenCLPass &other) : PassWrapper(other) {}
  StringRef getArgument() const override { return "llmc-print-opencl"; }
  StringRef getDescription() const override {
    return "Print the dispatch-level kernels as an OpenCL C program on stdout";
  }
  Option<int64_t> workgroupSize{*this, "workgroup-size",
                                llvm::cl::desc("Work-items per workgroup"),
                                llvm::cl::init(64)};
  void runOnOperation() override {
    llmc::opencl::OpenCLEmitOptions options;
    options.workgroupSize = workgroupSize;
    auto text = llmc::opencl::emitOpenCL(getOperation(), options);
    if (!text) {
      llvm::consumeError(text.takeError());
      return signalPassFailure();
    }
    llvm::outs() << *text;
  }
};

} // namespace

void llmc::opencl::registerOpenCLTargetPasses() {
  static PassRegistration<PrintOpenCLPass> pass;
  (void)pass;
}

std::string llmc::opencl::openclEntryName(llvm::StringRef kernel) {
  return "llmc_" + kernel.str();
}

llvm::Expected<std::string>
llmc::opencl::emitOpenCL(ModuleOp module, const OpenCLEmitOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "// OpenCL C 1.2, generated by llmc" << (options.banner.empty() ? "" : ": ")
     << options.banner << "\n"
     << "// One kernel per dispatch-level kernel; work-item i of a launch runs\n"
     << "// iteration i of [0, grid). Buffers arrive as (base, byte offset).\n\n"
     << "// Matrix-vector kernels (llm.lanes) give each row a workgroup: its\n"
     << "// lanes' partial sums meet in llmc_lane_sum, a subgroup reduction\n"
     << "// where the device has subgroups, else a tree in local memory.\n"
     << "#if defined(cl_khr_subgroups)\n"
     << "#pragma OPENCL EXTENSION cl_khr_subgroups : enable\n"
     << "#define LLMC_SUBGROUPS 1\n"
     << "#elif defined(__opencl_c_subgroups)\n"
     << "#define LLMC_SUBGROUPS 1\n"
     << "#endif\n"
     << "#if defined(cl_qcom_reqd_sub_group_size)\n"
     << "#pragma OPENCL EXTENSION cl_qcom_reqd_sub_group_size : enable\n"
     << "// Adreno: half waves (64 fibers), one subgroup per 64-lane row.\n"
     << "#define LLMC_WAVE __attribute__((qcom_reqd_sub_group_size(\"half\")))\n"
     << "#else\n"
     << "#define LLMC_WAVE\n"
     << "#endif\n\n"
     << "// Sum of x over the workgroup, returned to every work-item; every\n"
     << "// work-item must call it. s holds one float per work-item.\n"
     << "static float llmc_lane_sum(float x, __local float *s) {\n"
     << "#ifdef LLMC_SUBGROUPS\n"
     << "  float v = sub_group_reduce_add(x);\n"
     << "  if (get_num_sub_groups() == 1) return v;\n"
     << "  if (get_sub_group_local_id() == 0) s[get_sub_group_id()] = v;\n"
     << "  barrier(CLK_LOCAL_MEM_FENCE);\n"
     << "  float t = 0.0f;\n"
     << "  for (uint i = 0; i < get_num_sub_groups(); ++i) t += s[i];\n"
     << "  barrier(CLK_LOCAL_MEM_FENCE);\n"
     << "  return t;\n"
     << "#else\n"
     << "  uint l = get_local_id(0);\n"
     << "  s[l] = x;\n"
     << "  barrier(CLK_LOCAL_MEM_FENCE);\n"
     << "  if (l == 0) {\n"
     << "    float t = 0.0f;\n"
     << "    for (uint i = 0; i < get_local_size(0); ++i) t += s[i];\n"
     << "    s[get_local_size(0)] = t;\n"
     << "  }\n"
     << "  barrier(CLK_LOCAL_MEM_FENCE);\n"
     << "  float t = s[get_local_size(0)];\n"
     << "  barrier(CLK_LOCAL_MEM_FENCE);\n"
     << "  return t;\n"
     << "#endif\n"
     << "}\n\n"
     << "// f32 -> f16 -> f32: the value an f16 store would keep.\n"
     << "static float llmc_round_half(float x) {\n"
     << "  ushort h;\n"
     << "  vstore_half_rte(x, 0, (__private half *)&h);\n"
     << "  return vload_half(0, (__private half *)&h);\n"
     << "}\n";
  for (int n : {2, 4, 8, 16})
    os << "static float" << n << " llmc_round_half" << n << "(float" << n
       << " x) {\n"
       << "  ushort h[" << n << "];\n"
       << "  vstore_half" << n << "_rte(x, 0, (__private half *)h);\n"
       << "  return vload_half" << n << "(0, (__private half *)h);\n"
       << "}\n";
  os << "\n";

  // Constant tables (RoPE frequencies) as program-scope __constant arrays.
  OpenCLDialect dialect;
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
    // A distributed kernel's workgroup is its row's lanes.
    int64_t lanes = k.lanes;
    if (auto err = llmc::targets::printCKernelFunction(os, dialect, fn, name, globals))
      return std::move(err);
    os << "__kernel __attribute__((reqd_work_group_size("
       << (lanes ? lanes : options.workgroupSize) << ", 1, 1)))"
       << (lanes ? " LLMC_WAVE" : "") << "\nvoid " << openclEntryName(name) << "(";
    for (size_t i = 0; i < numBindings; ++i)
      os << (i ? ", " : "") << "__global uchar *b" << i << ", ulong o" << i;
    for (size_t i = 0; i < numScalars; ++i)
      os << ", long s" << i;
    os << ", long grid) {\n";
    if (lanes)
      os << "  __local float llmc_ls[" << lanes + 1 << "];\n";
    // A distributed kernel's grid is whole rows of lanes, so whole
    // workgroups return here or none: its barriers stay uniform.
    os << "  long i = (long)get_global_id(0);\n"
       << "  if (i >= grid) return;\n"
       << "  " << name << "(";
    for (size_t i = 0; i < numBindings; ++i) {
      auto m = cast<MemRefType>(fn.getArgumentTypes()[i]);
      os << (i ? ", " : "") << "(__global "
         << llmc::targets::cMemoryName(dialect, m.getElementType())
         << " *)(b" << i << " + o" << i << ")";
    }
    for (size_t i = 0; i < numScalars; ++i)
      os << ", s" << i;
    os << ", i, i + 1" << (lanes ? ", llmc_ls" : "") << ");\n}\n\n";
  }
  return os.str();
}
