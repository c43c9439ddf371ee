//===- CKernelPrinter.h - dispatch-level kernels as C-family text -*- C++ -*-===//
//
// OpenCL C and the Metal Shading Language are both C with vectors, address
// spaces and a kernel entry: the dispatch-level kernels (loops over static
// memrefs in scf / arith / math / vector / memref) print into either one op
// for one statement. This is that printer, shared by targets/opencl and
// targets/metal; a CDialect says how each language spells what differs
// (vector loads and element access, f16 memory, conversions, the lane sum
// of distributed kernels, literals). The entry wrappers and program
// preambles stay with each target.
//
// Values are C variables named after a counter (v0, c1, i2, ...);
// constants are printed inline. f16 *values* are floats already rounded to
// half precision (arith.truncf rounds, arith.extf is free); only memory is
// half. Unsigned operations reinterpret their operands as unsigned types.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGETS_CKERNELPRINTER_H
#define LLMC_TARGETS_CKERNELPRINTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
class Operation;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace llmc::targets {

/// Where a memref lives, as the printer sees it.
enum class CSpace { Buffer, Private, Constant };

/// The spellings of one C-family kernel language.
class CDialect {
public:
  virtual ~CDialect() = default;
  /// For diagnostics: "cannot print as <name>: ...".
  virtual const char *name() const = 0;
  /// The C type of `index` values ("long" in OpenCL C, "int" in MSL).
  virtual std::string indexType() const = 0;
  /// An index or i64 literal of value `v`.
  virtual std::string longLiteral(int64_t v, bool isIndex) const = 0;
  virtual std::string floatLiteral(double v) const = 0;
  /// The address-space qualifier of `space` ("__global", "device", ...).
  virtual std::string space(CSpace space) const = 0;
  /// Whether vectors of `n` lanes exist.
  virtual bool vectorWidth(int64_t n) const = 0;
  /// Lane `i` of vector variable `v`.
  virtual std::string lane(const std::string &v, int64_t i) const = 0;
  /// A vector of type `type` from comma-separated `elems` (one: a splat).
  virtual std::string vector(const std::string &type,
                             const std::string &elems) const = 0;
  /// Element-wise conversion and same-size reinterpretation of a vector.
  virtual std::string convertVector(const std::string &to,
                                    const std::string &x) const = 0;
  virtual std::string bitcastVector(const std::string &to,
                                    const std::string &x) const = 0;
  /// Element `idx` (scalar: `lanes` 0) or the `lanes` elements from `idx`
  /// of `base`, whose memory type is `elem` ("half", "float", "char", ...);
  /// half memory reads as float.
  virtual std::string load(CSpace space, const std::string &elem, int64_t lanes,
                           const std::string &base,
                           const std::string &idx) const = 0;
  /// The statement storing `value` there (half memory rounds to nearest
  /// even).
  virtual std::string store(CSpace space, const std::string &elem, int64_t lanes,
                            const std::string &base, const std::string &idx,
                            const std::string &value) const = 0;
  /// `x` (a float, or a vector of `lanes` floats) rounded to half precision
  /// and back; "" where the language cannot.
  virtual std::string roundHalf(const std::string &x, int64_t lanes) const = 0;
  /// The sum over the row's lanes of a distributed kernel (llm.lane_sum).
  virtual std::string laneSum(const std::string &x) const = 0;
  /// Extra parameters of a distributed kernel's body function (after the
  /// kernel's own), e.g. OpenCL's local-memory scratch; "" for none.
  virtual std::string laneParams() const = 0;
};

/// The C name of a scalar value type (f16 values are float), "" if none.
std::string cScalarName(const CDialect &d, mlir::Type t);
/// The C name of a buffer's element type (f16 memory is half).
std::string cMemoryName(const CDialect &d, mlir::Type t);

/// Reports `msg` at `op` ("cannot print as <language>: msg", an MLIR
/// diagnostic with its location) and returns the error that stops printing.
llvm::Error cPrintError(const CDialect &d, mlir::Operation *op,
                        const llvm::Twine &msg);

/// The module's constant tables (RoPE frequencies) as program-scope arrays
/// in the constant address space; their names go into `globals`.
llvm::Error printCConstantTables(llvm::raw_ostream &os, const CDialect &d,
                                 mlir::ModuleOp module, llvm::StringSet<> &globals);

/// A kernel the schedule launches, checked against its first dispatch.
struct CKernel {
  mlir::func::FuncOp fn;
  size_t numBindings = 0, numScalars = 0;
  /// `llm.lanes` (a power of two in [1, 1024]), 0 if not distributed.
  int64_t lanes = 0;
};

/// Every kernel the module's schedule launches, in order of first launch;
/// an error at the dispatch whose kernel has no body or another signature.
llvm::Expected<std::vector<CKernel>> dispatchedCKernels(const CDialect &d,
                                                        mlir::ModuleOp module);

/// Kernel `fn` as `static void <cname>(...)`: one pointer per memref
/// argument (in the buffer space), one index per index argument, then the
/// dialect's lane parameters if `fn` is distributed (`llm.lanes`).
llvm::Error printCKernelFunction(llvm::raw_ostream &os, const CDialect &d,
                                 mlir::func::FuncOp fn, llvm::StringRef cname,
                                 const llvm::StringSet<> &globals);

} // namespace llmc::targets

#endif // LLMC_TARGETS_CKERNELPRINTER_H
