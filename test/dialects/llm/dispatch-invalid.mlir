// RUN: llmc-opt %s -split-input-file -verify-diagnostics

func.func private @k(%x: memref<4xf32>, %b: index, %e: index)
llm.schedule {
  // expected-error @+1 {{kernel @k has type '(memref<4xf32>, index, index) -> ()'; expected 1 memrefs (bindings), 1 + 2 indices (scalars, begin, end) and no results}}
  llm.dispatch @k "x" grid <c = 4> bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars [#llm.scalar<c = 1>]
}

// -----

func.func private @k(%x: memref<4xf32>, %b: index, %e: index)
llm.schedule {
  // expected-error @+1 {{binding #0 holds 12 bytes but kernel argument 'memref<4xf32>' needs 16}}
  llm.dispatch @k "x" grid <c = 4> bindings [#llm.binding<space = weights, offset = 0, size = 12>] scalars []
}

// -----

func.func private @k(%x: memref<?xf32>, %b: index, %e: index)
llm.schedule {
  // expected-error @+1 {{kernel argument #0 of type 'memref<?xf32>' is not a static memref with identity layout}}
  llm.dispatch @k "x" grid <c = 4> bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars []
}

// -----

func.func private @k(%x: memref<4xf32>, %b: index, %e: i64)
llm.schedule {
  // expected-error @+1 {{kernel argument #2 must be index, got 'i64'}}
  llm.dispatch @k "x" grid <c = 4> bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars []
}

// -----

llm.schedule {
  // expected-error @+1 {{kernel @missing is not a func.func}}
  llm.dispatch @missing "x" grid <c = 1> bindings [] scalars []
}

// -----

func.func @f() {
  // expected-error @+1 {{'llm.schedule' op expects parent op 'builtin.module'}}
  llm.schedule {
  }
  return
}

// -----

// expected-error @+1 {{'llm.plan' must be a #llm.plan attribute on a module}}
module attributes {llm.plan = 3 : i64} {
}

// -----

// Activations are f32 or f16: the kernels widen to f32 and round back.
// expected-error @+1 {{plan activations must be f32 or f16, got 'bf16'}}
module attributes {llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 64, weights_size = 0, kv_cache_size = 64, activations = bf16>} {
}

// -----

// expected-error @+1 {{plan sizes must be non-negative and the prefill chunk positive}}
module attributes {llm.plan = #llm.plan<prefill_chunk = 0, arena_size = 64, weights_size = 0, kv_cache_size = 64>} {
}

// -----

// llm.lane_sum is a collective of the lanes of a distributed kernel; in a
// kernel without llm.lanes it would be a silent no-op.
func.func private @k_sum(%x: f32) -> f32 {
  // expected-error @+1 {{'llm.lane_sum' op needs a kernel distributed across lanes (a func.func with `llm.lanes`)}}
  %s = llm.lane_sum %x : f32
  return %s : f32
}

// -----

// expected-error @+1 {{'llm.lanes' must be a positive integer on a func.func}}
func.func private @k_lanes(%x: f32) attributes {llm.lanes = 0 : i64} {
  return
}
