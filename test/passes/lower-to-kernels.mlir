// RUN: llmc-opt %s -split-input-file --llm-lower-to-kernels=prefill-chunk=4 | FileCheck %s

// Smallest model: embedding -> norm -> tied lm_head. With a chunk of 4 rows
// and 16 features every activation takes 4*16*4 = 256 bytes; the embedding
// output dies at the norm, so the arena holds two slots: 512 bytes.
// CHECK-LABEL: module attributes
// CHECK-SAME: llmc.arena_size = 512 : i64
// CHECK-SAME: llmc.kv_cache_size = 8192 : i64
// CHECK-SAME: llmc.prefill_chunk = 4 : i64
// CHECK-SAME: llmc.schedule = [{kernel = @k_embedding_0, op = "embedding"}, {kernel = @k_rms_norm_0, op = "rms_norm"}, {kernel = @k_linear_0, op = "lm_head"}]
// CHECK-SAME: llmc.weights = [{asymmetric = false, dtype = "f32", file = "m.safetensors", group = 0 : i64, name = "emb", offset = 0 : i64, scale_bytes = 4 : i64, shape = [32, 16], size = 2048 : i64, source_dtype = "bf16", source_offset = 100 : i64, tensor = "e"}, {asymmetric = false, dtype = "f32", file = "m.safetensors", group = 0 : i64, name = "norm", offset = 2048 : i64, scale_bytes = 4 : i64, shape = [16], size = 64 : i64, source_dtype = "f32", source_offset = 1124 : i64, tensor = "n"}]
// CHECK-SAME: llmc.weights_size = 2112 : i64
// CHECK-NOT: llm.weight
// CHECK-LABEL: func.func private @k_embedding_0(%{{.*}}: memref<4xi32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<4x16xf32>, %{{.*}}: index)
// CHECK: scf.for
// CHECK: memref.load
// CHECK: arith.index_cast
// CHECK-LABEL: func.func private @k_rms_norm_0(%{{.*}}: memref<4x16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<4x16xf32>, %{{.*}}: index)
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK: math.rsqrt
// CHECK-LABEL: func.func private @k_select_last_row_0(%{{.*}}: memref<4x16xf32>, %{{.*}}: index)
// CHECK-LABEL: func.func private @k_linear_0(%{{.*}}: memref<4x16xf32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<4x32xf32>, %{{.*}}: index)
// CHECK: vector.fma
// CHECK-LABEL: func.func @llmc_forward
// CHECK-SAME: (%[[W:.*]]: memref<2112xi8>, %[[A:.*]]: memref<512xi8>, %[[KV:.*]]: memref<8192xi8>, %[[TOK:.*]]: memref<4xi32>, %[[N:.*]]: i64, %[[POS:.*]]: i64, %[[LOGITS:.*]]: memref<4x32xf32>, %[[ALL:.*]]: i64)
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : i64 to index
// CHECK: %[[EMB:.*]] = memref.view %[[W]][%{{.*}}][] : memref<2112xi8> to memref<32x16xf32>
// CHECK: %[[H:.*]] = memref.view %[[A]][%[[C0:.*]]][] : memref<512xi8> to memref<4x16xf32>
// CHECK: call @k_embedding_0(%[[TOK]], %[[EMB]], %[[H]], %[[NI]])
// CHECK: %[[C2048:.*]] = arith.constant 2048 : index
// CHECK: %[[NW:.*]] = memref.view %[[W]][%[[C2048]]][] : memref<2112xi8> to memref<16xf32>
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[X:.*]] = memref.view %[[A]][%[[C256]]][] : memref<512xi8> to memref<4x16xf32>
// CHECK: call @k_rms_norm_0(%{{.*}}, %[[NW]], %[[X]], %[[NI]])
// CHECK: %[[ALLB:.*]] = arith.cmpi ne, %[[ALL]], %{{.*}} : i64
// CHECK: %[[ROWS:.*]] = arith.select %[[ALLB]], %[[NI]], %{{.*}} : index
// CHECK: scf.if %[[ALLB]] {
// CHECK: } else {
// CHECK: call @k_select_last_row_0(%{{.*}}, %[[NI]])
// CHECK: call @k_linear_0(%{{.*}}, %{{.*}}, %[[LOGITS]], %[[ROWS]])
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

// Attention block: rope tables become a constant global, the KV cache is
// viewed as [layers, K/V, max_context, kv_heads * head_dim], kv_read folds into
// the attention kernel (its length is pos + n) and the softmax scratch takes
// max_context floats of the arena.
// CHECK-LABEL: module attributes
// CHECK-SAME: llmc.schedule = [{kernel = @k_embedding_0, op = "embedding"}, {kernel = @k_rope_0, op = "rope"}, {kernel = @k_linear_0, op = "linear"}, {kernel = @k_linear_0, op = "linear"}, {kernel = @k_rope_1, op = "rope"}, {kernel = @k_kv_write_0, op = "kv_write"}, {kernel = @k_attention_0, op = "attention"}, {kernel = @k_add_0, op = "add"}, {kernel = @k_linear_1, op = "lm_head"}]
// CHECK: memref.global "private" constant @rope_inv_freq_0 : memref<4xf32> = dense<[1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03]>
// CHECK-LABEL: func.func private @k_rope_0(
// CHECK: memref.get_global @rope_inv_freq_0
// CHECK: math.cos
// CHECK: math.sin
// CHECK-LABEL: func.func private @k_kv_write_0(%{{.*}}: memref<4x8xf32>, %{{.*}}: memref<4x8xf32>, %{{.*}}: memref<1x2x128x8xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index)
// CHECK-LABEL: func.func private @k_attention_0(%{{.*}}: memref<4x16xf32>, %{{.*}}: memref<1x2x128x8xf32>, %{{.*}}: memref<4x16xf32>, %{{.*}}: memref<128xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index)
// CHECK: arith.divui
// CHECK: math.exp
// CHECK-LABEL: func.func @llmc_forward
// CHECK: %[[NI:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: %[[POS:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: %[[KV:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<8192xi8> to memref<1x2x128x8xf32>
// CHECK: call @k_kv_write_0(%{{.*}}, %{{.*}}, %[[KV]], %{{.*}}, %{{.*}}, %[[POS]])
// CHECK: %[[LEN:.*]] = arith.addi %[[POS]], %[[NI]] : index
// CHECK: %[[SCR:.*]] = memref.view {{.*}} to memref<128xf32>
// CHECK: call @k_attention_0(%{{.*}}, %[[KV]], %{{.*}}, %[[SCR]], %{{.*}}, %{{.*}}, %[[POS]], %[[LEN]])
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
