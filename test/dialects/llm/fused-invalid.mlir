// RUN: llmc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{its parts hold 96 rows, the weight type 'tensor<128x64xf32>' has 128}}
llm.weight @qkv : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> then [#llm.storage<file = "m.safetensors", tensor = "k", offset = 0, dtype = f32, shape = [32, 64]>]

// -----

// expected-error @+1 {{storage shape [32, 48] of "k" differs from the weight type 'tensor<96x64xf32>'}}
llm.weight @qk : tensor<96x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> then [#llm.storage<file = "m.safetensors", tensor = "k", offset = 0, dtype = f32, shape = [32, 48]>]

// -----

// expected-error @+1 {{scaled_by "n" must be a vector of the 64 columns of a 2-D weight}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> scaled_by #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [32]>

// -----

llm.weight @gate_up : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "g", offset = 0, dtype = f32, shape = [256, 64]>
func.func @swiglu_rows(%x: tensor<?x64xf32>) -> tensor<?x256xf32> {
  // A SwiGLU epilogue halves the weight's rows.
  // expected-error @+1 {{weight 'tensor<256x64xf32>' must be [512, 64]}}
  %y = llm.fused_linear %x, @gate_up swiglu : (tensor<?x64xf32>) -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]>
llm.weight @g : tensor<64xf32> = #llm.storage<file = "m.safetensors", tensor = "g", offset = 0, dtype = f32, shape = [64]>
func.func @gamma_without_norm(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{has a gamma but no norm}}
  %y = llm.fused_linear %x, @w gamma @g : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]>
func.func @residual_type(%x: tensor<?x64xf32>, %r: tensor<?x32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{residual 'tensor<?x32xf32>' differs from the result 'tensor<?x64xf32>'}}
  %y = llm.fused_linear %x, @w residual(%r) : (tensor<?x64xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

llm.weight @qkv : tensor<96x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [96, 64]>
func.func @qkv_rows(%x: tensor<?x64xf32>, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>, %p: index) -> tensor<?x64xf32> {
  // 4 q heads and 2 + 2 kv heads of 16 rows: 128.
  // expected-error @+1 {{weight 'tensor<96x64xf32>' must be [128, 64]}}
  %q = llm.qkv_rope %x, @qkv into %c[0] at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x64xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32> -> tensor<?x64xf32>
  return %q : tensor<?x64xf32>
}

// -----

func.func @qkv_cache(%x: tensor<?x64xf32>, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 16, max_context = 64, dtype = f32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{the cache holds 1 kv heads x 16, not 2 x 16}}
  %q = llm.qkv_rope %x, @qkv into %c[0] at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x64xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 16, max_context = 64, dtype = f32> -> tensor<?x64xf32>
  return %q : tensor<?x64xf32>
}

// -----

func.func @qkv_layer(%x: tensor<?x64xf32>, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{layer 3 is out of range: the cache has 1 layers}}
  %q = llm.qkv_rope %x, @qkv into %c[3] at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x64xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32> -> tensor<?x64xf32>
  return %q : tensor<?x64xf32>
}
