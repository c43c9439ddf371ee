// RUN: not llmc-opt %s --llm-fuse --llm-quantize=preset=q8 2>&1 | FileCheck %s

// Quantizing after fusion is refused: the policy takes the weights as the
// model has them, one class each, and fusion merges classes (the norm into
// the lm_head here).
// CHECK: error: 'llm.fused_linear' op is already fused: run llm-quantize before llm-fuse
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @model.norm.weight : tensor<64xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [64]> role final_norm
  llm.weight @lm_head.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "h", offset = 0, dtype = f32, shape = [64, 64]> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x64xf32>
    %n = llm.rms_norm %h, @model.norm.weight eps = 1.0e-05 : tensor<?x64xf32>
    %l = llm.linear %n, @lm_head.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}
