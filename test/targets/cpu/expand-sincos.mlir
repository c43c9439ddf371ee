// RUN: llmc-opt --llmc-cpu-expand-sincos %s | FileCheck %s

// f32 sin and cos, scalar and vector, become arithmetic: the angle reduced
// in f64 by k = round(x * 2/pi) (half away from zero, no libm) and pi/2 in
// two parts, Cephes' polynomials on the remainder, the quadrant k mod 4
// picking sin or cos and the sign, and NaN past |x| = 2^31.
// CHECK-LABEL: func.func @sin(
// CHECK-SAME: %[[X:.*]]: f32)
// CHECK-NOT: math.sin
// CHECK: %[[XD:.*]] = arith.extf %[[X]] : f32 to f64
// CHECK: %[[T:.*]] = arith.mulf %[[XD]], %{{.*}} : f64
// CHECK: %[[K:.*]] = arith.fptosi %{{.*}} : f64 to i64
// CHECK: %[[KD:.*]] = arith.sitofp %[[K]] : i64 to f64
// CHECK: %[[HI:.*]] = arith.mulf %[[KD]], %{{.*}} : f64
// CHECK: %[[R1:.*]] = arith.addf %[[XD]], %[[HI]] : f64
// CHECK: %[[LO:.*]] = arith.mulf %[[KD]], %{{.*}} : f64
// CHECK: %[[RD:.*]] = arith.addf %[[R1]], %[[LO]] : f64
// CHECK: %[[R:.*]] = arith.truncf %[[RD]] : f64 to f32
// CHECK: %[[Z:.*]] = arith.mulf %[[R]], %[[R]] : f32
// CHECK: %[[SZR:.*]] = arith.mulf %{{.*}}, %[[R]] : f32
// CHECK: %[[SIN:.*]] = arith.addf %[[SZR]], %[[R]] : f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[COS:.*]] = arith.addf %{{.*}}, %[[ONE]] : f32
// CHECK: %[[Q:.*]] = arith.trunci %[[K]] : i64 to i32
// CHECK: %[[Q1:.*]] = arith.andi %[[Q]], %{{.*}} : i32
// CHECK: %[[SWAP:.*]] = arith.cmpi ne, %[[Q1]], %{{.*}} : i32
// CHECK: %[[V:.*]] = arith.select %[[SWAP]], %[[COS]], %[[SIN]] : f32
// CHECK: %[[Q2:.*]] = arith.andi %[[Q]], %{{.*}} : i32
// CHECK: %[[NEG:.*]] = arith.cmpi ne, %[[Q2]], %{{.*}} : i32
// CHECK: %[[MV:.*]] = arith.negf %[[V]] : f32
// CHECK: %[[SV:.*]] = arith.select %[[NEG]], %[[MV]], %[[V]] : f32
// CHECK: %[[ABS:.*]] = math.absf %[[X]] : f32
// CHECK: %[[OK:.*]] = arith.cmpf olt, %[[ABS]], %{{.*}} : f32
// CHECK: %[[OUT:.*]] = arith.select %[[OK]], %[[SV]], %{{.*}} : f32
// CHECK: return %[[OUT]]
func.func @sin(%x: f32) -> f32 {
  %s = math.sin %x : f32
  return %s : f32
}

// cos: the other pick on an odd quadrant, negated when (q + 1) & 2.
// CHECK-LABEL: func.func @cos(
// CHECK-NOT: math.cos
// CHECK: %[[K:.*]] = arith.fptosi %{{.*}} : f64 to i64
// CHECK: %[[R:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK: %[[Z:.*]] = arith.mulf %[[R]], %[[R]] : f32
// CHECK: %[[SZR:.*]] = arith.mulf %{{.*}}, %[[R]] : f32
// CHECK: %[[SIN:.*]] = arith.addf %[[SZR]], %[[R]] : f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[COS:.*]] = arith.addf %{{.*}}, %[[ONE]] : f32
// CHECK: %[[Q:.*]] = arith.trunci %[[K]] : i64 to i32
// CHECK: %[[V:.*]] = arith.select %{{.*}}, %[[SIN]], %[[COS]] : f32
// CHECK: %[[QP1:.*]] = arith.addi %[[Q]], %{{.*}} : i32
// CHECK: arith.andi %[[QP1]], %{{.*}} : i32
func.func @cos(%x: f32) -> f32 {
  %c = math.cos %x : f32
  return %c : f32
}

// Vectors keep their shape through the f64 reduction.
// CHECK-LABEL: func.func @vector(
// CHECK-NOT: math.cos
// CHECK: arith.extf %{{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: arith.fptosi %{{.*}} : vector<8xf64> to vector<8xi64>
// CHECK: arith.trunci %{{.*}} : vector<8xi64> to vector<8xi32>
func.func @vector(%x: vector<8xf32>) -> vector<8xf32> {
  %c = math.cos %x : vector<8xf32>
  return %c : vector<8xf32>
}

// f64 is left alone (the kernels compute in f32).
// CHECK-LABEL: func.func @f64(
// CHECK: math.sin %{{.*}} : f64
func.func @f64(%x: f64) -> f64 {
  %s = math.sin %x : f64
  return %s : f64
}
