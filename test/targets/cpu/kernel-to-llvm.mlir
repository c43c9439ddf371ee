// RUN: llmc-opt --llmc-kernel-to-llvm %s | FileCheck %s
// RUN: llmc-opt --llmc-kernel-to-llvm %s | FileCheck %s --check-prefix=LEFT

// The kernel level after the CPU target's lowering: only LLVM dialect ops,
// the entry point with the bare-pointer calling convention, the kernels
// internal, math ops as LLVM intrinsics or libm calls (exp as arithmetic).

// Nothing but the LLVM dialect is left.
// LEFT-NOT: {{[ "](func|memref|vector|scf|arith|math|cf|affine|index|ub)\.[a-z_]+}}

// libm functions are declared (external) for what has no LLVM intrinsic.
// CHECK: llvm.func @tanhf(f32) -> f32

// The kernel becomes an internal function taking plain pointers.
// CHECK-LABEL: llvm.func internal @dot_exp(
// CHECK-SAME:    %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr)
// CHECK:         llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> vector<8xf32>
// vector.fma becomes llvm.intr.fmuladd (fused where the target has FMA).
// CHECK:         llvm.intr.fmuladd(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK:         "llvm.intr.vector.reduce.fadd"(%{{.*}}, %{{.*}}) <{fastmathFlags = #llvm.fastmath<reassoc>}> : (f32, vector<8xf32>) -> f32
// exp becomes arithmetic (llmc-cpu-expand-exp, expand-exp.mlir): the
// polynomial's 2^n is built in the exponent bits.
// CHECK-NOT:     llvm.intr.exp
// CHECK:         llvm.fptosi %{{.*}} : f32 to i32
// CHECK:         llvm.shl
// CHECK:         llvm.bitcast %{{.*}} : i32 to f32
// CHECK:         llvm.intr.sqrt(%{{.*}}) : (f32) -> f32
// CHECK:         llvm.fdiv
func.func private @dot_exp(%w: memref<64xf32>, %x: memref<16xf32>, %out: memref<4xf32>) {
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

// A subview at a dynamic offset; sin and cos become arithmetic (reduced in
// f64: llmc-cpu-expand-sincos), the other math ops libm calls (an artifact
// refuses those: its payloads import nothing from libm).
// CHECK-LABEL: llvm.func internal @rope_like(
// CHECK-SAME:    %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64)
// CHECK-NOT:     llvm.intr.cos
// CHECK-NOT:     llvm.intr.sin
// CHECK:         llvm.fpext %{{.*}} : f32 to f64
// CHECK:         llvm.intr.pow
// CHECK:         llvm.call @tanhf
func.func private @rope_like(%kv: memref<16xf32>, %x: memref<16xf32>, %pos: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %e = arith.constant 1.5 : f32
  %p = arith.index_cast %pos : i64 to index
  %pf = arith.sitofp %pos : i64 to f32
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
    memref.store %t2, %dst[%j] : memref<4xf32, strided<[1], offset: ?>>
  }
  return
}

// The entry point: exported (no linkage attribute: external), memrefs as
// bare pointers, the scalars as i64:
//   void llmc_forward(const uint8_t *, uint8_t *, uint8_t *, const int32_t *,
//                     int64_t, int64_t, float *, int64_t)
// CHECK-LABEL: llvm.func @llmc_forward(
// CHECK-SAME:    %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr, %arg3: !llvm.ptr,
// CHECK-SAME:    %arg4: i64, %arg5: i64, %arg6: !llvm.ptr, %arg7: i64) {
// CHECK:         llvm.call @dot_exp(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK:         llvm.call @rope_like(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64) -> ()
// CHECK:         llvm.return
func.func @llmc_forward(%weights: memref<256xi8>, %arena: memref<128xi8>, %kv: memref<64xi8>,
                        %tokens: memref<4xi32>, %n_tokens: i64, %start_pos: i64,
                        %logits: memref<4xf32>, %all_logits: i64) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %w = memref.view %weights[%c0][] : memref<256xi8> to memref<64xf32>
  %x = memref.view %arena[%c64][] : memref<128xi8> to memref<16xf32>
  %kvf = memref.view %kv[%c0][] : memref<64xi8> to memref<16xf32>
  func.call @dot_exp(%w, %x, %logits) : (memref<64xf32>, memref<16xf32>, memref<4xf32>) -> ()
  func.call @rope_like(%kvf, %x, %start_pos) : (memref<16xf32>, memref<16xf32>, i64) -> ()
  return
}
