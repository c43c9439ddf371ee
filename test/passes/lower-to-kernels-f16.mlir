// RUN: llmc-opt %s --llm-plan-weights "--llm-plan-memory=prefill-chunk=4 activations=f16" --llm-lower-to-kernels | FileCheck %s

// Half-precision activations (a q4f16_* build on a GPU target): the
// attention block of lower-to-kernels.mlir with every arena activation in
// f16. Each [4, 16] activation is 4*16*2 = 128 bytes, half the f32 plan's
// 256, so the arena is 448 bytes where f32 needs 896, and every binding's
// size and traffic halves. Kernels compute in f32: each load of an
// activation is widened (arith.extf), each store rounded (arith.truncf).
// What is not an activation keeps its type: the f32 weights, the f32 KV
// cache (kv_write widens the f16 rows and stores f32), the f32 logits (the
// lm_head reads f16 rows and stores f32 without rounding).
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 448, weights_size = 2560, kv_cache_size = 8192, activations = f16>
// CHECK-LABEL: func.func private @k_embedding_0(
// CHECK-SAME: %{{.*}}: memref<4xi32>, %[[EW:[^:]*]]: memref<32x16xf32>, %[[EO:[^:]*]]: memref<4x16xf16>,
// CHECK: %[[E:.*]] = memref.load %[[EW]]
// CHECK: %[[EH:.*]] = arith.truncf %[[E]] : f32 to f16
// CHECK: memref.store %[[EH]], %[[EO]]
// CHECK-LABEL: func.func private @k_rope_0(
// CHECK-SAME: %[[RX:[^:]*]]: memref<4x16xf16>, %[[RO:[^:]*]]: memref<4x16xf16>,
// CHECK: %[[X0:.*]] = memref.load %[[RX]]
// CHECK: arith.extf %[[X0]] : f16 to f32
// CHECK: %[[Y0:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[Y0]], %[[RO]]
// CHECK-LABEL: func.func private @k_linear_0(
// CHECK-SAME: %[[LX:[^:]*]]: memref<4x16xf16>, %{{[^:]*}}: memref<8x16xf32>, %[[LY:[^:]*]]: memref<4x8xf16>,
// CHECK: %[[XV:.*]] = vector.load %[[LX]]{{.*}} : memref<4x16xf16>, vector<8xf16>
// CHECK: arith.extf %[[XV]] : vector<8xf16> to vector<8xf32>
// CHECK: %[[LH:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[LH]], %[[LY]]
// CHECK-LABEL: func.func private @k_kv_write_0(
// CHECK-SAME: %[[KK:[^:]*]]: memref<4x8xf16>, %{{[^:]*}}: memref<4x8xf16>, %[[KC:[^:]*]]: memref<2x128x8xf32>,
// CHECK: %[[K:.*]] = memref.load %[[KK]]
// CHECK: %[[KF:.*]] = arith.extf %[[K]] : f16 to f32
// CHECK: memref.store %[[KF]], %[[KC]]
// CHECK-LABEL: func.func private @k_attention_0(
// CHECK-SAME: %[[Q:[^:]*]]: memref<4x16xf16>, %{{[^:]*}}: memref<2x128x8xf32>, %[[O:[^:]*]]: memref<4x16xf16>,
// CHECK: %[[QV:.*]] = vector.load %[[Q]]{{.*}} : memref<4x16xf16>, vector<8xf16>
// CHECK: arith.extf %[[QV]] : vector<8xf16> to vector<8xf32>
// CHECK: %[[OH:.*]] = arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %[[OH]], %[[O]]
// CHECK-LABEL: func.func private @k_linear_1(
// CHECK-SAME: %[[HX:[^:]*]]: memref<4x16xf16>, %{{[^:]*}}: memref<32x16xf32>, %[[LOG:[^:]*]]: memref<4x32xf32>,
// CHECK: vector.load %[[HX]]
// CHECK-NOT: arith.truncf
// CHECK: memref.store %{{.*}}, %[[LOG]]
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding" grid <n_tokens = 1> bindings [#llm.binding<space = tokens, offset = 0, size = 16, read = <n_tokens = 4>>, #llm.binding<space = weights, offset = 0, size = 2048, read = <n_tokens = 64>>, #llm.binding<space = arena, offset = 0, size = 128, write = <n_tokens = 32>>] scalars []
// CHECK-NEXT: llm.dispatch @k_rope_0 "rope" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 128, read = <n_tokens = 32>>, #llm.binding<space = arena, offset = 128, size = 128, write = <n_tokens = 32>>]
// CHECK-NEXT: llm.dispatch @k_linear_0 "linear" grid <c = 8> bindings [#llm.binding<space = arena, offset = 0, size = 128, read = <n_tokens = 32>>, #llm.binding<space = weights, offset = 2048, size = 512, read = <c = 512>>, #llm.binding<space = arena, offset = 256, size = 64, write = <n_tokens = 16>>]
// CHECK: llm.dispatch @k_kv_write_0 "kv_write" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 384, size = 64, read = <n_tokens = 16>>, #llm.binding<space = arena, offset = 320, size = 64, read = <n_tokens = 16>>, #llm.binding<space = kv_cache, offset = 0, size = 8192, write = <n_tokens = 64>>]
// CHECK-NEXT: llm.dispatch @k_attention_0 "attention" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 128, size = 128, read = <n_tokens = 32>>, #llm.binding<space = kv_cache, offset = 0, size = 8192, read = <n_tokens = 64, start_pos = 64>>, #llm.binding<space = arena, offset = 256, size = 128, write = <n_tokens = 32>>]
// CHECK: llm.dispatch @k_linear_1 "lm_head" grid <c = 32> bindings [#llm.binding<space = arena, offset = 128, size = 128, read = <logit_rows = 32>>, #llm.binding<space = weights, offset = 0, size = 2048, read = <c = 2048>>, #llm.binding<space = logits, offset = 0, size = 512, write = <logit_rows = 128>>]
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

