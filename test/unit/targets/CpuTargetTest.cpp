//===- CpuTargetTest.cpp - the CPU back end end to end ---------------------===//
//
// Compiles small kernel-level modules to a shared object, loads it from
// memory (memfd + dlopen) and checks its numbers against C++ references.
//
//===----------------------------------------------------------------------===//

#include "targets/cpu/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/Program.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace {

using ForwardFn = void (*)(const uint8_t *weights, uint8_t *arena, uint8_t *kv,
                           const int32_t *tokens, int64_t n_tokens, int64_t start_pos,
                           float *logits, int64_t all_logits);

// Two private kernels called from @llmc_forward:
//  @matvec_exp: out[i] = exp(sum_k w[i,k] * x[k]) * rsqrt(1 + x[i]^2), w 4x16
//    at weights[0], x at arena[64]; vector<8xf32> loads, fma, reduction.
//  @rope_like: kv viewed as f32[16]; a subview at the dynamic offset
//    start_pos (4 elements) gets cos(p*j) + sin(p*j) + powf(x[j], 1.5) +
//    tanh(x[j]) + n_tokens, with p = start_pos.
constexpr const char *kModule = R"mlir(
module {
  func.func private @matvec_exp(%w: memref<64xf32>, %x: memref<16xf32>, %out: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %f0 = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %z = arith.constant dense<0.0> : vector<8xf32>
    scf.for %i = %c0 to %c4 step %c1 {
      %row = arith.muli %i, %c16 : index
      %acc = scf.for %k = %c0 to %c16 step %c8 iter_args(%a = %z) -> vector<8xf32> {
        %off = arith.addi %row, %k : index
        %wv = vector.transfer_read %w[%off], %f0 {in_bounds = [true]} : memref<64xf32>, vector<8xf32>
        %xv = vector.transfer_read %x[%k], %f0 {in_bounds = [true]} : memref<16xf32>, vector<8xf32>
        %r = vector.fma %wv, %xv, %a : vector<8xf32>
        scf.yield %r : vector<8xf32>
      }
      %s = vector.reduction <add>, %acc : vector<8xf32> into f32
      %e = math.exp %s : f32
      %xi = memref.load %x[%i] : memref<16xf32>
      %sq = arith.mulf %xi, %xi : f32
      %d = arith.addf %sq, %one : f32
      %rs = math.rsqrt %d : f32
      %o = arith.mulf %e, %rs : f32
      memref.store %o, %out[%i] : memref<4xf32>
    }
    return
  }
  func.func private @rope_like(%kv: memref<16xf32>, %x: memref<16xf32>, %pos: i64, %n: i64) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %e = arith.constant 1.5 : f32
    %p = arith.index_cast %pos : i64 to index
    %pf = arith.sitofp %pos : i64 to f32
    %nf = arith.sitofp %n : i64 to f32
    %dst = memref.subview %kv[%p] [4] [1] : memref<16xf32> to memref<4xf32, strided<[1], offset: ?>>
    scf.for %j = %c0 to %c4 step %c1 {
      %ji = arith.index_cast %j : index to i64
      %jf = arith.sitofp %ji : i64 to f32
      %a = arith.mulf %pf, %jf : f32
      %c = math.cos %a : f32
      %s = math.sin %a : f32
      %xj = memref.load %x[%j] : memref<16xf32>
      %pw = math.powf %xj, %e : f32
      %th = math.tanh %xj : f32
      %t0 = arith.addf %c, %s : f32
      %t1 = arith.addf %t0, %pw : f32
      %t2 = arith.addf %t1, %th : f32
      %t3 = arith.addf %t2, %nf : f32
      memref.store %t3, %dst[%j] : memref<4xf32, strided<[1], offset: ?>>
    }
    return
  }
  func.func @llmc_forward(%weights: memref<256xi8>, %arena: memref<128xi8>, %kv: memref<64xi8>,
                          %tokens: memref<4xi32>, %n_tokens: i64, %start_pos: i64,
                          %logits: memref<4xf32>, %all_logits: i64) {
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %w = memref.view %weights[%c0][] : memref<256xi8> to memref<64xf32>
    %x = memref.view %arena[%c64][] : memref<128xi8> to memref<16xf32>
    %kvf = memref.view %kv[%c0][] : memref<64xi8> to memref<16xf32>
    func.call @matvec_exp(%w, %x, %logits) : (memref<64xf32>, memref<16xf32>, memref<4xf32>) -> ()
    func.call @rope_like(%kvf, %x, %start_pos, %n_tokens) : (memref<16xf32>, memref<16xf32>, i64, i64) -> ()
    return
  }
}
)mlir";

struct Parsed {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

Parsed parse(const char *source, bool allowUnregistered = false) {
  mlir::DialectRegistry registry;
  llmc::cpu::registerCpuTargetDialects(registry);
  Parsed parsed;
  parsed.context = std::make_unique<mlir::MLIRContext>(registry);
  parsed.context->allowUnregisteredDialects(allowUnregistered);
  parsed.module = mlir::parseSourceString<mlir::ModuleOp>(source, parsed.context.get());
  return parsed;
}

/// Loads a shared object from memory; closes the handle on destruction.
class LoadedObject {
public:
  explicit LoadedObject(const std::vector<uint8_t> &bytes) {
    int fd = memfd_create("llmc_kernels", MFD_CLOEXEC);
    if (fd < 0)
      return;
    size_t written = 0;
    while (written < bytes.size()) {
      ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
      if (n <= 0)
        break;
      written += static_cast<size_t>(n);
    }
    if (written == bytes.size()) {
      std::string path = "/proc/self/fd/" + std::to_string(fd);
      handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle_)
        error_ = dlerror();
    }
    close(fd);
  }
  ~LoadedObject() {
    if (handle_)
      dlclose(handle_);
  }
  void *handle() const { return handle_; }
  const std::string &error() const { return error_; }

private:
  void *handle_ = nullptr;
  std::string error_;
};

bool closeRel(float actual, float expected, float rel) {
  return std::fabs(actual - expected) <= rel * std::max(1.0f, std::fabs(expected));
}

void compileRunAndCheck(const llmc::cpu::CpuTargetOptions &options) {
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, options);
  ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
  ASSERT_GT(bytes->size(), 4u);
  EXPECT_EQ(0, std::memcmp(bytes->data(), "\x7f" "ELF", 4));

  LoadedObject object(*bytes);
  ASSERT_NE(object.handle(), nullptr) << object.error();
  auto forward = reinterpret_cast<ForwardFn>(dlsym(object.handle(), "llmc_forward"));
  ASSERT_NE(forward, nullptr);
  // Private functions are internal: only the public entry point is exported.
  EXPECT_EQ(dlsym(object.handle(), "matvec_exp"), nullptr);
  EXPECT_EQ(dlsym(object.handle(), "rope_like"), nullptr);

  std::vector<float> w(64), x(16);
  for (int i = 0; i < 64; ++i)
    w[i] = 0.01f * static_cast<float>((i * 37) % 23 - 11);
  for (int k = 0; k < 16; ++k)
    x[k] = 0.05f * static_cast<float>((k * 11) % 13) + 0.1f;
  std::vector<uint8_t> weights(256), arena(128, 0xAB), kv(64, 0);
  std::memcpy(weights.data(), w.data(), 256);
  std::memcpy(arena.data() + 64, x.data(), 64);
  std::vector<int32_t> tokens = {1, 2, 3, 4};
  std::vector<float> logits(4, -1.0f);
  const int64_t nTokens = 3, startPos = 5;

  forward(weights.data(), arena.data(), kv.data(), tokens.data(), nTokens, startPos,
          logits.data(), 0);

  for (int i = 0; i < 4; ++i) {
    double dot = 0;
    for (int k = 0; k < 16; ++k)
      dot += static_cast<double>(w[i * 16 + k]) * x[k];
    double expected = std::exp(dot) / std::sqrt(1.0 + double(x[i]) * x[i]);
    EXPECT_TRUE(closeRel(logits[i], static_cast<float>(expected), 1e-5f))
        << "logits[" << i << "] = " << logits[i] << ", expected " << expected;
  }
  std::vector<float> kvf(16);
  std::memcpy(kvf.data(), kv.data(), 64);
  for (int j = 0; j < 16; ++j) {
    if (j < startPos || j >= startPos + 4) {
      EXPECT_EQ(kvf[j], 0.0f) << "kv[" << j << "] written outside the subview";
      continue;
    }
    int jj = j - static_cast<int>(startPos);
    double a = double(startPos) * jj;
    double expected = std::cos(a) + std::sin(a) + std::pow(double(x[jj]), 1.5) +
                      std::tanh(double(x[jj])) + double(nTokens);
    EXPECT_TRUE(closeRel(kvf[j], static_cast<float>(expected), 1e-5f))
        << "kv[" << j << "] = " << kvf[j] << ", expected " << expected;
  }
  // The arena outside x is untouched.
  for (int b = 0; b < 64; ++b)
    EXPECT_EQ(arena[b], 0xAB);
}

TEST(CpuTarget, CompilesLoadsAndMatchesReference) { compileRunAndCheck({}); }

TEST(CpuTarget, CompilesAtO0) {
  llmc::cpu::CpuTargetOptions options;
  options.optLevel = 0;
  compileRunAndCheck(options);
}

TEST(CpuTarget, ExternalLinker) {
  auto lld = llvm::sys::findProgramByName("ld.lld-19");
  if (!lld)
    lld = llvm::sys::findProgramByName("ld.lld");
  if (!lld)
    GTEST_SKIP() << "no ld.lld on PATH";
  llmc::cpu::CpuTargetOptions options;
  options.lldPath = *lld;
  compileRunAndCheck(options);
}

TEST(CpuTarget, EmitsBarePointerEntryAndInternalKernels) {
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  llmc::cpu::CpuTargetOptions options;
  options.optLevel = 0; // keep the kernels as functions
  auto ir = llmc::cpu::emitLLVMIR(*parsed.module, options);
  ASSERT_TRUE(static_cast<bool>(ir)) << llvm::toString(ir.takeError());
  EXPECT_NE(ir->find("define void @llmc_forward(ptr "), std::string::npos) << *ir;
  EXPECT_NE(ir->find("define internal void @matvec_exp(ptr "), std::string::npos) << *ir;
}

TEST(CpuTarget, UsesHostVectorFeatures) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    GTEST_SKIP() << "host without AVX2+FMA";
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  auto assembly = llmc::cpu::emitAssembly(*parsed.module, {});
  ASSERT_TRUE(static_cast<bool>(assembly)) << llvm::toString(assembly.takeError());
  EXPECT_NE(assembly->find("vfmadd"), std::string::npos) << *assembly;
  EXPECT_NE(assembly->find("%ymm"), std::string::npos) << *assembly;
}

// sin and cos become arithmetic in the kernels (no libm import): compared
// with the C library's double-precision sin / cos at RoPE's angles (position
// times inverse frequency, theta 500000, positions to 131071), over
// [-2e5, 2e5], near 0 and at multiples of pi/2; scalar (sin) and vector
// (cos) code paths; NaN in, or an angle past 2^31, gives NaN.
constexpr const char *kSinCosModule = R"mlir(
module {
  func.func @sincos(%x: memref<4096xf32>, %s: memref<4096xf32>, %c: memref<4096xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %n = arith.constant 4096 : index
    %f0 = arith.constant 0.0 : f32
    scf.for %i = %c0 to %n step %c1 {
      %v = memref.load %x[%i] : memref<4096xf32>
      %r = math.sin %v : f32
      memref.store %r, %s[%i] : memref<4096xf32>
    }
    scf.for %i = %c0 to %n step %c8 {
      %v = vector.transfer_read %x[%i], %f0 {in_bounds = [true]} : memref<4096xf32>, vector<8xf32>
      %r = math.cos %v : vector<8xf32>
      vector.transfer_write %r, %c[%i] {in_bounds = [true]} : vector<8xf32>, memref<4096xf32>
    }
    return
  }
}
)mlir";

TEST(CpuTarget, SinCosWithoutLibmMatchTheCLibrary) {
  Parsed parsed = parse(kSinCosModule);
  ASSERT_TRUE(parsed.module);
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, {});
  ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
  LoadedObject object(*bytes);
  ASSERT_NE(object.handle(), nullptr) << object.error();
  auto fn = reinterpret_cast<void (*)(float *, float *, float *)>(
      dlsym(object.handle(), "sincos"));
  ASSERT_NE(fn, nullptr);
  std::vector<float> x(4096), s(4096), c(4096);
  for (int i = 0; i < 1024; ++i) // RoPE: pos * theta^(-2j/128)
    x[i] = static_cast<float>(i * 128) *
           static_cast<float>(std::pow(500000.0, -2.0 * (i % 64) / 128.0));
  for (int i = 0; i < 1024; ++i)
    x[1024 + i] = -2e5f + 400000.0f * static_cast<float>(i) / 1023.0f;
  for (int i = 0; i < 1024; ++i)
    x[2048 + i] = static_cast<float>((i - 512) * 1e-6);
  for (int i = 0; i < 1024; ++i) // k * pi/2 and its float neighbours
    x[3072 + i] = std::nextafter(static_cast<float>((i / 3 - 170) * M_PI / 2),
                                 i % 3 == 0 ? 0.0f : i % 3 == 1 ? 1e9f : -1e9f);
  x[4094] = std::nanf("");
  x[4095] = 3e9f; // beyond the reduction's range: NaN, never a wrong number
  fn(x.data(), s.data(), c.data());
  EXPECT_TRUE(std::isnan(s[4094]) && std::isnan(c[4094]));
  EXPECT_TRUE(std::isnan(s[4095]) && std::isnan(c[4095]));
  double worstS = 0, worstC = 0;
  for (int i = 0; i < 4094; ++i) {
    double es = std::sin(static_cast<double>(x[i])), ec = std::cos(static_cast<double>(x[i]));
    // Within 2 ulp of the result's magnitude, or 2^-24 absolute near a zero.
    double tolS = std::max(2 * std::ldexp(1.0, std::ilogb(es) - 23), std::ldexp(1.0, -24));
    double tolC = std::max(2 * std::ldexp(1.0, std::ilogb(ec) - 23), std::ldexp(1.0, -24));
    EXPECT_LE(std::fabs(s[i] - es), tolS) << "sin(" << x[i] << ") = " << s[i] << ", want " << es;
    EXPECT_LE(std::fabs(c[i] - ec), tolC) << "cos(" << x[i] << ") = " << c[i] << ", want " << ec;
    worstS = std::max(worstS, std::fabs(s[i] - es));
    worstC = std::max(worstC, std::fabs(c[i] - ec));
  }
  std::printf("sin: worst abs error %.3g, cos: %.3g\n", worstS, worstC);
}

TEST(CpuTarget, CrossCompilesForAArch64) {
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  llmc::cpu::CpuTargetOptions options;
  options.triple = "aarch64-unknown-linux-gnu";
  options.cpu = "cortex-x3";
  options.features = "+neon,+dotprod,+i8mm";
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, options);
  if (!bytes) {
    std::string error = llvm::toString(bytes.takeError());
    if (error.find("no LLVM target") != std::string::npos)
      GTEST_SKIP() << error;
    FAIL() << error;
  }
  ASSERT_GT(bytes->size(), 20u);
  EXPECT_EQ(0, std::memcmp(bytes->data(), "\x7f" "ELF", 4));
  uint16_t machine;
  std::memcpy(&machine, bytes->data() + 18, 2);
  EXPECT_EQ(machine, 183); // EM_AARCH64
}

std::string errorOf(const char *source, bool allowUnregistered = false) {
  Parsed parsed = parse(source, allowUnregistered);
  if (!parsed.module)
    return "<parse failure>";
  // Keep the expected diagnostics off the test output.
  mlir::ScopedDiagnosticHandler quiet(parsed.context.get(),
                                      [](mlir::Diagnostic &) { return mlir::success(); });
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, {});
  if (bytes)
    return "";
  return llvm::toString(bytes.takeError());
}

TEST(CpuTarget, ExportingNothingIsAnError) {
  std::string error = errorOf(R"mlir(
    func.func private @helper(%a: memref<4xf32>) { return }
  )mlir");
  EXPECT_NE(error.find("exports nothing"), std::string::npos) << error;
}

// The dispatch level: a kernel an llm.dispatch launches is exported as
// llmc_<name> with the uniform ABI of llmc_kernel_abi.h, computes only the
// iterations [begin, end) it is given, and the schedule itself is not code.
constexpr const char *kDispatchModule = R"mlir(
  func.func private @k_scale(%x: memref<8xf32>, %y: memref<8xf32>, %s: index,
                             %begin: index, %end: index) {
    %c1 = arith.constant 1 : index
    %si = arith.index_cast %s : index to i64
    %sf = arith.sitofp %si : i64 to f32
    scf.for %i = %begin to %end step %c1 {
      %v = memref.load %x[%i] : memref<8xf32>
      %p = arith.mulf %v, %sf : f32
      memref.store %p, %y[%i] : memref<8xf32>
    }
    return
  }
  llm.schedule {
    llm.dispatch @k_scale "scale" grid <c = 8>
        bindings [#llm.binding<space = arena, offset = 0, size = 32>,
                  #llm.binding<space = arena, offset = 32, size = 32>]
        scalars [#llm.scalar<n_tokens = 1>]
  }
)mlir";

TEST(CpuTarget, DispatchedKernelsGetTheUniformEntry) {
  Parsed parsed = parse(kDispatchModule);
  ASSERT_TRUE(parsed.module);
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, {});
  ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
  LoadedObject object(*bytes);
  ASSERT_NE(object.handle(), nullptr) << object.error();
  EXPECT_EQ(llmc::cpu::kernelEntrySymbol("k_scale"), "llmc_k_scale");
  using KernelFn = void (*)(void *const *, const int64_t *, int64_t, int64_t);
  auto kernel = reinterpret_cast<KernelFn>(dlsym(object.handle(), "llmc_k_scale"));
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(dlsym(object.handle(), "k_scale"), nullptr);
  float x[8], y[8];
  for (int i = 0; i < 8; ++i) {
    x[i] = 0.5f * static_cast<float>(i + 1);
    y[i] = -1.0f;
  }
  void *bindings[2] = {x, y};
  const int64_t scalars[1] = {3};
  kernel(bindings, scalars, 2, 6);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y[i], i >= 2 && i < 6 ? 3.0f * x[i] : -1.0f) << "y[" << i << "]";
}

TEST(CpuTarget, DispatchOfAFunctionWithoutBodyIsAnError) {
  std::string error = errorOf(R"mlir(
    func.func private @k(%a: memref<4xf32>, %b: index, %e: index)
    llm.schedule {
      llm.dispatch @k "x" grid <c = 4>
          bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars []
    }
  )mlir");
  EXPECT_NE(error.find("not a function with a body"), std::string::npos) << error;
}

TEST(CpuTarget, UnsupportedOpIsAnError) {
  std::string error = errorOf(R"mlir(
    func.func @llmc_forward(%w: memref<4xi8>, %a: memref<4xi8>, %kv: memref<4xi8>,
                            %t: memref<4xi32>, %n: i64, %p: i64, %l: memref<4xf32>, %all: i64) {
      "test.unknown"() : () -> ()
      return
    }
  )mlir", /*allowUnregistered=*/true);
  EXPECT_NE(error.find("cpu target"), std::string::npos) << error;
  EXPECT_NE(error.find("'test.unknown'"), std::string::npos) << error;
}

TEST(CpuTarget, DynamicSignatureShapeIsAnError) {
  std::string error = errorOf(R"mlir(
    func.func @llmc_forward(%w: memref<?xi8>, %a: memref<4xi8>, %kv: memref<4xi8>,
                            %t: memref<4xi32>, %n: i64, %p: i64, %l: memref<4xf32>, %all: i64) {
      return
    }
  )mlir");
  EXPECT_NE(error.find("cpu target"), std::string::npos) << error;
  EXPECT_NE(error.find("static shape"), std::string::npos) << error;
}

TEST(CpuTarget, BadLinkerPathIsAnError) {
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  llmc::cpu::CpuTargetOptions options;
  options.lldPath = "/nonexistent/ld.lld";
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, options);
  ASSERT_FALSE(static_cast<bool>(bytes));
  std::string error = llvm::toString(bytes.takeError());
  EXPECT_NE(error.find("/nonexistent/ld.lld"), std::string::npos) << error;
}

TEST(CpuTarget, UnknownTripleIsAnError) {
  Parsed parsed = parse(kModule);
  ASSERT_TRUE(parsed.module);
  llmc::cpu::CpuTargetOptions options;
  options.triple = "nosucharch-unknown-linux-gnu";
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, options);
  ASSERT_FALSE(static_cast<bool>(bytes));
  std::string error = llvm::toString(bytes.takeError());
  EXPECT_NE(error.find("nosucharch"), std::string::npos) << error;
}

} // namespace

// f32 exp is expanded into a polynomial on the CPU (llmc-cpu-expand-exp):
// within 2 ulp of libm's expf over the normal range, vector and scalar
// forms alike, 0 below it, +inf above it, NaN kept.
TEST(CpuTarget, ExpandedExpMatchesLibm) {
  const char *source = R"mlir(
module {
  func.func @exp_all(%in: memref<4096xf32>, %out: memref<4096xf32>) {
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %c4096 = arith.constant 4096 : index
    %f0 = arith.constant 0.0 : f32
    scf.for %i = %c0 to %c4096 step %c8 {
      %v = vector.transfer_read %in[%i], %f0 {in_bounds = [true]} : memref<4096xf32>, vector<8xf32>
      %e = math.exp %v : vector<8xf32>
      vector.transfer_write %e, %out[%i] {in_bounds = [true]} : vector<8xf32>, memref<4096xf32>
    }
    return
  }
  func.func @exp_one(%in: memref<1xf32>, %out: memref<1xf32>) {
    %c0 = arith.constant 0 : index
    %x = memref.load %in[%c0] : memref<1xf32>
    %e = math.exp %x : f32
    memref.store %e, %out[%c0] : memref<1xf32>
    return
  }
}
)mlir";
  Parsed parsed = parse(source);
  ASSERT_TRUE(parsed.module);
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, {});
  ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
  LoadedObject object(*bytes);
  ASSERT_NE(object.handle(), nullptr) << object.error();
  using Fn = void (*)(const float *, float *);
  auto all = reinterpret_cast<Fn>(dlsym(object.handle(), "exp_all"));
  auto one = reinterpret_cast<Fn>(dlsym(object.handle(), "exp_one"));
  ASSERT_NE(all, nullptr);
  ASSERT_NE(one, nullptr);

  std::vector<float> in(4096), out(4096);
  for (int i = 0; i < 4096; ++i)
    in[i] = -87.0f + 175.0f * float(i) / 4095.0f; // [-87, 88]
  all(in.data(), out.data());
  float worst = 0;
  for (int i = 0; i < 4096; ++i) {
    float ref = std::exp(in[i]);
    float ulp = std::nextafter(ref, INFINITY) - ref;
    worst = std::max(worst, std::fabs(out[i] - ref) / ulp);
  }
  EXPECT_LE(worst, 2.0f) << "worst error in ulps";
  auto scalar = [&](float x) {
    float y = 0;
    one(&x, &y);
    return y;
  };
  EXPECT_FLOAT_EQ(scalar(0.0f), 1.0f);
  EXPECT_FLOAT_EQ(scalar(1.0f), std::exp(1.0f));
  EXPECT_EQ(scalar(-INFINITY), 0.0f);
  EXPECT_EQ(scalar(-100.0f), 0.0f);
  EXPECT_EQ(scalar(100.0f), INFINITY);
  EXPECT_EQ(scalar(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(scalar(NAN)));
}

// f16 <-> f32 on an x86-64 CPU without F16C (x86-64-v2): the conversions are
// expanded into integer arithmetic (ExpandHalfPass) instead of calls to
// compiler-rt the payload does not carry. Checked against the hardware's
// own conversions (F16C's, through _Float16 casts where clang has them,
// else the IEEE definition): every f16 widened, and f32 values around every
// f16 (exact, the midpoints, a hair either side) narrowed, vectors and
// scalars.
TEST(CpuTarget, ExpandedHalfConversionsAreExact) {
  const char *source = R"mlir(
module {
  func.func @widen(%in: memref<65536xf16>, %out: memref<65536xf32>) {
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %n = arith.constant 65536 : index
    %z = arith.constant 0.0 : f16
    scf.for %i = %c0 to %n step %c8 {
      %v = vector.transfer_read %in[%i], %z {in_bounds = [true]} : memref<65536xf16>, vector<8xf16>
      %e = arith.extf %v : vector<8xf16> to vector<8xf32>
      vector.transfer_write %e, %out[%i] {in_bounds = [true]} : vector<8xf32>, memref<65536xf32>
    }
    return
  }
  func.func @narrow(%in: memref<262144xf32>, %out: memref<262144xf16>) {
    %c0 = arith.constant 0 : index
    %c8 = arith.constant 8 : index
    %n = arith.constant 262144 : index
    %z = arith.constant 0.0 : f32
    scf.for %i = %c0 to %n step %c8 {
      %v = vector.transfer_read %in[%i], %z {in_bounds = [true]} : memref<262144xf32>, vector<8xf32>
      %e = arith.truncf %v : vector<8xf32> to vector<8xf16>
      vector.transfer_write %e, %out[%i] {in_bounds = [true]} : vector<8xf16>, memref<262144xf16>
    }
    return
  }
  func.func @narrow_one(%in: memref<1xf32>, %out: memref<1xf16>) {
    %c0 = arith.constant 0 : index
    %x = memref.load %in[%c0] : memref<1xf32>
    %h = arith.truncf %x : f32 to f16
    memref.store %h, %out[%c0] : memref<1xf16>
    return
  }
}
)mlir";
  Parsed parsed = parse(source);
  ASSERT_TRUE(parsed.module);
  llmc::cpu::CpuTargetOptions options;
  options.triple = "x86_64-unknown-linux-gnu";
  options.cpu = "x86-64-v2";
  auto bytes = llmc::cpu::compileToSharedObject(*parsed.module, options);
  ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
  LoadedObject object(*bytes);
  ASSERT_NE(object.handle(), nullptr) << object.error();
  using Widen = void (*)(const uint16_t *, float *);
  using Narrow = void (*)(const float *, uint16_t *);
  auto widen = reinterpret_cast<Widen>(dlsym(object.handle(), "widen"));
  auto narrow = reinterpret_cast<Narrow>(dlsym(object.handle(), "narrow"));
  auto narrowOne = reinterpret_cast<Narrow>(dlsym(object.handle(), "narrow_one"));
  ASSERT_NE(widen, nullptr);
  ASSERT_NE(narrow, nullptr);
  ASSERT_NE(narrowOne, nullptr);

  // The IEEE definitions: an f16's value, and f32 -> f16 to nearest even.
  auto value = [](uint16_t h) -> double {
    int e = h >> 10 & 31, m = h & 1023;
    double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                     : std::ldexp(1024 + m, e - 25);
    return h & 0x8000 ? -v : v;
  };
  std::vector<uint16_t> all(65536);
  std::vector<float> wide(65536);
  for (int i = 0; i < 65536; ++i)
    all[i] = uint16_t(i);
  widen(all.data(), wide.data());
  for (int i = 0; i < 65536; ++i) {
    double want = value(uint16_t(i));
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(wide[i])) << std::hex << i;
    else
      EXPECT_EQ(double(wide[i]), want) << std::hex << "f16 0x" << i;
    if (std::signbit(want) != std::signbit(wide[i]) && !std::isnan(want))
      ADD_FAILURE() << std::hex << "sign of f16 0x" << i;
  }
  auto nearest = [&](float x) -> uint16_t {
    if (std::isnan(x))
      return 0x7e00;
    uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    double a = std::fabs(double(x));
    if (a >= 65520.0) // half-way above 65504 and beyond: inf
      return uint16_t(0x7c00 | sign);
    // Positive f16s are ordered as integers: the last one <= a, then the
    // nearer of it and the next (ties to the even code).
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) {
      uint16_t mid = uint16_t((lo + hi + 1) / 2);
      if (value(mid) <= a)
        lo = mid;
      else
        hi = uint16_t(mid - 1);
    }
    uint16_t best = lo;
    if (lo < 0x7bff) {
      double below = a - value(lo), above = value(uint16_t(lo + 1)) - a;
      if (above < below || (above == below && (lo & 1)))
        best = uint16_t(lo + 1);
    }
    return uint16_t(best | sign);
  };
  // Around every positive finite f16 (and its negation): the value, the
  // midpoint to the next one, and a hair on each side of that midpoint.
  std::vector<float> in;
  for (uint32_t h = 0; h < 0x7c00; h += 1) {
    double v = value(uint16_t(h)), next = value(uint16_t(h + 1));
    double mid = (v + next) / 2;
    for (double x : {v, mid, std::nextafter(float(mid), 0.0f) + 0.0, std::nextafter(float(mid), INFINITY) + 0.0})
      if (in.size() < 262144 - 8) {
        in.push_back(float(x));
        if (h % 7 == 0)
          in.back() = -in.back();
      }
  }
  for (float x : {INFINITY, -INFINITY, NAN, 65504.0f, 65519.0f, 65520.0f, 1e10f, -0.0f, 1e-10f})
    in.push_back(x);
  in.resize(262144, 0.0f);
  std::vector<uint16_t> narrowed(in.size());
  narrow(in.data(), narrowed.data());
  int bad = 0;
  for (size_t i = 0; i < in.size() && bad < 10; ++i) {
    uint16_t want = nearest(in[i]);
    bool ok = std::isnan(in[i]) ? (narrowed[i] & 0x7c00) == 0x7c00 && (narrowed[i] & 0x3ff)
                                : narrowed[i] == want;
    if (!ok) {
      ++bad;
      ADD_FAILURE() << "f32 " << in[i] << ": got 0x" << std::hex << narrowed[i]
                    << ", want 0x" << want;
    }
  }
  float x = 1.0009765625f + 0.00048828125f; // 1 + 1.5 ulp(f16): rounds up to even
  uint16_t h = 0;
  narrowOne(&x, &h);
  EXPECT_EQ(h, 0x3c02);
}
