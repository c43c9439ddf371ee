// RUN: llmc-opt --llmc-cpu-expand-roundeven %s | FileCheck %s

// f32 roundeven (the q8 KV cache's quantization) becomes arithmetic, so a
// CPU without a rounding instruction (x86-64 before SSE4.1) calls no libm:
// (|x| + 2^23) - 2^23 (0x4B000000) rounds ties to even, copysign restores the sign, and
// |x| >= 2^23 or NaN (unordered) keeps x.
// CHECK-LABEL: func.func @scalar(
// CHECK-SAME: %[[X:.*]]: f32)
// CHECK-NOT: math.roundeven
// CHECK: %[[C:.*]] = arith.constant 0x4B000000 : f32
// CHECK: %[[A:.*]] = math.absf %[[X]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[A]], %[[C]] : f32
// CHECK: %[[R:.*]] = arith.subf %[[S]], %[[C]] : f32
// CHECK: %[[SIGNED:.*]] = math.copysign %[[R]], %[[X]] : f32
// CHECK: %[[BIG:.*]] = arith.cmpf uge, %[[A]], %[[C]] : f32
// CHECK: %[[Y:.*]] = arith.select %[[BIG]], %[[X]], %[[SIGNED]] : f32
// CHECK: return %[[Y]]
func.func @scalar(%x: f32) -> f32 {
  %r = math.roundeven %x : f32
  return %r : f32
}

// CHECK-LABEL: func.func @vector(
// CHECK-NOT: math.roundeven
// CHECK: math.copysign %{{.*}}, %{{.*}} : vector<4xf32>
func.func @vector(%x: vector<4xf32>) -> vector<4xf32> {
  %r = math.roundeven %x : vector<4xf32>
  return %r : vector<4xf32>
}
