// RUN: llmc-opt %s -split-input-file --llm-plan-weights --llm-plan-memory --llm-lower-to-kernels -verify-diagnostics

module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  // expected-error @+1 {{cannot lay out #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> for 'tensor<32x16xf32>': the group size does not divide the row length}}
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = f32, shape = [32, 16]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %l = llm.quantized_linear %h, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = f32, shape = [32, 16]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %l = llm.linear %h, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    %s = llm.add %l, %l : tensor<?x32xf32>
    // expected-error @+1 {{@forward must return the result of an llm.linear (the lm_head)}}
    return %s : tensor<?x32xf32>
  }
}

// -----

// expected-error @+1 {{expected an llm model (run -llm-verify-model for details)}}
module {
}
