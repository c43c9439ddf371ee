// RUN: llmc-opt %s --llm-tile-kv="dtype=q8 tile=16" | FileCheck %s
// RUN: llmc-opt %s --llm-tile-kv="dtype=q8 tile=16" --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s --check-prefix=LOWER
// RUN: llmc-opt %s --llm-tile-kv="splits=3" --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s --check-prefix=SPLIT
// RUN: not llmc-opt %s --llm-tile-kv=dtype=q4 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: unknown KV cache type 'q4'; expected f32, f16 or q8

// The cache becomes int8 (@forward's argument, hence every use), and every
// attention gets its tile.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[C:[^:]*]]: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = i8>)
// CHECK: llm.kv_write %{{.*}}, %{{.*}} into %[[C]][0] {{.*}} dtype = i8>
// CHECK: llm.kv_read %[[C]][0]
// CHECK: llm.attention {{.*}}kv_tile = 16 : i64

// Flash decoding, 3 position ranges: attention's grid is 1 KV head x 3
// ranges, each writing its partial (max, sum, 8 outputs) per row and query
// head to scratch: 3 x 4 rows x 2 heads x 10 floats = 960 bytes. Attention's
// output takes 512 (k and v died at the kv_write); the scratch takes the
// free block at the end, 768, which grows the arena to 768 + 960 = 1728. A
// second dispatch, over the 2 query heads, combines the ranges.
// SPLIT-LABEL: module attributes
// SPLIT-SAME: arena_size = 1728
// SPLIT-LABEL: func.func private @k_attention_0(
// SPLIT-SAME: memref<3x4x2x10xf32>
// SPLIT: arith.divui
// SPLIT: arith.remui
// SPLIT-LABEL: func.func private @k_attention_combine_0(
// SPLIT-SAME: %[[P:[^:]*]]: memref<3x4x2x10xf32>, %[[O:[^:]*]]: memref<4x16xf32>,
// SPLIT: math.exp
// SPLIT: memref.store %{{.*}}, %[[O]]
// SPLIT-LABEL: llm.schedule
// SPLIT: llm.dispatch @k_attention_0 "attention" grid <n_tokens = 3> {{.*}}#llm.binding<space = arena, offset = 768, size = 960, write = <n_tokens = 240>>]
// SPLIT-NEXT: llm.dispatch @k_attention_combine_0 "attention_combine" grid <c = 2> bindings [#llm.binding<space = arena, offset = 768, size = 960, read = <n_tokens = 240>>, #llm.binding<space = arena, offset = 512, size = 256, write = <n_tokens = 64>>] scalars [#llm.scalar<n_tokens = 1>]

// Lowered: a layer of the q8 cache is 2 x 128 x 8 int8 codes (2048 bytes)
// then 2 x 128 x 1 f32 scales (1024 bytes): 3072 bytes. kv_write quantizes
// each head by its absmax; attention binds codes and scales, reads them in
// tiles of 16 and dequantizes a row by its scale.
// LOWER-LABEL: module attributes
// LOWER-SAME: kv_cache_size = 3072
// LOWER-LABEL: func.func private @k_kv_write_0(
// LOWER-SAME: %{{[^:]*}}: memref<4x8xf32>, %{{[^:]*}}: memref<4x8xf32>, %[[CODES:[^:]*]]: memref<2x128x8xi8>, %[[SCALES:[^:]*]]: memref<2x128x1xf32>,
// LOWER: math.absf
// LOWER: memref.store %{{.*}}, %[[SCALES]]
// LOWER: math.roundeven
// LOWER: arith.fptosi %{{.*}} : f32 to i8
// LOWER: memref.store %{{.*}}, %[[CODES]]
// LOWER-LABEL: func.func private @k_attention_0(
// LOWER-SAME: %{{[^:]*}}: memref<4x16xf32>, %[[ACODES:[^:]*]]: memref<2x128x8xi8>, %[[ASCALES:[^:]*]]: memref<2x128x1xf32>, %{{[^:]*}}: memref<4x16xf32>,
// LOWER: memref.alloca() : memref<16xf32>
// LOWER: step %c16
// LOWER: vector.load %[[ACODES]]
// LOWER: arith.sitofp
// LOWER: memref.load %[[ASCALES]]
// LOWER-LABEL: llm.schedule
// LOWER: llm.dispatch @k_kv_write_0 "kv_write" {{.*}} #llm.binding<space = kv_cache, offset = 0, size = 2048, write = <n_tokens = 16>>, #llm.binding<space = kv_cache, offset = 2048, size = 1024, write = <n_tokens = 8>>]
// LOWER-NEXT: llm.dispatch @k_attention_0 "attention" {{.*}} #llm.binding<space = kv_cache, offset = 0, size = 2048, read = <n_tokens = 16, start_pos = 16>>, #llm.binding<space = kv_cache, offset = 2048, size = 1024, read = <n_tokens = 8, start_pos = 8>>,
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
