// The quantization class of a linear comes from its weight's role, which the
// importers set, never from its name: a weight named like an MLP projection
// but with role attn_o gets the attn_o scheme, and a linear over a weight
// without a role is an error.
// RUN: llmc-opt %s -split-input-file "--llm-quantize=preset=q8 overrides=attn_o=f16" -verify-diagnostics | FileCheck %s

// CHECK-LABEL: module
// CHECK: llm.weight @model.layers.0.mlp.down_proj.weight {{.*}} quant #llm.quant<scheme = float_cast, bits = 16{{.*}} role attn_o
// CHECK: llm.weight @model.layers.0.self_attn.o_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 8{{.*}} role mlp_down
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 64, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "a", offset = 0, dtype = f32, shape = [64, 64]> role attn_o
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "b", offset = 0, dtype = f32, shape = [64, 64]> role mlp_down
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x64xf32>
    %a = llm.linear %h, @model.layers.0.mlp.down_proj.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    %b = llm.linear %a, @model.layers.0.self_attn.o_proj.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    %l = llm.linear %b, @model.embed_tokens.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 64, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @e : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "w", offset = 0, dtype = f32, shape = [64, 64]>
  llm.weight @n : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [64, 64]> role final_norm
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @e : tensor<?xi32> -> tensor<?x64xf32>
    // expected-error @+1 {{uses weight @w without a role: the quantization policy needs to know what each weight is (the importers set `role`)}}
    %a = llm.linear %h, @w : tensor<?x64xf32> -> tensor<?x64xf32>
    %l = llm.linear %a, @e : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 64, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @e : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @n : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [64, 64]> role final_norm
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @e : tensor<?xi32> -> tensor<?x64xf32>
    // expected-error @+1 {{uses weight @n whose role final_norm is not a linear's}}
    %a = llm.linear %h, @n : tensor<?x64xf32> -> tensor<?x64xf32>
    %l = llm.linear %a, @e : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}
