// RUN: llmc-opt --llmc-cpu-expand-exp %s | FileCheck %s

// f32 exp, scalar and vector, becomes arithmetic: clamp to +-88.38,
// n = round(x / ln2) (half away from zero, no libm), Cody-Waite reduction,
// a degree-6 polynomial (multiply-adds that LLVM may fuse: never a libm
// fmaf on a CPU without FMA), 2^n in the exponent bits; 0 below the range,
// +inf above it, NaN kept.
// CHECK-LABEL: func.func @scalar(
// CHECK-SAME: %[[X:.*]]: f32)
// CHECK-NOT: math.exp
// CHECK: %[[LO:.*]] = arith.maximumf %[[X]], %{{.*}} : f32
// CHECK: %[[C:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
// CHECK: %[[T:.*]] = arith.mulf %[[C]], %{{.*}} : f32
// CHECK: %[[N:.*]] = arith.fptosi %{{.*}} : f32 to i32
// CHECK: %[[NF:.*]] = arith.sitofp %[[N]] : i32 to f32
// CHECK: %[[P:.*]] = arith.mulf %[[NF]], %{{.*}} fastmath<contract> : f32
// CHECK: arith.addf %[[P]], %[[C]] fastmath<contract> : f32
// CHECK: %[[E:.*]] = arith.addi %[[N]], %{{.*}} : i32
// CHECK: %[[B:.*]] = arith.shli %[[E]], %{{.*}} : i32
// CHECK: %[[P2:.*]] = arith.bitcast %[[B]] : i32 to f32
// CHECK: %[[Y:.*]] = arith.mulf %{{.*}}, %[[P2]] : f32
// CHECK: %[[UNDER:.*]] = arith.cmpf olt, %[[X]], %{{.*}} : f32
// CHECK: %[[Y1:.*]] = arith.select %[[UNDER]], %{{.*}}, %[[Y]] : f32
// CHECK: %[[OVER:.*]] = arith.cmpf ogt, %[[X]], %{{.*}} : f32
// CHECK: %[[Y2:.*]] = arith.select %[[OVER]], %{{.*}}, %[[Y1]] : f32
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK: %[[R:.*]] = arith.select %[[NAN]], %[[X]], %[[Y2]] : f32
// CHECK: return %[[R]]
func.func @scalar(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}

// CHECK-LABEL: func.func @vector(
// CHECK-NOT: math.exp
// CHECK: arith.fptosi %{{.*}} : vector<8xf32> to vector<8xi32>
// CHECK: arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
func.func @vector(%x: vector<8xf32>) -> vector<8xf32> {
  %e = math.exp %x : vector<8xf32>
  return %e : vector<8xf32>
}

// Other element types keep math.exp (LLVM's intrinsic).
// CHECK-LABEL: func.func @f64(
// CHECK: math.exp %{{.*}} : f64
func.func @f64(%x: f64) -> f64 {
  %e = math.exp %x : f64
  return %e : f64
}
