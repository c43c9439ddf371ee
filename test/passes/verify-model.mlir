// RUN: llmc-opt %s -split-input-file -llm-verify-model -verify-diagnostics | FileCheck %s

// A complete (one-layer-free) model passes unchanged.
// CHECK-LABEL: func.func @forward
// CHECK: %[[H:.*]] = llm.embedding %{{.*}}, @emb
// CHECK: %[[L:.*]] = llm.linear %[[H]], @emb
// CHECK: return %[[L]]
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [256, 64]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>) -> tensor<?x256xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x64xf32>
    %l = llm.linear %h, @emb : tensor<?x64xf32> -> tensor<?x256xf32>
    return %l : tensor<?x256xf32>
  }
}

// -----

// expected-error @+1 {{module has no 'llm.config' attribute}}
module {
}

// -----

// expected-error @+1 {{module has no 'func.func @forward'}}
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  // expected-error @+1 {{@forward must have type (tensor<?xi32>, index, !llm.kv_cache<...>) -> tensor<?x256xf32>, got '(tensor<?xi32>, index) -> tensor<?x256xf32>'}}
  func.func @forward(%t: tensor<?xi32>, %p: index) -> tensor<?x256xf32> {
    %z = arith.constant 0 : index
    %e = tensor.empty(%z) : tensor<?x256xf32>
    return %e : tensor<?x256xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [256, 64]>
  // expected-error @+1 {{KV cache type '!llm.kv_cache<num_layers = 1, num_kv_heads = 4, head_dim = 16, max_context = 256, dtype = f32>' disagrees with the model configuration}}
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 4, head_dim = 16, max_context = 256, dtype = f32>) -> tensor<?x256xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x64xf32>
    %l = llm.linear %h, @emb : tensor<?x64xf32> -> tensor<?x256xf32>
    return %l : tensor<?x256xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [256, 64]>
  // expected-error @+1 {{weight @orphan is never used}}
  llm.weight @orphan : tensor<64xf32> = #llm.storage<file = "m.safetensors", tensor = "o", offset = 0, dtype = f32, shape = [64]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>) -> tensor<?x256xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x64xf32>
    %l = llm.linear %h, @emb : tensor<?x64xf32> -> tensor<?x256xf32>
    return %l : tensor<?x256xf32>
  }
}
