// RUN: llmc-opt --llm-distribute-reductions=lanes=16 %s | FileCheck %s
// RUN: llmc-opt --llm-distribute-reductions=lanes=1 %s | FileCheck %s --check-prefix=ONE

// A matrix-vector kernel: each row gets 16 lanes. The parallel loop runs
// over rows [begin / 16, ceil(end / 16)); the sum loop starts at lane * step
// and strides 16 * step; its add reduction is summed over the lanes; the
// store is lane 0's.
// CHECK-LABEL: func.func private @k_dot(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<2x64xf32>, %[[W:[a-z0-9]+]]: memref<4x64xf32>, %[[Y:[a-z0-9]+]]: memref<2x4xf32>, %[[N:[a-z0-9]+]]: index, %[[BEGIN:[a-z0-9]+]]: index, %[[END:[a-z0-9]+]]: index)
// CHECK-SAME: attributes {llm.lanes = 16 : i64}
// CHECK-DAG: %[[L:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[LM1:.*]] = arith.constant 15 : index
// CHECK: %[[LANE:.*]] = arith.remui %[[BEGIN]], %[[L]] : index
// CHECK: %[[RB:.*]] = arith.divui %[[BEGIN]], %[[L]] : index
// CHECK: %[[EP:.*]] = arith.addi %[[END]], %[[LM1]] : index
// CHECK: %[[RE:.*]] = arith.divui %[[EP]], %[[L]] : index
// CHECK: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %{{.*}} : index
// CHECK: scf.for %[[J:.*]] = %[[RB]] to %[[RE]] step %{{.*}} {
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[N]]
// CHECK: %[[OFF:.*]] = arith.muli %[[LANE]], %[[STEP:.*]] : index
// CHECK: %[[LB:.*]] = arith.addi %{{.*}}, %[[OFF]] : index
// CHECK: %[[ST:.*]] = arith.muli %[[STEP]], %[[L]] : index
// CHECK: %[[ACC:.*]] = scf.for %[[K:.*]] = %[[LB]] to %{{.*}} step %[[ST]] iter_args
// CHECK: vector.load %[[W]][%[[J]], %[[K]]]
// CHECK: %[[PART:.*]] = vector.reduction <add>, %[[ACC]] : vector<4xf32> into f32
// CHECK-NEXT: %[[SUM:.*]] = llm.lane_sum %[[PART]] : f32
// The epilogue that only the store needs moves in with it.
// CHECK-NEXT: scf.if %[[LANE0]] {
// CHECK-NEXT: %[[RELU:.*]] = arith.maximumf %[[SUM]], %{{.*}} : f32
// CHECK-NEXT: memref.store %[[RELU]], %[[Y]][%[[T]], %[[J]]] : memref<2x4xf32>
func.func private @k_dot(%x: memref<2x64xf32>, %w: memref<4x64xf32>, %y: memref<2x4xf32>,
                         %n: index, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  %fzero = arith.constant 0.0 : f32
  scf.for %j = %begin to %end step %c1 {
    scf.for %t = %c0 to %n step %c1 {
      %acc = scf.for %k = %c0 to %c64 step %c4 iter_args(%a = %zero) -> (vector<4xf32>) {
        %xv = vector.load %x[%t, %k] : memref<2x64xf32>, vector<4xf32>
        %wv = vector.load %w[%j, %k] : memref<4x64xf32>, vector<4xf32>
        %f = vector.fma %xv, %wv, %a : vector<4xf32>
        scf.yield %f : vector<4xf32>
      }
      %s = vector.reduction <add>, %acc : vector<4xf32> into f32
      %m = arith.maximumf %s, %fzero : f32
      memref.store %m, %y[%t, %j] : memref<2x4xf32>
    }
  }
  return
}

// A residual epilogue: out[t, j] = sum + r[t, j], where out and r are the
// same bytes at run time (the result takes its residual's slot). Only lane
// 0 reads r, so no lane reads what lane 0 writes. The second store comes
// after a guarded store: its load cannot move past that (it may alias).
// CHECK-LABEL: func.func private @k_residual(
// CHECK-SAME: %[[RR:[a-z0-9]+]]: memref<2x4xf32>, %[[RO:[a-z0-9]+]]: memref<2x4xf32>, %[[RO2:[a-z0-9]+]]: memref<2x4xf32>,
// CHECK: %[[RS:.*]] = llm.lane_sum
// CHECK-NEXT: %[[EARLY:.*]] = memref.load %[[RR]]
// CHECK-NEXT: scf.if %{{.*}} {
// CHECK-NEXT: %[[R:.*]] = memref.load %[[RR]]
// CHECK-NEXT: %[[V:.*]] = arith.addf %[[RS]], %[[R]] : f32
// CHECK-NEXT: memref.store %[[V]], %[[RO]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.if %{{.*}} {
// CHECK-NEXT: memref.store %[[RS]], %[[RO2]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.if %{{.*}} {
// CHECK-NEXT: %[[V2:.*]] = arith.addf %[[RS]], %[[EARLY]] : f32
// CHECK-NEXT: memref.store %[[V2]], %[[RO]]
func.func private @k_residual(%r: memref<2x4xf32>, %out: memref<2x4xf32>, %out2: memref<2x4xf32>,
                              %w: memref<4x64xf32>, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  scf.for %j = %begin to %end step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c4 iter_args(%a = %zero) -> (vector<4xf32>) {
      %wv = vector.load %w[%j, %k] : memref<4x64xf32>, vector<4xf32>
      %f = arith.addf %wv, %a : vector<4xf32>
      scf.yield %f : vector<4xf32>
    }
    %s = vector.reduction <add>, %acc : vector<4xf32> into f32
    %early = memref.load %r[%c1, %j] : memref<2x4xf32>
    %rv = memref.load %r[%c0, %j] : memref<2x4xf32>
    %v = arith.addf %s, %rv : f32
    memref.store %v, %out[%c0, %j] : memref<2x4xf32>
    memref.store %s, %out2[%c0, %j] : memref<2x4xf32>
    %v2 = arith.addf %s, %early : f32
    memref.store %v2, %out[%c1, %j] : memref<2x4xf32>
  }
  return
}

// Not a sum: an accumulator that starts at 1 would be counted once per
// lane. The kernel stays as it is.
// CHECK-LABEL: func.func private @k_not_zero(
// CHECK-NOT: llm.lanes
// CHECK-NOT: llm.lane_sum
func.func private @k_not_zero(%w: memref<4x64xf32>, %y: memref<4xf32>,
                              %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant dense<1.0> : vector<4xf32>
  scf.for %j = %begin to %end step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c4 iter_args(%a = %one) -> (vector<4xf32>) {
      %wv = vector.load %w[%j, %k] : memref<4x64xf32>, vector<4xf32>
      %f = arith.addf %wv, %a : vector<4xf32>
      scf.yield %f : vector<4xf32>
    }
    %s = vector.reduction <add>, %acc : vector<4xf32> into f32
    memref.store %s, %y[%j] : memref<4xf32>
  }
  return
}

// Not a sum either: the loop's result meets a value from outside before
// its reduction (each lane would add the bias once).
// CHECK-LABEL: func.func private @k_mixed(
// CHECK-NOT: llm.lanes
// CHECK-NOT: llm.lane_sum
func.func private @k_mixed(%w: memref<4x64xf32>, %y: memref<4xf32>,
                           %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  %bias = arith.constant dense<0.5> : vector<4xf32>
  scf.for %j = %begin to %end step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c4 iter_args(%a = %zero) -> (vector<4xf32>) {
      %wv = vector.load %w[%j, %k] : memref<4x64xf32>, vector<4xf32>
      %f = arith.addf %wv, %a : vector<4xf32>
      scf.yield %f : vector<4xf32>
    }
    %b = arith.addf %acc, %bias : vector<4xf32>
    %s = vector.reduction <add>, %b : vector<4xf32> into f32
    memref.store %s, %y[%j] : memref<4xf32>
  }
  return
}

// Not a matrix-vector dispatch (an embedding): untouched.
// CHECK-LABEL: func.func private @k_copy(
// CHECK-NOT: llm.lanes
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK-NOT: scf.if
// CHECK: return
func.func private @k_copy(%a: memref<4x64xf32>, %b: memref<4x64xf32>,
                          %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  scf.for %j = %begin to %end step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c4 iter_args(%a2 = %zero) -> (vector<4xf32>) {
      %v = vector.load %a[%j, %k] : memref<4x64xf32>, vector<4xf32>
      %f = arith.addf %v, %a2 : vector<4xf32>
      scf.yield %f : vector<4xf32>
    }
    vector.store %acc, %b[%j, %c0] : memref<4x64xf32>, vector<4xf32>
  }
  return
}

// The grids of the distributed kernel's dispatches grow by 16; the others
// keep theirs.
// CHECK: llm.dispatch @k_dot "norm+linear" grid <c = 64>
// CHECK: llm.dispatch @k_not_zero "linear" grid <c = 4>
// CHECK: llm.dispatch @k_mixed "linear" grid <c = 4>
// CHECK: llm.dispatch @k_copy "embedding" grid <n_tokens = 1>
// CHECK: llm.dispatch @k_dot "lm_head" grid <c = 16, logit_rows = 16>
// ONE-NOT: llm.lanes
// ONE: llm.dispatch @k_dot "norm+linear" grid <c = 4>
llm.schedule {
  llm.dispatch @k_dot "norm+linear" grid <c = 4>
      bindings [#llm.binding<space = arena, offset = 0, size = 512>,
                #llm.binding<space = weights, offset = 0, size = 1024>,
                #llm.binding<space = arena, offset = 512, size = 32>]
      scalars [#llm.scalar<n_tokens = 1>]
  llm.dispatch @k_not_zero "linear" grid <c = 4>
      bindings [#llm.binding<space = weights, offset = 0, size = 1024>,
                #llm.binding<space = arena, offset = 0, size = 16>]
      scalars []
  llm.dispatch @k_mixed "linear" grid <c = 4>
      bindings [#llm.binding<space = weights, offset = 0, size = 1024>,
                #llm.binding<space = arena, offset = 0, size = 16>]
      scalars []
  llm.dispatch @k_copy "embedding" grid <n_tokens = 1>
      bindings [#llm.binding<space = weights, offset = 0, size = 1024>,
                #llm.binding<space = arena, offset = 0, size = 1024>]
      scalars []
  llm.dispatch @k_residual "linear+residual" grid <c = 4>
      bindings [#llm.binding<space = arena, offset = 0, size = 32>,
                #llm.binding<space = arena, offset = 0, size = 32>,
                #llm.binding<space = arena, offset = 64, size = 32>,
                #llm.binding<space = weights, offset = 0, size = 1024>]
      scalars []
  llm.dispatch @k_dot "lm_head" grid <c = 1, logit_rows = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 512>,
                #llm.binding<space = weights, offset = 0, size = 1024>,
                #llm.binding<space = logits, offset = 0, size = 32>]
      scalars [#llm.scalar<logit_rows = 1>]
}
