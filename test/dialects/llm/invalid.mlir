// RUN: llmc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{num_heads (6) must be a multiple of num_kv_heads (4)}}
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 6, num_kv_heads = 4, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {}

// -----

// expected-error @+1 {{eos token id 300 is outside the vocabulary [0, 256)}}
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 4, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [300]>} {}

// -----

// expected-error @+1 {{head_dim must be even for rotary embeddings, got 15}}
module attributes {llm.config = #llm.config<hidden_size = 60, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 4, head_dim = 15, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {}

// -----

// expected-error @+1 {{'llm.config' is only valid on a module}}
func.func @f() attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 4, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} { return }

// -----

// expected-error @+1 {{rope scaling needs 0 < low_freq_factor < high_freq_factor, got 4.000000e+00 and 1.000000e+00}}
func.func @f() attributes {s = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0, original_max_position_embeddings = 64>} { return }

// -----

// expected-error @+1 {{int_group quantization supports 4, 6 or 8 bits, got 3}}
func.func @f() attributes {q = #llm.quant<scheme = int_group, bits = 3, group_size = 32, zero_point = symmetric, scale_dtype = f16>} { return }

// -----

// expected-error @+1 {{storage shape [64, 32] of "w" differs from the weight type 'tensor<64x64xf32>'}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 32]>

// -----

// expected-error @+1 {{source storage must be f32, f16 or bf16, got i8}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = i8, shape = [64, 64]>

// -----

// expected-error @+1 {{weight must have an f32, f16 or bf16 element type, got 'i32'}}
llm.weight @w : tensor<64x64xi32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]>

// -----

llm.weight @w : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [128, 64]>
func.func @linear_in(%x: tensor<?x32xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{weight 'tensor<128x64xf32>' expects 64 input features, got 32}}
  %y = llm.linear %x, @w : tensor<?x32xf32> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

llm.weight @w : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [128, 64]>
func.func @linear_out(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  // expected-error @+1 {{weight 'tensor<128x64xf32>' produces 128 features, result has 96}}
  %y = llm.linear %x, @w : tensor<?x64xf32> -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

// -----

func.func @linear_missing(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{references @nope, which is not an llm.weight}}
  %y = llm.linear %x, @nope : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @linear_rows(%x: tensor<4x64xf32>) -> tensor<5x64xf32> {
  // expected-error @+1 {{input has 4 rows but the result has 5}}
  %y = llm.linear %x, @w : tensor<4x64xf32> -> tensor<5x64xf32>
  return %y : tensor<5x64xf32>
}

// -----

llm.weight @emb : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [256, 64]>
func.func @embedding(%t: tensor<?xi32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{result has 32 features but the embedding table 'tensor<256x64xf32>' has 64}}
  %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

func.func @embedding_rows(%t: tensor<3xi32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{has 3 tokens but 4 result rows}}
  %h = llm.embedding %t, @emb : tensor<3xi32> -> tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}

// -----

llm.weight @n : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [32]>
func.func @norm(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{norm weight 'tensor<32xf32>' does not match 64 input features}}
  %y = llm.rms_norm %x, @n eps = 1.0e-05 : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @rope_heads(%x: tensor<?x64xf32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{input has 64 features, expected 3 heads x 16 = 48}}
  %y = llm.rope %x at %p {num_heads = 3 : i64, head_dim = 16 : i64, theta = 1.0e4 : f64} : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @rope_odd(%x: tensor<?x63xf32>, %p: index) -> tensor<?x63xf32> {
  // expected-error @+1 {{head_dim must be even, got 21}}
  %y = llm.rope %x at %p {num_heads = 3 : i64, head_dim = 21 : i64, theta = 1.0e4 : f64} : tensor<?x63xf32>
  return %y : tensor<?x63xf32>
}

// -----

func.func @rope_zero_heads(%x: tensor<?x64xf32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{attribute 'num_heads' failed to satisfy constraint}}
  %y = llm.rope %x at %p {num_heads = 0 : i64, head_dim = 16 : i64, theta = 1.0e4 : f64} : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @kv_layer(%k: tensor<?x32xf32>, %p: index, %c: !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>) {
  // expected-error @+1 {{layer 2 is out of range: the cache has 2 layers}}
  llm.kv_write %k, %k into %c[2] at %p : tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>
  return
}

// -----

func.func @kv_rows(%k: tensor<?x64xf32>, %p: index, %c: !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>) {
  // expected-error @+1 {{rows have 64 features, the cache holds 2 kv heads x 16 = 32}}
  llm.kv_write %k, %k into %c[0] at %p : tensor<?x64xf32>, tensor<?x64xf32>, !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>
  return
}

// -----

func.func @kv_read_types(%p: index, %c: !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32>) {
  // expected-error @+1 {{keys 'tensor<?x32xf32>' and values 'tensor<?x16xf32>' differ}}
  %k, %v = llm.kv_read %c[1] upto %p : !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = f32> -> tensor<?x32xf32>, tensor<?x16xf32>
  return
}

// -----

// expected-error @+1 {{kv_cache dtype must be f32, f16 or i8}}
func.func @kv_type(%c: !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 64, dtype = bf16>) {
  return
}

// -----

func.func @attention_gqa(%q: tensor<?x64xf32>, %k: tensor<?x48xf32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{num_heads (4) must be a multiple of num_kv_heads (3)}}
  %o = llm.attention %q, %k, %k at %p {num_heads = 4 : i64, num_kv_heads = 3 : i64, head_dim = 16 : i64, scale = 0.25 : f64, causal} : tensor<?x64xf32>, tensor<?x48xf32>, tensor<?x48xf32> -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

func.func @attention_kv_dim(%q: tensor<?x64xf32>, %k: tensor<?x64xf32>, %p: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{keys has 64 features, expected 2 heads x 16 = 32}}
  %o = llm.attention %q, %k, %k at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, causal} : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

func.func @attention_q_dim(%q: tensor<?x48xf32>, %k: tensor<?x32xf32>, %p: index) -> tensor<?x48xf32> {
  // expected-error @+1 {{query has 48 features, expected 4 heads x 16 = 64}}
  %o = llm.attention %q, %k, %k at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : tensor<?x48xf32>, tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?x48xf32>
  return %o : tensor<?x48xf32>
}

// -----

func.func @attention_result(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %p: index) -> tensor<4x64xf32> {
  // expected-error @+1 {{result type 'tensor<4x64xf32>' differs from the query type 'tensor<?x64xf32>'}}
  %o = llm.attention %q, %k, %k at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32> -> tensor<4x64xf32>
  return %o : tensor<4x64xf32>
}

// -----

func.func @add_types(%a: tensor<?x64xf32>, %b: tensor<?x32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %r = "llm.add"(%a, %b) : (tensor<?x64xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @rank(%a: tensor<64xf32>) -> tensor<64xf32> {
  // expected-error @+1 {{must be 2D tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %r = llm.silu %a : tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
func.func @linear_int(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight @q is integer-quantized; use llm.quantized_linear}}
  %y = llm.linear %x, @q : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

llm.weight @f : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]>
func.func @qlinear_float(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight @f is not integer-quantized; use llm.linear}}
  %y = llm.quantized_linear %x, @f : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
func.func @qlinear_shape(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight 'tensor<64x64xf32>' does not map 32 to 64 features}}
  %y = llm.quantized_linear %x, @q : tensor<?x32xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// expected-error @+1 {{segment offset 100 is not a non-negative multiple of 64}}
llm.weight @w : tensor<4xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [4]> at 100

// -----

// Only integer-quantized matrices pack in panels (QuantLayout.h).
// expected-error @+1 {{only integer-quantized matrices pack in panels}}
llm.weight @w : tensor<32x32xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [32, 32]> packed 16

// -----

// Asymmetric int8 groups (scale and min) have no panel kernel (AVX2's
// int16 pair sums cannot hold 255 x 127 x 2); asymmetric int4 ones do.
// expected-error @+1 {{cannot pack in panels of 16: only groups of a multiple of 32 elements (int6: or of 16) pack in panels, symmetric or (int4, int6) with a min}}
llm.weight @w : tensor<32x32xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [32, 32]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = asymmetric, scale_dtype = f16> packed 16

// -----

// expected-error @+1 {{cannot pack in panels of 8: panels hold 16 rows}}
llm.weight @w : tensor<32x32xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [32, 32]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> packed 8

// -----

// int6 exists for the panel kernels: groups of 32, or symmetric ones of 16
// (the groups-of-16 tile has no mins).
// expected-error @+1 {{cannot pack in panels of 16: int6 groups are a multiple of 32 elements (packed and symmetric: or of 16)}}
llm.weight @w : tensor<32x32xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [32, 32]> quant #llm.quant<scheme = int_group, bits = 6, group_size = 16, zero_point = asymmetric, scale_dtype = f16> packed 16

// -----

// int8 groups of 16 have no panel kernel: ggml's Q6_K and Q3_K, the formats
// with groups of 16 that pack, pack as int6 (WeightOp::getLayout).
// expected-error @+1 {{cannot pack in panels of 16: only groups of a multiple of 32 elements (int6: or of 16) pack in panels, symmetric or (int4, int6) with a min}}
llm.weight @w : tensor<32x32xf32> = #llm.storage<file = "a.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [32, 32]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f32> packed 16
