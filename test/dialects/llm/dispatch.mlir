// RUN: llmc-opt %s | FileCheck %s
// RUN: llmc-opt %s | llmc-opt | FileCheck %s

// The dispatch level round-trips: kernels over bindings, the schedule that
// launches them (a dispatch may name its model layer), #llm.scalar /
// #llm.binding / #llm.plan.
// CHECK-LABEL: module attributes {llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 128, weights_size = 64, kv_cache_size = 0>}
// CHECK: func.func private @k_scale(%{{.*}}: memref<4x2xf32>, %{{.*}}: memref<4x2xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index)
// CHECK: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_scale "scale" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 32, read = <n_tokens = 8>>, #llm.binding<space = arena, offset = 64, size = 32, write = <n_tokens = 8>>] scalars [#llm.scalar<n_tokens = 1, start_pos = 1>]
// CHECK-NEXT: llm.dispatch @k_scale "scale" layer 3 grid <c = 4, logit_rows = -1> bindings [#llm.binding<space = arena, offset = 64, size = 40>, #llm.binding<space = arena, offset = 0, size = 32>] scalars [#llm.scalar<c = 7>]
// CHECK-NEXT: }
module attributes {llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 128, weights_size = 64, kv_cache_size = 0>} {
  func.func private @k_scale(%x: memref<4x2xf32>, %y: memref<4x2xf32>, %s: index, %b: index, %e: index) {
    return
  }
  llm.schedule {
    llm.dispatch @k_scale "scale" grid <n_tokens = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 32, read = <n_tokens = 8>>,
                  #llm.binding<space = arena, offset = 64, size = 32, write = <n_tokens = 8>>]
        scalars [#llm.scalar<n_tokens = 1, start_pos = 1>]
    llm.dispatch @k_scale "scale" layer 3 grid <c = 4, logit_rows = -1>
        bindings [#llm.binding<space = arena, offset = 64, size = 40>,
                  #llm.binding<space = arena, offset = 0, size = 32>]
        scalars [#llm.scalar<c = 7>]
  }
}

// A distributed kernel's lanes meet in llm.lane_sum (llm-distribute-reductions).
// CHECK-LABEL: func.func private @k_lane_sum(
// CHECK-SAME: attributes {llm.lanes = 64 : i64}
// CHECK: %[[S:.*]] = llm.lane_sum %{{.*}} : f32
// CHECK: return %[[S]] : f32
func.func private @k_lane_sum(%x: f32) -> f32 attributes {llm.lanes = 64 : i64} {
  %s = llm.lane_sum %x : f32
  return %s : f32
}
