// RUN: llmc-opt %s -split-input-file --llm-fuse --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s

// The fused layer at the dispatch level (the model of fuse.mlir's first
// case, chunk 4: a [4, 16] activation is 256 bytes, [4, 32] 512).
//
// Memory plan by hand: h 0; q 256; attention's result 512, so the arena
// reaches 768. The residual epilogues write in place: o_proj's result takes
// h's slot (h dies there), down_proj's takes h1's; gate_up's 512 bytes fit
// in the range q and the attention result freed (256..768).
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 768, weights_size = 13312, kv_cache_size = 8192>
//
// qkv_rope: bindings x, [q; k; v] (32 rows), q out, the layer's cache; then
// n_tokens, start_pos, begin, end. A norm prologue (1 / rms per row in a
// buffer of its own), cos / sin per (row, frequency) once, then three loops
// over the grid's q heads [0, 2), k heads [2, 3) and v heads [3, 4).
// CHECK-LABEL: func.func private @k_qkv_rope_0(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x16xf32>, %[[W:[^:]*]]: memref<32x16xf32>, %[[OUT:[^:]*]]: memref<4x16xf32>, %[[KV:[^:]*]]: memref<2x128x8xf32>, %[[N:[^:]*]]: index, %[[POS:[^:]*]]: index, %[[B:[^:]*]]: index, %[[E:[^:]*]]: index)
// CHECK: %[[INV:.*]] = memref.alloca() : memref<4xf32>
// CHECK: scf.for %[[T0:.*]] = %{{.*}} to %[[N]]
// CHECK: math.rsqrt
// CHECK: memref.store %{{.*}}, %[[INV]][%[[T0]]]
// CHECK: %[[COS:.*]] = memref.alloca() : memref<4x4xf32>
// CHECK: %[[SIN:.*]] = memref.alloca() : memref<4x4xf32>
// CHECK: math.cos
// CHECK: math.sin
// CHECK: %[[QE:.*]] = arith.minui %[[E]], %{{.*}} : index
// CHECK: scf.for %{{.*}} = %[[B]] to %[[QE]]
// CHECK: memref.load %[[INV]]
// CHECK: memref.load %[[COS]]
// CHECK: memref.load %[[SIN]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: %[[KB:.*]] = arith.maxui %[[B]], %{{.*}} : index
// CHECK: %[[KE:.*]] = arith.minui %[[E]], %{{.*}} : index
// CHECK: scf.for %{{.*}} = %[[KB]] to %[[KE]]
// CHECK: memref.store %{{.*}}, %[[KV]][%c0{{.*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[VB:.*]] = arith.maxui %[[B]], %{{.*}} : index
// CHECK: scf.for %{{.*}} = %[[VB]] to %[[E]]
// CHECK: memref.store %{{.*}}, %[[KV]][%c1{{.*}}, %{{.*}}, %{{.*}}]
//
// o_proj + residual: x, W, the residual, out; rows, begin, end.
// CHECK-LABEL: func.func private @k_fused_linear_0(
// CHECK-SAME: %{{[^:]*}}: memref<4x16xf32>, %{{[^:]*}}: memref<16x16xf32>, %[[R:[^:]*]]: memref<4x16xf32>, %[[O:[^:]*]]: memref<4x16xf32>, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: %[[RV:.*]] = memref.load %[[R]][%[[RT:.*]], %[[RJ:.*]]]
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[RV]]
// CHECK: memref.store %[[SUM]], %[[O]][%[[RT]], %[[RJ]]]
//
// gate_up + SwiGLU: 64 weight rows for 32 results; the norm prologue; the
// up row of feature j is row j + 32.
// CHECK-LABEL: func.func private @k_fused_linear_1(
// CHECK-SAME: %{{[^:]*}}: memref<4x16xf32>, %{{[^:]*}}: memref<64x16xf32>, %{{[^:]*}}: memref<4x32xf32>, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: memref.alloca() : memref<4xf32>
// CHECK: math.rsqrt
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addi %{{.*}}, %c32
//
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding" {{.*}} #llm.binding<space = arena, offset = 0, size = 256, write = <n_tokens = 64>>] scalars []
// CHECK-NEXT: llm.dispatch @k_qkv_rope_0 "norm+qkv_rope" grid <c = 4> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = weights, offset = 2048, size = 2048, read = <c = 2048>>, #llm.binding<space = arena, offset = 256, size = 256, write = <n_tokens = 64>>, #llm.binding<space = kv_cache, offset = 0, size = 8192, write = <n_tokens = 64>>] scalars [#llm.scalar<n_tokens = 1>, #llm.scalar<start_pos = 1>]
// CHECK-NEXT: llm.dispatch @k_attention_0 "attention" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 256, {{.*}}, #llm.binding<space = arena, offset = 512, size = 256, write = <n_tokens = 64>>]
// CHECK-NEXT: llm.dispatch @k_fused_linear_0 "linear+add" grid <c = 16> bindings [#llm.binding<space = arena, offset = 512, size = 256, read = <n_tokens = 64>>, #llm.binding<space = weights, offset = 4096, size = 1024, read = <c = 1024>>, #llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = arena, offset = 0, size = 256, write = <n_tokens = 64>>] scalars [#llm.scalar<n_tokens = 1>]
// CHECK-NEXT: llm.dispatch @k_fused_linear_1 "norm+linear+swiglu" grid <c = 32> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = weights, offset = 5120, size = 4096, read = <c = 4096>>, #llm.binding<space = arena, offset = 256, size = 512, write = <n_tokens = 128>>] scalars [#llm.scalar<n_tokens = 1>]
// CHECK-NEXT: llm.dispatch @k_fused_linear_2 "linear+add" grid <c = 16> bindings [#llm.binding<space = arena, offset = 256, size = 512, read = <n_tokens = 128>>, #llm.binding<space = weights, offset = 9216, size = 2048, read = <c = 2048>>, #llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = arena, offset = 0, size = 256, write = <n_tokens = 64>>] scalars [#llm.scalar<n_tokens = 1>]
// CHECK-NEXT: llm.dispatch @k_select_last_row_0 "select_last_row"
// CHECK-NEXT: llm.dispatch @k_fused_linear_3 "lm_head" grid <c = 32> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <logit_rows = 64>>, #llm.binding<space = weights, offset = 11264, size = 2048, read = <c = 2048>>, #llm.binding<space = logits, offset = 0, size = 512, write = <logit_rows = 128>>] scalars [#llm.scalar<logit_rows = 1>]
// CHECK-NEXT: }
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

// Norms that keep their vector (q/k/v copied from Q8_0 blocks, a tied
// lm_head): each runs as an rms_norm dispatch into the fused op's scratch,
// which the fused kernel reads with no prologue. Slots: h 0 (32 features,
// 512 bytes), q 512, qkv_rope's scratch 1024 (so 1536 bytes); attention's
// result reuses 0 (h died at qkv_rope); the final norm's scratch is 512.
// CHECK-LABEL: module attributes
// CHECK-SAME: arena_size = 1536
// CHECK-LABEL: func.func private @k_qkv_rope_0(
// CHECK-NOT: math.rsqrt
// CHECK: func.func private @k_attention_0(
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding"
// CHECK-NEXT: llm.dispatch @k_rms_norm_0 "rms_norm" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 512, read = <n_tokens = 128>>, #llm.binding<space = weights, offset = 1088, size = 128, read = <c = 128>>, #llm.binding<space = arena, offset = 1024, size = 512, write = <n_tokens = 128>>] scalars []
// CHECK-NEXT: llm.dispatch @k_qkv_rope_0 "qkv_rope" grid <c = 8> bindings [#llm.binding<space = arena, offset = 1024, size = 512, read = <n_tokens = 128>>, #llm.binding<space = weights, offset = 1216, size = 2048, read = <c = 2048>>, #llm.binding<space = weights, offset = 3264, size = 128, read = <c = 128>>, #llm.binding<space = arena, offset = 512, size = 512, write = <n_tokens = 128>>, #llm.binding<space = kv_cache,
// CHECK-NEXT: llm.dispatch @k_attention_0 "attention"
// CHECK-NEXT: llm.dispatch @k_select_last_row_0 "select_last_row"
// CHECK-NEXT: llm.dispatch @k_rms_norm_0 "rms_norm" grid <logit_rows = 1> bindings [#llm.binding<space = arena, offset = 0, size = 512, read = <logit_rows = 128>>, #llm.binding<space = weights, offset = 3392, size = 128, read = <c = 128>>, #llm.binding<space = arena, offset = 512, size = 512, write = <logit_rows = 128>>] scalars []
// CHECK-NEXT: llm.dispatch @k_fused_linear_0 "lm_head" grid <c = 32> bindings [#llm.binding<space = arena, offset = 512, size = 512, read = <logit_rows = 128>>, #llm.binding<space = weights, offset = 0, size = 1024, read = <c = 1024>>
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
