// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=q8 --llm-fuse --llm-pack-weights | FileCheck %s
// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=q4_g32_asym --llm-fuse --llm-pack-weights | FileCheck %s --check-prefix=ASYM
// RUN: llmc-opt %s -split-input-file "--llm-quantize=preset=q4_g32 int8-dot=true" --llm-fuse --llm-pack-weights | FileCheck %s --check-prefix=DOT

// A fused layer in q8 (hidden 32, two heads of 16, ffn 64, vocab 40): every
// integer matrix packs, the embedding too (its kernel reads panels; a tied
// lm_head would share it), the vocabulary's 40 rows as three panels.
// CHECK-LABEL: module attributes
// CHECK: llm.weight @model.embed_tokens.weight : tensor<40x32xf32> = {{.*}} quant #llm.quant<{{.*}}bits = 8{{.*}}> packed 16 role embed
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.qkv_proj.weight : tensor<64x32xf32> = {{.*}} packed 16 role attn_qkv
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<32x32xf32> = {{.*}} packed 16 role attn_o
// CHECK-NEXT: llm.weight @model.layers.0.mlp.gate_up_proj.weight : tensor<128x32xf32> = {{.*}} packed 16 role mlp_gate_up
// CHECK-NEXT: llm.weight @model.layers.0.mlp.down_proj.weight : tensor<32x64xf32> = {{.*}} packed 16 role mlp_down
// CHECK-NEXT: llm.weight @lm_head.weight : tensor<40x32xf32> = {{.*}} packed 16 role lm_head
// The ops are unchanged: the layout is the weight's.
// CHECK: llm.qkv_rope %{{.*}}, @model.layers.0.self_attn.qkv_proj.weight norm eps
//
// Asymmetric int4 (scale and min) packs too: its kernel adds min x the
// activation block's sum.
// ASYM-LABEL: module attributes
// ASYM: llm.weight @model.embed_tokens.weight : {{.*}} packed 16 role embed
// ASYM-NEXT: llm.weight @model.layers.0.self_attn.qkv_proj.weight : {{.*}}zero_point = asymmetric, scale_dtype = f16> packed 16 role attn_qkv
// ASYM-NEXT: llm.weight @model.layers.0.self_attn.o_proj.weight : {{.*}}zero_point = asymmetric, scale_dtype = f16> packed 16 role attn_o
// ASYM-NEXT: llm.weight @model.layers.0.mlp.gate_up_proj.weight : {{.*}}zero_point = asymmetric, scale_dtype = f16> packed 16 role mlp_gate_up
// ASYM-NEXT: llm.weight @model.layers.0.mlp.down_proj.weight : {{.*}}zero_point = asymmetric, scale_dtype = f16> packed 16 role mlp_down
// ASYM-NEXT: llm.weight @lm_head.weight : {{.*}} packed 16 role lm_head
//
// q4_g32 for a target with integer-dot kernels: the embedding and lm_head
// in int6 (q6), the linears in int4, all of them packed.
// DOT-LABEL: module attributes
// DOT: llm.weight @model.embed_tokens.weight : {{.*}}bits = 6, group_size = 32, zero_point = symmetric, scale_dtype = f16> packed 16 role embed
// DOT-NEXT: llm.weight @model.layers.0.self_attn.qkv_proj.weight : {{.*}}bits = 4, group_size = 32{{.*}} packed 16 role attn_qkv
// DOT: llm.weight @lm_head.weight : {{.*}}bits = 6, group_size = 32, zero_point = symmetric, scale_dtype = f16> packed 16 role lm_head
module attributes {llm.config = #llm.config<hidden_size = 32, intermediate_size = 64, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 16, vocab_size = 40, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<40x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.embed_tokens.weight", offset = 0, dtype = bf16, shape = [40, 32]> role embed
  llm.weight @model.layers.0.input_layernorm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.input_layernorm.weight", offset = 0, dtype = f32, shape = [32]> role attn_norm
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.q_proj.weight", offset = 0, dtype = bf16, shape = [32, 32]> role attn_q
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.k_proj.weight", offset = 0, dtype = bf16, shape = [16, 32]> role attn_k
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.v_proj.weight", offset = 0, dtype = bf16, shape = [16, 32]> role attn_v
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.o_proj.weight", offset = 0, dtype = bf16, shape = [32, 32]> role attn_o
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.post_attention_layernorm.weight", offset = 0, dtype = f32, shape = [32]> role mlp_norm
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<64x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.gate_proj.weight", offset = 0, dtype = bf16, shape = [64, 32]> role mlp_gate
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<64x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.up_proj.weight", offset = 0, dtype = bf16, shape = [64, 32]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<32x64xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.down_proj.weight", offset = 0, dtype = bf16, shape = [32, 64]> role mlp_down
  llm.weight @model.norm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.norm.weight", offset = 0, dtype = f32, shape = [32]> role final_norm
  llm.weight @lm_head.weight : tensor<40x32xf32> = #llm.storage<file = "m.safetensors", tensor = "lm_head.weight", offset = 0, dtype = bf16, shape = [40, 32]> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 16, max_context = 128, dtype = f32>) -> tensor<?x40xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x32xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %x = llm.rms_norm %h, @model.layers.0.input_layernorm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %q = llm.linear %x, @model.layers.0.self_attn.q_proj.weight : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = llm.linear %x, @model.layers.0.self_attn.k_proj.weight : tensor<?x32xf32> -> tensor<?x16xf32>
    %v = llm.linear %x, @model.layers.0.self_attn.v_proj.weight : tensor<?x32xf32> -> tensor<?x16xf32>
    %qr = llm.rope %q at %p {num_heads = 2 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x32xf32>
    %kr = llm.rope %k at %p {num_heads = 1 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x16xf32>
    llm.kv_write %kr, %v into %c[0] at %p : tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 16, max_context = 128, dtype = f32>
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 16, max_context = 128, dtype = f32> -> tensor<?x16xf32>, tensor<?x16xf32>
    %a = llm.attention %qr, %ks, %vs at %p {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64, scale = 0.25 : f64, causal} : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x32xf32>
    %o = llm.linear %a, @model.layers.0.self_attn.o_proj.weight : tensor<?x32xf32> -> tensor<?x32xf32>
    %h1 = llm.add %h, %o : tensor<?x32xf32>
    %x2 = llm.rms_norm %h1, @model.layers.0.post_attention_layernorm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %g = llm.linear %x2, @model.layers.0.mlp.gate_proj.weight : tensor<?x32xf32> -> tensor<?x64xf32>
    %u = llm.linear %x2, @model.layers.0.mlp.up_proj.weight : tensor<?x32xf32> -> tensor<?x64xf32>
    %s = llm.swiglu %g, %u : tensor<?x64xf32>
    %d = llm.linear %s, @model.layers.0.mlp.down_proj.weight : tensor<?x64xf32> -> tensor<?x32xf32>
    %h2 = llm.add %h1, %d : tensor<?x32xf32>
    %f = llm.rms_norm %h2, @model.norm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %l = llm.linear %f, @lm_head.weight : tensor<?x32xf32> -> tensor<?x40xf32>
    return %l : tensor<?x40xf32>
  }
}

// -----

// Heads of 8 rows: a head's rows are half a panel, so [q; k; v] stays
// row-major (its op keeps the float-activation kernel); the rest packs.
// CHECK-LABEL: module attributes
// CHECK: llm.weight @model.embed_tokens.weight : {{.*}} packed 16 role embed
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.qkv_proj.weight : tensor<64x32xf32> = {{.*}}scale_dtype = f16> role attn_qkv
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.o_proj.weight : {{.*}} packed 16 role attn_o
// ASYM-LABEL: module attributes
module attributes {llm.config = #llm.config<hidden_size = 32, intermediate_size = 64, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.embed_tokens.weight", offset = 0, dtype = bf16, shape = [32, 32]> role embed
  llm.weight @model.layers.0.input_layernorm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.input_layernorm.weight", offset = 0, dtype = f32, shape = [32]> role attn_norm
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.q_proj.weight", offset = 0, dtype = bf16, shape = [32, 32]> role attn_q
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.k_proj.weight", offset = 0, dtype = bf16, shape = [16, 32]> role attn_k
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.v_proj.weight", offset = 0, dtype = bf16, shape = [16, 32]> role attn_v
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.o_proj.weight", offset = 0, dtype = bf16, shape = [32, 32]> role attn_o
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.post_attention_layernorm.weight", offset = 0, dtype = f32, shape = [32]> role mlp_norm
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<64x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.gate_proj.weight", offset = 0, dtype = bf16, shape = [64, 32]> role mlp_gate
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<64x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.up_proj.weight", offset = 0, dtype = bf16, shape = [64, 32]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<32x64xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.down_proj.weight", offset = 0, dtype = bf16, shape = [32, 64]> role mlp_down
  llm.weight @model.norm.weight : tensor<32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.norm.weight", offset = 0, dtype = f32, shape = [32]> role final_norm
  llm.weight @lm_head.weight : tensor<32x32xf32> = #llm.storage<file = "m.safetensors", tensor = "lm_head.weight", offset = 0, dtype = bf16, shape = [32, 32]> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x32xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %x = llm.rms_norm %h, @model.layers.0.input_layernorm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %q = llm.linear %x, @model.layers.0.self_attn.q_proj.weight : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = llm.linear %x, @model.layers.0.self_attn.k_proj.weight : tensor<?x32xf32> -> tensor<?x16xf32>
    %v = llm.linear %x, @model.layers.0.self_attn.v_proj.weight : tensor<?x32xf32> -> tensor<?x16xf32>
    %qr = llm.rope %q at %p {num_heads = 4 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x32xf32>
    %kr = llm.rope %k at %p {num_heads = 2 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x16xf32>
    llm.kv_write %kr, %v into %c[0] at %p : tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32>
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32> -> tensor<?x16xf32>, tensor<?x16xf32>
    %a = llm.attention %qr, %ks, %vs at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 8 : i64, scale = 0.25 : f64, causal} : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x32xf32>
    %o = llm.linear %a, @model.layers.0.self_attn.o_proj.weight : tensor<?x32xf32> -> tensor<?x32xf32>
    %h1 = llm.add %h, %o : tensor<?x32xf32>
    %x2 = llm.rms_norm %h1, @model.layers.0.post_attention_layernorm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %g = llm.linear %x2, @model.layers.0.mlp.gate_proj.weight : tensor<?x32xf32> -> tensor<?x64xf32>
    %u = llm.linear %x2, @model.layers.0.mlp.up_proj.weight : tensor<?x32xf32> -> tensor<?x64xf32>
    %s = llm.swiglu %g, %u : tensor<?x64xf32>
    %d = llm.linear %s, @model.layers.0.mlp.down_proj.weight : tensor<?x64xf32> -> tensor<?x32xf32>
    %h2 = llm.add %h1, %d : tensor<?x32xf32>
    %f = llm.rms_norm %h2, @model.norm.weight eps = 1.0e-05 : tensor<?x32xf32>
    %l = llm.linear %f, @lm_head.weight : tensor<?x32xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
