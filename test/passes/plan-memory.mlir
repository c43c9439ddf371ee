// RUN: llmc-opt %s -split-input-file --llm-plan-weights --llm-plan-memory=prefill-chunk=4 -verify-diagnostics | FileCheck %s
// RUN: not llmc-opt %s -split-input-file --llm-lower-to-kernels 2>&1 | FileCheck %s --check-prefix=NOPLAN
// RUN: not llmc-opt %s -split-input-file --llm-plan-memory=prefill-chunk=4 2>&1 | FileCheck %s --check-prefix=UNPLACED
// RUN: not llmc-opt %s -split-input-file --llm-plan-weights --llm-plan-memory=prefill-chunk=0 2>&1 | FileCheck %s --check-prefix=CHUNK
// NOPLAN: error: no llm.plan: run --llm-plan-weights and --llm-plan-memory first
// UNPLACED: error: 'llm.weight' op is not placed (run --llm-plan-weights first)
// CHUNK: error: prefill chunk must be positive, got 0
// RUN: llmc-opt %s -split-input-file --llm-plan-weights "--llm-plan-memory=prefill-chunk=4 activations=f16" -verify-diagnostics | FileCheck %s --check-prefix=HALF
// RUN: not llmc-opt %s -split-input-file --llm-plan-weights "--llm-plan-memory=prefill-chunk=4 activations=bf16" 2>&1 | FileCheck %s --check-prefix=ACT
// ACT: error: activations must be f32 or f16, got 'bf16'

// Every activation is [4, 16] f32 = 256 bytes. %h dies at the first add, so
// the second add reuses its slot; the lm_head's result is the logits, with
// no slot. Two slots: a 512-byte arena. The weights end at 2048 + 64; the
// KV cache is 1 layer x K,V x 128 positions x 8 floats = 8192 bytes.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 512, weights_size = 2112, kv_cache_size = 8192>
// CHECK: %[[H:.*]] = llm.embedding {{.*}} {llm.slot = 0 : i64}
// CHECK: %[[A:.*]] = llm.add %[[H]], %[[H]] {llm.slot = 256 : i64}
// CHECK: %[[B:.*]] = llm.add %[[A]], %[[A]] {llm.slot = 0 : i64}
// CHECK: %[[L:.*]] = llm.linear %[[B]], @emb : tensor<?x16xf32> -> tensor<?x32xf32>{{$}}
// CHECK: return %[[L]]
// f16 activations: 4 x 16 x 2 = 128 bytes a slot, the same reuse.
// HALF-LABEL: module attributes
// HALF-SAME: llm.plan = #llm.plan<prefill_chunk = 4, arena_size = 256, weights_size = 2112, kv_cache_size = 8192, activations = f16>
// HALF: %[[H:.*]] = llm.embedding {{.*}} {llm.slot = 0 : i64}
// HALF: %[[A:.*]] = llm.add %[[H]], %[[H]] {llm.slot = 128 : i64}
// HALF: %[[B:.*]] = llm.add %[[A]], %[[A]] {llm.slot = 0 : i64}
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]> role embed
  llm.weight @norm : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [16]> role final_norm
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %a = llm.add %h, %h : tensor<?x16xf32>
    %b = llm.add %a, %a : tensor<?x16xf32>
    %l = llm.linear %b, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

// kv_read takes no arena (attention reads the cache in place). %h (0, 256
// bytes) lives until the attention; %k (256, 128 bytes) dies at the
// kv_write and leaves a 128-byte hole at the top, too small for the
// attention's output: the planner grows that end block, so the output goes
// at 256: a 512-byte arena. Attention takes no scratch (its online softmax
// keeps a tile of scores in the kernel).
// CHECK-LABEL: module attributes
// CHECK-SAME: arena_size = 512
// CHECK: llm.linear {{.*}} {llm.slot = 256 : i64}
// CHECK: llm.kv_read
// CHECK-NOT: llm.slot
// CHECK-SAME: -> tensor<?x8xf32>, tensor<?x8xf32>
// CHECK: llm.attention
// CHECK-NOT: llm.scratch
// CHECK-SAME: llm.slot = 256 : i64
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 1.0e+04, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]> role embed
  llm.weight @kv : tensor<8x16xf32> = #llm.storage<file = "m.safetensors", tensor = "k", offset = 0, dtype = f32, shape = [8, 16]> role attn_k
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %k = llm.linear %h, @kv : tensor<?x16xf32> -> tensor<?x8xf32>
    llm.kv_write %k, %k into %c[0] at %p : tensor<?x8xf32>, tensor<?x8xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %t, %c0 : tensor<?xi32>
    %len = arith.addi %p, %n : index
    %ks, %vs = llm.kv_read %c[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32> -> tensor<?x8xf32>, tensor<?x8xf32>
    %o = llm.attention %h, %ks, %vs at %p {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 8 : i64, scale = 0.35355339 : f64, causal} : tensor<?x16xf32>, tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x16xf32>
    %l = llm.linear %o, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}

// -----

module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]> role embed
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    // expected-error @+1 {{has 8 rows, more than the prefill chunk 4}}
    %x = tensor.cast %h : tensor<?x16xf32> to tensor<8x16xf32>
    %a = llm.add %x, %x : tensor<8x16xf32>
    %y = tensor.cast %a : tensor<8x16xf32> to tensor<?x16xf32>
    %l = llm.linear %y, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
