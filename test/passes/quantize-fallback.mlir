// RUN: llmc-opt %s --llm-quantize=preset=q4_g128 -verify-diagnostics | FileCheck %s
// RUN: llmc-opt %s "--llm-quantize=preset=q4_g32 overrides=mlp=q4_g128_asym" 2>&1 | FileCheck %s --check-prefix=ASYM
// RUN: llmc-opt %s --llm-quantize=preset=q4_g32 2>&1 | FileCheck %s --check-prefix=FITS

// Rows the scheme's groups do not divide take the nearest scheme that fits,
// per weight, with one warning per class: up_proj's rows of 64 cannot hold
// groups of 128 and get q4_g32; down_proj's rows of 128 keep q4_g128;
// the embedding (q8 in this preset) fits and is unchanged.

// CHECK-LABEL: module
// CHECK: llm.weight @model.embed_tokens.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// CHECK: llm.weight @model.layers.0.mlp.up_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// CHECK: llm.weight @model.layers.0.mlp.down_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 4, group_size = 128, zero_point = symmetric, scale_dtype = f16>
// CHECK: llm.quantized_linear %{{.*}}, @model.layers.0.mlp.up_proj.weight
// CHECK: llm.quantized_linear %{{.*}}, @model.layers.0.mlp.down_proj.weight

// ASYM: warning: mlp: 1 weight (@model.layers.0.mlp.up_proj.weight [128, 64]) cannot use q4_g128_asym (the group size does not divide the row length): stored as q4_g32_asym (llmc build --strict-quant refuses instead)
// ASYM: llm.weight @model.layers.0.mlp.up_proj.weight {{.*}} bits = 4, group_size = 32, zero_point = asymmetric
// ASYM: llm.weight @model.layers.0.mlp.down_proj.weight {{.*}} bits = 4, group_size = 128, zero_point = asymmetric

// Nothing to fall back from: no warning.
// FITS-NOT: warning
// FITS: group_size = 32

// expected-warning @+1 {{mlp: 1 weight (@model.layers.0.mlp.up_proj.weight [128, 64]) cannot use q4_g128 (the group size does not divide the row length): stored as q4_g32 (llmc build --strict-quant refuses instead)}}
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "u", offset = 0, dtype = f32, shape = [128, 64]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x128xf32> = #llm.storage<file = "m.safetensors", tensor = "d", offset = 0, dtype = f32, shape = [64, 128]> role mlp_down
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x64xf32>
    %u = llm.linear %h, @model.layers.0.mlp.up_proj.weight : tensor<?x64xf32> -> tensor<?x128xf32>
    %d = llm.linear %u, @model.layers.0.mlp.down_proj.weight : tensor<?x128xf32> -> tensor<?x64xf32>
    %l = llm.linear %d, @model.embed_tokens.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}
