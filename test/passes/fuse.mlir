// RUN: llmc-opt %s -split-input-file --llm-fuse | FileCheck %s

// A whole Llama layer, untied lm_head, f32 weights. Every rewrite fires:
// q/k/v + ropes + kv_write -> qkv_rope over [q; k; v]; gate/up + swiglu ->
// fused_linear swiglu over [gate; up]; o_proj and down_proj take the
// residual adds; every norm folds into the weights it feeds (scaled_by),
// the final one into lm_head. The merged and folded weights are gone.
// CHECK-LABEL: module attributes
// CHECK: llm.weight @model.embed_tokens.weight : tensor<32x16xf32> = #llm.storage<{{[^>]*}}> role embed
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.qkv_proj.weight : tensor<32x16xf32> = #llm.storage<{{.*}}tensor = "model.layers.0.self_attn.q_proj.weight"{{[^>]*}}> then [#llm.storage<{{.*}}tensor = "model.layers.0.self_attn.k_proj.weight"{{[^>]*}}>, #llm.storage<{{.*}}tensor = "model.layers.0.self_attn.v_proj.weight"{{[^>]*}}>] scaled_by #llm.storage<{{.*}}tensor = "model.layers.0.input_layernorm.weight"{{[^>]*}}> role attn_qkv
// CHECK-NEXT: llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<16x16xf32> = #llm.storage<{{[^>]*}}> role attn_o
// CHECK-NEXT: llm.weight @model.layers.0.mlp.gate_up_proj.weight : tensor<64x16xf32> = #llm.storage<{{.*}}tensor = "model.layers.0.mlp.gate_proj.weight"{{[^>]*}}> then [#llm.storage<{{.*}}tensor = "model.layers.0.mlp.up_proj.weight"{{[^>]*}}>] scaled_by #llm.storage<{{.*}}tensor = "model.layers.0.post_attention_layernorm.weight"{{[^>]*}}> role mlp_gate_up
// CHECK-NEXT: llm.weight @model.layers.0.mlp.down_proj.weight : tensor<16x32xf32> = #llm.storage<{{[^>]*}}> role mlp_down
// CHECK-NEXT: llm.weight @lm_head.weight : tensor<32x16xf32> = #llm.storage<{{.*}}tensor = "lm_head.weight"{{[^>]*}}> scaled_by #llm.storage<{{.*}}tensor = "model.norm.weight"{{[^>]*}}> role lm_head
// CHECK-NOT: llm.weight
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[T:[^:]*]]: tensor<?xi32>, %[[P:[^:]*]]: index, %[[C:[^:]*]]: !llm.kv_cache
// CHECK: %[[H:.*]] = llm.embedding %[[T]]
// CHECK: %[[LEN:.*]] = arith.addi %[[P]]
// CHECK-NEXT: %[[Q:.*]] = llm.qkv_rope %[[H]], @model.layers.0.self_attn.qkv_proj.weight norm eps = 1.000000e-05 into %[[C]][0] at %[[P]] {head_dim = 8 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, theta = 5.000000e+05 : f64} : tensor<?x16xf32>, !llm.kv_cache<{{.*}}> -> tensor<?x16xf32>
// CHECK-NEXT: %[[K:.*]], %[[V:.*]] = llm.kv_read %[[C]][0] upto %[[LEN]]
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] at %[[P]]
// CHECK-NEXT: %[[H1:.*]] = llm.fused_linear %[[A]], @model.layers.0.self_attn.o_proj.weight residual(%[[H]]) : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
// CHECK-NEXT: %[[S:.*]] = llm.fused_linear %[[H1]], @model.layers.0.mlp.gate_up_proj.weight norm eps = 1.000000e-05 swiglu : (tensor<?x16xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: %[[H2:.*]] = llm.fused_linear %[[S]], @model.layers.0.mlp.down_proj.weight residual(%[[H1]]) : (tensor<?x32xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
// CHECK-NEXT: %[[L:.*]] = llm.fused_linear %[[H2]], @lm_head.weight norm eps = 1.000000e-05 : (tensor<?x16xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: return %[[L]]
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.embed_tokens.weight", offset = 0, dtype = bf16, shape = [32, 16]> role embed
  llm.weight @model.layers.0.input_layernorm.weight : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.input_layernorm.weight", offset = 1024, dtype = f32, shape = [16]> role attn_norm
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<16x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.q_proj.weight", offset = 1088, dtype = bf16, shape = [16, 16]> role attn_q
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<8x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.k_proj.weight", offset = 1600, dtype = bf16, shape = [8, 16]> role attn_k
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<8x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.v_proj.weight", offset = 1856, dtype = bf16, shape = [8, 16]> role attn_v
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<16x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.self_attn.o_proj.weight", offset = 2112, dtype = bf16, shape = [16, 16]> role attn_o
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.post_attention_layernorm.weight", offset = 2624, dtype = f32, shape = [16]> role mlp_norm
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.gate_proj.weight", offset = 2688, dtype = bf16, shape = [32, 16]> role mlp_gate
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.up_proj.weight", offset = 3712, dtype = bf16, shape = [32, 16]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "model.layers.0.mlp.down_proj.weight", offset = 4736, dtype = bf16, shape = [16, 32]> role mlp_down
  llm.weight @model.norm.weight : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "model.norm.weight", offset = 5760, dtype = f32, shape = [16]> role final_norm
  llm.weight @lm_head.weight : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "lm_head.weight", offset = 5824, dtype = bf16, shape = [32, 16]> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x16xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %x = llm.rms_norm %h, @model.layers.0.input_layernorm.weight eps = 1.0e-05 : tensor<?x16xf32>
    %q = llm.linear %x, @model.layers.0.self_attn.q_proj.weight : tensor<?x16xf32> -> tensor<?x16xf32>
    %k = llm.linear %x, @model.layers.0.self_attn.k_proj.weight : tensor<?x16xf32> -> tensor<?x8xf32>
    %v = llm.linear %x, @model.layers.0.self_attn.v_proj.weight : tensor<?x16xf32> -> tensor<?x8xf32>
    %qr = llm.rope %q at %p {num_heads = 2 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x16xf32>
    %kr = llm.rope %k at %p {num_heads = 1 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x8xf32>
    llm.kv_write %kr, %v into %c[0] at %p : tensor<?x8xf32>, tensor<?x8xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32> -> tensor<?x8xf32>, tensor<?x8xf32>
    %a = llm.attention %qr, %ks, %vs at %p {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 8 : i64, scale = 0.35355339059327379 : f64, causal} : tensor<?x16xf32>, tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x16xf32>
    %o = llm.linear %a, @model.layers.0.self_attn.o_proj.weight : tensor<?x16xf32> -> tensor<?x16xf32>
    %h1 = llm.add %h, %o : tensor<?x16xf32>
    %x2 = llm.rms_norm %h1, @model.layers.0.post_attention_layernorm.weight eps = 1.0e-05 : tensor<?x16xf32>
    %g = llm.linear %x2, @model.layers.0.mlp.gate_proj.weight : tensor<?x16xf32> -> tensor<?x32xf32>
    %u = llm.linear %x2, @model.layers.0.mlp.up_proj.weight : tensor<?x16xf32> -> tensor<?x32xf32>
    %s = llm.swiglu %g, %u : tensor<?x32xf32>
    %d = llm.linear %s, @model.layers.0.mlp.down_proj.weight : tensor<?x32xf32> -> tensor<?x16xf32>
    %h2 = llm.add %h1, %d : tensor<?x16xf32>
    %f = llm.rms_norm %h2, @model.norm.weight eps = 1.0e-05 : tensor<?x16xf32>
    %l = llm.linear %f, @lm_head.weight : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// No fold: q/k/v kept as the GGUF file's Q8_0 blocks (a fold would
// re-quantize them) and a lm_head tied to the embedding (a fold would change
// the embedding too). The projections still merge, rows still in llama.cpp's
// rope order per part; both norms stay on the ops as `gamma`, so their
// weights stay.
// CHECK-LABEL: module attributes
// CHECK: llm.weight @emb : tensor<32x32xf32> = #llm.storage<{{[^>]*}}> quant #llm.quant<{{[^>]*}}> role embed
// CHECK-NEXT: llm.weight @attn_norm : tensor<32xf32>
// CHECK-NEXT: llm.weight @wq.qkv_proj.weight : tensor<64x32xf32> = #llm.storage<{{.*}}tensor = "blk.0.attn_q.weight", offset = 1216, dtype = q8_0, shape = [32, 32], rope_permute_heads = 4> then [#llm.storage<{{.*}}tensor = "blk.0.attn_k.weight"{{.*}}rope_permute_heads = 2>, #llm.storage<{{.*}}tensor = "blk.0.attn_v.weight"{{[^>]*}}>] quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role attn_qkv
// CHECK-NEXT: llm.weight @final_norm : tensor<32xf32>
// CHECK-NOT: scaled_by
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[T:[^:]*]]: tensor<?xi32>, %[[P:[^:]*]]: index, %[[C:[^:]*]]: !llm.kv_cache
// CHECK: %[[H:.*]] = llm.embedding %[[T]], @emb
// CHECK: %[[Q:.*]] = llm.qkv_rope %[[H]], @wq.qkv_proj.weight norm eps = 1.000000e-05 gamma @attn_norm into %[[C]][0] at %[[P]]
// CHECK: %[[A:.*]] = llm.attention %[[Q]]
// CHECK-NEXT: %[[L:.*]] = llm.fused_linear %[[A]], @emb norm eps = 1.000000e-05 gamma @final_norm : (tensor<?x32xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: return %[[L]]
module attributes {llm.config = #llm.config<hidden_size = 32, intermediate_size = 32, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x32xf32> = #llm.storage<file = "m.gguf", tensor = "token_embd.weight", offset = 0, dtype = q8_0, shape = [32, 32]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role embed
  llm.weight @attn_norm : tensor<32xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_norm.weight", offset = 1088, dtype = f32, shape = [32]> role attn_norm
  llm.weight @wq : tensor<32x32xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_q.weight", offset = 1216, dtype = q8_0, shape = [32, 32], rope_permute_heads = 4> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role attn_q
  llm.weight @wk : tensor<16x32xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_k.weight", offset = 2304, dtype = q8_0, shape = [16, 32], rope_permute_heads = 2> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role attn_k
  llm.weight @wv : tensor<16x32xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_v.weight", offset = 2848, dtype = q8_0, shape = [16, 32]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role attn_v
  llm.weight @final_norm : tensor<32xf32> = #llm.storage<file = "m.gguf", tensor = "output_norm.weight", offset = 3392, dtype = f32, shape = [32]> role final_norm
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x32xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %x = llm.rms_norm %h, @attn_norm eps = 1.0e-05 : tensor<?x32xf32>
    %q = llm.quantized_linear %x, @wq : tensor<?x32xf32> -> tensor<?x32xf32>
    %k = llm.quantized_linear %x, @wk : tensor<?x32xf32> -> tensor<?x16xf32>
    %v = llm.quantized_linear %x, @wv : tensor<?x32xf32> -> tensor<?x16xf32>
    %qr = llm.rope %q at %p {num_heads = 4 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x32xf32>
    %kr = llm.rope %k at %p {num_heads = 2 : i64, head_dim = 8 : i64, theta = 5.0e+05 : f64} : tensor<?x16xf32>
    llm.kv_write %kr, %v into %c[0] at %p : tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32>
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 8, max_context = 128, dtype = f32> -> tensor<?x16xf32>, tensor<?x16xf32>
    %a = llm.attention %qr, %ks, %vs at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 8 : i64, scale = 0.35355339059327379 : f64, causal} : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x32xf32>
    %f = llm.rms_norm %a, @final_norm eps = 1.0e-05 : tensor<?x32xf32>
    %l = llm.quantized_linear %f, @emb : tensor<?x32xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// Patterns that must not fire. gate (f16) and up (f32) differ in format, so
// they do not merge and the swiglu stays (the norm still folds into each);
// the down_proj result feeds two adds, so neither takes it as an epilogue;
// the final norm's result also feeds an add, so it stays and the lm_head
// stays a plain linear.
// CHECK-LABEL: module attributes
// CHECK: llm.weight @wg : tensor<32x16xf32> = #llm.storage<{{[^>]*}}> scaled_by #llm.storage<{{.*}}tensor = "n1"{{[^>]*}}> quant #llm.quant<scheme = float_cast
// CHECK-NEXT: llm.weight @wu : tensor<32x16xf32> = #llm.storage<{{[^>]*}}> scaled_by #llm.storage<{{.*}}tensor = "n1"{{[^>]*}}> role mlp_up
// CHECK-NEXT: llm.weight @wd : tensor<16x32xf32> = #llm.storage<{{[^>]*}}> role mlp_down
// CHECK-NEXT: llm.weight @n2
// CHECK-NEXT: llm.weight @head : tensor<32x16xf32> = #llm.storage<{{[^>]*}}> role lm_head
// CHECK-LABEL: func.func @forward(
// CHECK: %[[H:.*]] = llm.embedding
// CHECK-NEXT: %[[G:.*]] = llm.fused_linear %[[H]], @wg norm eps = 1.000000e-05 : (tensor<?x16xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: %[[U:.*]] = llm.fused_linear %[[H]], @wu norm eps = 1.000000e-05 : (tensor<?x16xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: %[[S:.*]] = llm.swiglu %[[G]], %[[U]]
// CHECK-NEXT: %[[D:.*]] = llm.linear %[[S]], @wd
// CHECK-NEXT: %[[H1:.*]] = llm.add %[[H]], %[[D]]
// CHECK-NEXT: %[[H2:.*]] = llm.add %[[H1]], %[[D]]
// CHECK-NEXT: %[[F:.*]] = llm.rms_norm %[[H2]], @n2
// CHECK-NEXT: %[[F2:.*]] = llm.add %[[F]], %[[H2]]
// CHECK-NEXT: %[[L:.*]] = llm.linear %[[F2]], @head
// CHECK-NEXT: return %[[L]]
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]> role embed
  llm.weight @n1 : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n1", offset = 2048, dtype = f32, shape = [16]> role mlp_norm
  llm.weight @wg : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "g", offset = 2112, dtype = f32, shape = [32, 16]> quant #llm.quant<scheme = float_cast, bits = 16, group_size = 0, zero_point = symmetric, scale_dtype = f16> role mlp_gate
  llm.weight @wu : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "u", offset = 4160, dtype = f32, shape = [32, 16]> role mlp_up
  llm.weight @wd : tensor<16x32xf32> = #llm.storage<file = "m.safetensors", tensor = "d", offset = 6208, dtype = f32, shape = [16, 32]> role mlp_down
  llm.weight @n2 : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n2", offset = 8256, dtype = f32, shape = [16]> role final_norm
  llm.weight @head : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "h", offset = 8320, dtype = f32, shape = [32, 16]> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %x = llm.rms_norm %h, @n1 eps = 1.0e-05 : tensor<?x16xf32>
    %g = llm.linear %x, @wg : tensor<?x16xf32> -> tensor<?x32xf32>
    %u = llm.linear %x, @wu : tensor<?x16xf32> -> tensor<?x32xf32>
    %s = llm.swiglu %g, %u : tensor<?x32xf32>
    %d = llm.linear %s, @wd : tensor<?x32xf32> -> tensor<?x16xf32>
    %h1 = llm.add %h, %d : tensor<?x16xf32>
    %h2 = llm.add %h1, %d : tensor<?x16xf32>
    %f = llm.rms_norm %h2, @n2 eps = 1.0e-05 : tensor<?x16xf32>
    %f2 = llm.add %f, %h2 : tensor<?x16xf32>
    %l = llm.linear %f2, @head : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
