// RUN: llmc-opt --llmc-cpu-expand-f16 %s | FileCheck %s

// f16 <-> f32 as integer arithmetic, for x86-64 CPUs without F16C (the
// build adds the pass for them only), where LLVM would call compiler-rt's
// __extendhfsf2 / __truncsfhf2. CpuTarget.ExpandedHalfConversionsAreExact
// checks the values; here, the shape of the expansion.
//
// Widening: the sign moved up 16 bits; a normal f16 rebiased (+112 << 10,
// 114688) and shifted 13; a subnormal through uitofp times 2^-24; inf / NaN
// (>= 0x7C00, 31744) as the f32 all-ones exponent (0x7F800000) with the
// mantissa kept.
// CHECK-LABEL: func.func @widen(
// CHECK-SAME: %[[X:.*]]: f16) -> f32
// CHECK-NOT: arith.extf
// CHECK: %[[H:.*]] = arith.bitcast %[[X]] : f16 to i16
// CHECK: %[[W:.*]] = arith.extui %[[H]] : i16 to i32
// CHECK: %[[S:.*]] = arith.andi %[[W]], %{{.*}} : i32
// CHECK: %[[SIGN:.*]] = arith.shli %[[S]], %{{.*}} : i32
// CHECK: %[[EM:.*]] = arith.andi %[[W]], %{{.*}} : i32
// CHECK: %[[RB:.*]] = arith.addi %[[EM]], %c114688_i32 : i32
// CHECK: %[[NORMAL:.*]] = arith.shli %[[RB]], %c13_i32 : i32
// CHECK: %[[SUBF:.*]] = arith.uitofp %[[EM]] : i32 to f32
// CHECK: %[[SUBS:.*]] = arith.mulf %[[SUBF]], %{{.*}} : f32
// CHECK: %[[SUB:.*]] = arith.bitcast %[[SUBS]] : f32 to i32
// CHECK: %[[SPECIAL:.*]] = arith.ori %c2139095040_i32, %{{.*}} : i32
// CHECK: %[[ISSUB:.*]] = arith.cmpi ult, %[[EM]], %c1024_i32 : i32
// CHECK: %[[ISSPEC:.*]] = arith.cmpi uge, %[[EM]], %c31744_i32 : i32
// CHECK: %[[A:.*]] = arith.select %[[ISSPEC]], %[[SPECIAL]], %[[NORMAL]] : i32
// CHECK: %[[B:.*]] = arith.select %[[ISSUB]], %[[SUB]], %[[A]] : i32
// CHECK: %[[R:.*]] = arith.ori %[[B]], %[[SIGN]] : i32
// CHECK: %[[F:.*]] = arith.bitcast %[[R]] : i32 to f32
// CHECK: return %[[F]]
func.func @widen(%x: f16) -> f32 {
  %r = arith.extf %x : f16 to f32
  return %r : f32
}

// Narrowing, per lane: |x| >= 65536 (0x47800000) to inf (0x7C00) or a quiet
// NaN (0x7E00); below 2^-14 (0x38800000) the bits of |x| + 0.5 less 0.5's;
// otherwise rebiased and rounded to nearest even (+0xFFF plus the kept
// mantissa's low bit), shifted 13; the sign ORed back, truncated to i16.
// CHECK-LABEL: func.func @narrow(
// CHECK-SAME: %[[X:.*]]: vector<4xf32>) -> vector<4xf16>
// CHECK-NOT: arith.truncf
// CHECK: %[[I:.*]] = arith.bitcast %[[X]] : vector<4xf32> to vector<4xi32>
// CHECK: %[[SIGN:.*]] = arith.andi %[[I]], %{{.*}} : vector<4xi32>
// CHECK: %[[A:.*]] = arith.andi %[[I]], %{{.*}} : vector<4xi32>
// CHECK: %[[NAN:.*]] = arith.cmpi ugt, %[[A]], %{{.*}} : vector<4xi32>
// CHECK: %[[BIG:.*]] = arith.select %[[NAN]], %{{.*}}, %{{.*}} : vector<4xi1>, vector<4xi32>
// CHECK: %[[AF:.*]] = arith.bitcast %[[A]] : vector<4xi32> to vector<4xf32>
// CHECK: %[[T:.*]] = arith.addf %[[AF]], %{{.*}} : vector<4xf32>
// CHECK: %[[TI:.*]] = arith.bitcast %[[T]] : vector<4xf32> to vector<4xi32>
// CHECK: %[[TINY:.*]] = arith.subi %[[TI]], %{{.*}} : vector<4xi32>
// CHECK: %[[ODD:.*]] = arith.andi %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK: %[[B1:.*]] = arith.addi %[[A]], %{{.*}} : vector<4xi32>
// CHECK: %[[B2:.*]] = arith.addi %[[B1]], %[[ODD]] : vector<4xi32>
// CHECK: %[[NORMAL:.*]] = arith.shrui %[[B2]], %{{.*}} : vector<4xi32>
// CHECK: %[[ISBIG:.*]] = arith.cmpi uge, %[[A]], %{{.*}} : vector<4xi32>
// CHECK: %[[ISTINY:.*]] = arith.cmpi ult, %[[A]], %{{.*}} : vector<4xi32>
// CHECK: %[[P:.*]] = arith.select %[[ISTINY]], %[[TINY]], %[[NORMAL]]
// CHECK: %[[Q:.*]] = arith.select %[[ISBIG]], %[[BIG]], %[[P]]
// CHECK: %[[S16:.*]] = arith.shrui %[[SIGN]], %{{.*}} : vector<4xi32>
// CHECK: %[[H:.*]] = arith.ori %[[Q]], %[[S16]] : vector<4xi32>
// CHECK: %[[H16:.*]] = arith.trunci %[[H]] : vector<4xi32> to vector<4xi16>
// CHECK: %[[R:.*]] = arith.bitcast %[[H16]] : vector<4xi16> to vector<4xf16>
// CHECK: return %[[R]]
func.func @narrow(%x: vector<4xf32>) -> vector<4xf16> {
  %r = arith.truncf %x : vector<4xf32> to vector<4xf16>
  return %r : vector<4xf16>
}

// Other conversions are left alone (f16 to f64).
// CHECK-LABEL: func.func @others(
// CHECK: arith.extf %{{.*}} : f16 to f64
func.func @others(%x: f16) -> f64 {
  %a = arith.extf %x : f16 to f64
  return %a : f64
}
