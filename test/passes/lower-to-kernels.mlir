// RUN: llmc-opt %s -split-input-file --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s

// Smallest model: embedding -> norm -> tied lm_head. With a chunk of 4 rows
// and 16 features every activation takes 4*16*4 = 256 bytes; the embedding
// output dies at the norm, so the arena holds two slots: 512 bytes. Every
// kernel takes its bindings, its scalars, then [begin, end) of its parallel
// dimension: tokens for the embedding and the norm, output features (32)
// for the lm_head, which projects `logit_rows` rows after select_last_row
// moved row n - logit_rows to row 0.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 512, weights_size = 2112, kv_cache_size = 8192>
// The weight ops stay as the weight table, each placed (`at`) 64-byte
// aligned in declaration order: emb is 32*16*4 = 2048 bytes, so norm is at
// 2048 and the segment 2048 + 16*4 = 2112 bytes.
// CHECK: llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = bf16, shape = [32, 16]> at 0
// CHECK: llm.weight @norm : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 1124, dtype = f32, shape = [16]> at 2048
// CHECK-NOT: func.func @forward
// CHECK-LABEL: func.func private @k_embedding_0(
// CHECK-SAME: %{{.*}}: memref<4xi32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<4x16xf32>, %[[EB:.*]]: index, %[[EE:.*]]: index)
// CHECK: scf.for %[[T:.*]] = %[[EB]] to %[[EE]]
// CHECK: memref.load %{{.*}}[%[[T]]]
// CHECK: arith.index_cast
// CHECK-LABEL: func.func private @k_rms_norm_0(
// CHECK-SAME: %{{.*}}: memref<4x16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<4x16xf32>, %[[NB:.*]]: index, %[[NE:.*]]: index)
// CHECK: scf.for %{{.*}} = %[[NB]] to %[[NE]]
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK: math.rsqrt
// CHECK-LABEL: func.func private @k_select_last_row_0(
// CHECK-SAME: %[[SX:.*]]: memref<4x16xf32>, %[[SRC:.*]]: index, %{{.*}}: index, %{{.*}}: index)
// CHECK: memref.load %[[SX]][%[[SRC]], %{{.*}}]
// CHECK-LABEL: func.func private @k_linear_0(
// CHECK-SAME: %{{.*}}: memref<4x16xf32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<4x32xf32>, %[[ROWS:.*]]: index, %[[LB:.*]]: index, %[[LE:.*]]: index)
// CHECK: scf.for %{{.*}} = %[[LB]] to %[[LE]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ROWS]]
// CHECK: vector.fma
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding" grid <n_tokens = 1> bindings [#llm.binding<space = tokens, offset = 0, size = 16, read = <n_tokens = 4>>, #llm.binding<space = weights, offset = 0, size = 2048, read = <n_tokens = 64>>, #llm.binding<space = arena, offset = 0, size = 256, write = <n_tokens = 64>>] scalars []
// CHECK-NEXT: llm.dispatch @k_rms_norm_0 "rms_norm" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = weights, offset = 2048, size = 64, read = <c = 64>>, #llm.binding<space = arena, offset = 256, size = 256, write = <n_tokens = 64>>] scalars []
// CHECK-NEXT: llm.dispatch @k_select_last_row_0 "select_last_row" grid <c = 1> bindings [#llm.binding<space = arena, offset = 256, size = 256, read = <c = 64>, write = <c = 64>>] scalars [#llm.scalar<n_tokens = 1, logit_rows = -1>]
// CHECK-NEXT: llm.dispatch @k_linear_0 "lm_head" grid <c = 32> bindings [#llm.binding<space = arena, offset = 256, size = 256, read = <logit_rows = 64>>, #llm.binding<space = weights, offset = 0, size = 2048, read = <c = 2048>>, #llm.binding<space = logits, offset = 0, size = 512, write = <logit_rows = 128>>] scalars [#llm.scalar<logit_rows = 1>]
// CHECK-NEXT: }
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = bf16, shape = [32, 16]>
  llm.weight @norm : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 1124, dtype = f32, shape = [16]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %x = llm.rms_norm %h, @norm eps = 1.0e-05 : tensor<?x16xf32>
    %l = llm.linear %x, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// Attention block (slots by hand: h 0, q 256, k 512, v 640, k roped 768,
// so the arena reaches 896; k, v and k roped die at the kv_write, so
// attention writes 512; kv_read takes no arena): rope tables become a
// constant global; kv_write and attention bind their layer of the KV cache
// ([K|V, max_context, kv_heads * head_dim]); kv_read folds into the
// attention dispatch, whose length scalar is start_pos + n_tokens. KV heads
// are attention's parallel dimension: each walks the cache once, in tiles
// of 32 positions (kv_tile's default) with an online softmax, for all the
// query heads of its group; the running max, sum and output of each query
// head and one tile of scores are buffers of the kernel's own, not arena.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 896, weights_size = 2560, kv_cache_size = 8192>
// CHECK: memref.global "private" constant @rope_inv_freq_0 : memref<4xf32> = dense<[1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03]>
// CHECK-LABEL: func.func private @k_rope_0(
// CHECK-SAME: %{{.*}}: memref<4x16xf32>, %{{.*}}: memref<4x16xf32>, %[[START:.*]]: index, %{{.*}}: index, %{{.*}}: index)
// CHECK: memref.get_global @rope_inv_freq_0
// CHECK: arith.addi %[[START]]
// CHECK: math.cos
// CHECK: math.sin
// CHECK-LABEL: func.func private @k_kv_write_0(%{{.*}}: memref<4x8xf32>, %{{.*}}: memref<4x8xf32>, %{{.*}}: memref<2x128x8xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index)
// CHECK-LABEL: func.func private @k_attention_0(
// CHECK-SAME: %[[Q:[^:]*]]: memref<4x16xf32>, %[[KV:[^:]*]]: memref<2x128x8xf32>, %[[O:[^:]*]]: memref<4x16xf32>, %[[N:[^:]*]]: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %[[GB:[^:]*]]: index, %[[GE:[^:]*]]: index)
// CHECK: %[[M:.*]] = memref.alloca() : memref<2xf32>
// CHECK: %[[L:.*]] = memref.alloca() : memref<2xf32>
// CHECK: %[[ACC:.*]] = memref.alloca() : memref<2x8xf32>
// CHECK: %[[SC:.*]] = memref.alloca() : memref<32xf32>
// One unit of the grid per (KV head, token): unit = g * n_tokens + t, no
// loop over the tokens inside.
// CHECK: scf.for %[[U:.*]] = %[[GB]] to %[[GE]]
// CHECK: %[[T:.*]] = arith.remui %[[U]], %[[N]] : index
// CHECK: arith.divui %[[U]], %[[N]] : index
// CHECK-NOT: to %[[N]] step
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %[[LIM:.*]] step %c32
// CHECK: arith.minui %{{.*}}, %[[LIM]]
// CHECK: vector.load %[[KV]][%c0
// CHECK: memref.store %{{.*}}, %[[SC]]
// CHECK: math.exp
// CHECK: vector.load %[[KV]][%c1
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[ACC]]
// CHECK: vector.store %{{.*}}, %[[O]][%[[T]], %{{.*}}]
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding"
// CHECK-NEXT: llm.dispatch @k_rope_0 "rope" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <n_tokens = 64>>, #llm.binding<space = arena, offset = 256, size = 256, write = <n_tokens = 64>>] scalars [#llm.scalar<start_pos = 1>]
// CHECK-NEXT: llm.dispatch @k_linear_0 "linear" grid <c = 8>
// CHECK-NEXT: llm.dispatch @k_linear_0 "linear" grid <c = 8>
// CHECK-NEXT: llm.dispatch @k_rope_1 "rope"
// CHECK-NEXT: llm.dispatch @k_kv_write_0 "kv_write" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 768, size = 128, read = <n_tokens = 32>>, #llm.binding<space = arena, offset = 640, size = 128, read = <n_tokens = 32>>, #llm.binding<space = kv_cache, offset = 0, size = 8192, write = <n_tokens = 64>>] scalars [#llm.scalar<start_pos = 1>]
// CHECK-NEXT: llm.dispatch @k_attention_0 "attention" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 256, size = 256, read = <n_tokens = 64>>, #llm.binding<space = kv_cache, offset = 0, size = 8192, read = <n_tokens = 64, start_pos = 64>>, #llm.binding<space = arena, offset = 512, size = 256, write = <n_tokens = 64>>] scalars [#llm.scalar<n_tokens = 1>, #llm.scalar<start_pos = 1>, #llm.scalar<n_tokens = 1, start_pos = 1>]
// CHECK-NEXT: llm.dispatch @k_add_0 "add"
// CHECK-NEXT: llm.dispatch @k_select_last_row_0 "select_last_row"
// CHECK-NEXT: llm.dispatch @k_linear_1 "lm_head"
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 1.0e+04, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = f32, shape = [32, 16]>
  llm.weight @kv : tensor<8x16xf32> = #llm.storage<file = "m.safetensors", tensor = "k", offset = 2148, dtype = f32, shape = [8, 16]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %q = llm.rope %h at %p {num_heads = 2 : i64, head_dim = 8 : i64, theta = 1.0e4 : f64} : tensor<?x16xf32>
    %k = llm.linear %h, @kv : tensor<?x16xf32> -> tensor<?x8xf32>
    %v = llm.linear %h, @kv : tensor<?x16xf32> -> tensor<?x8xf32>
    %kr = llm.rope %k at %p {num_heads = 1 : i64, head_dim = 8 : i64, theta = 1.0e4 : f64} : tensor<?x8xf32>
    llm.kv_write %kr, %v into %c[0] at %p : tensor<?x8xf32>, tensor<?x8xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32> -> tensor<?x8xf32>, tensor<?x8xf32>
    %o = llm.attention %q, %ks, %vs at %p {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 8 : i64, scale = 0.35355339 : f64, causal} : tensor<?x16xf32>, tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x16xf32>
    %r = llm.add %h, %o : tensor<?x16xf32>
    %l = llm.linear %r, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// YaRN rope (theta 1e4, head_dim 8, factor 4, original context 64): the
// correction range is [floor(-0.50), ceil(1.01)] = [0, 2], so frequency 0
// (1.0) is kept, 1 is half 0.1 and half 0.1/4 = 0.0625, and 2, 3 are divided
// by 4; cos and sin are scaled by the attention factor.
// CHECK-LABEL: module attributes
// CHECK: memref.global "private" constant @rope_inv_freq_0 : memref<4xf32> = dense<[1.000000e+00, 6.250000e-02, 2.500000e-03, 2.500000e-04]>
// CHECK-LABEL: func.func private @k_rope_0(
// CHECK: %[[ANGLE:.*]] = arith.mulf
// CHECK: %[[COS:.*]] = math.cos %[[ANGLE]] : f32
// CHECK: %[[SIN:.*]] = math.sin %[[ANGLE]] : f32
// CHECK: %[[M:.*]] = arith.constant 1.250000e+00 : f32
// CHECK: %[[C:.*]] = arith.mulf %[[COS]], %[[M]] : f32
// CHECK: %[[S:.*]] = arith.mulf %[[SIN]], %[[M]] : f32
// CHECK: %[[X0:.*]] = memref.load
// CHECK: %[[X1:.*]] = memref.load
// CHECK: arith.mulf %[[X0]], %[[C]] : f32
// CHECK: arith.mulf %[[X1]], %[[S]] : f32
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 1.0e+04, rope_scaling = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64, attention_factor = 1.25>, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 100, dtype = f32, shape = [32, 16]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %r = llm.rope %h at %p {num_heads = 2 : i64, head_dim = 8 : i64, theta = 10000.0 : f64, scaling = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64, attention_factor = 1.25>} : tensor<?x16xf32>
    %l = llm.linear %r, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// A quantized weight is placed by its layout (dialects/llm/QuantLayout.h):
// q8 with groups of 16 and f16 scales over [32, 16] is 512 bytes of codes,
// then at 512 the 32 x 1 scales (64 bytes): 576 bytes, a multiple of 64, so
// the next weight starts at 576 and the segment is 576 + 2048 = 2624 bytes.
// The kernel binds codes and scales separately. The only activation is the
// embedding's (4 x 16 x 4 = 256 bytes of arena): the lm_head writes logits.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 256, weights_size = 2624, kv_cache_size = 8192>
// CHECK: llm.weight @lm : tensor<32x16xf32> = #llm.storage<{{.*}}> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f16> at 0
// CHECK: llm.weight @emb : tensor<32x16xf32> = #llm.storage<{{.*}}> at 576
// CHECK-LABEL: llm.schedule
// CHECK: llm.dispatch @k_qlinear_0 "lm_head" grid <c = 32> bindings [#llm.binding<space = arena, offset = 0, size = 256, read = <logit_rows = 64>>, #llm.binding<space = weights, offset = 0, size = 512, read = <c = 512>>, #llm.binding<space = weights, offset = 512, size = 64, read = <c = 64>>, #llm.binding<space = logits, offset = 0, size = 512, write = <logit_rows = 128>>] scalars [#llm.scalar<logit_rows = 1>]
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 1.0e+04, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @lm : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "lm", offset = 0, dtype = f32, shape = [32, 16]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f16>
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 2048, dtype = f32, shape = [32, 16]>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %l = llm.quantized_linear %h, @lm : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
