// RUN: llmc-opt %s --llm-pack-weights --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s
// RUN: llmc-opt %s --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s --check-prefix=UNPACKED

// ggml's K-quants kept from a GGUF file (what the importer writes for
// --quantization keep) and packed in panels: their scales (and Q4_K's mins)
// are stored two-level, int8 sub-scales under an f32 per 256 columns, and
// the microkernels are told so by their scale_kind, the groups per
// multiplier (QuantLayout.h): 16 for Q6_K's groups of 16, 8 for Q4_K's
// groups of 32. Per row of 256 columns: Q6_K 16 sub-scales + 4 bytes = 20,
// Q4_K 8 + 4 = 12 (each for scales and for mins). Q6_K's codes, declared
// int8 by the importer (the layout that holds them unpacked), are packed
// as int6 (WeightOp::getLayout): 6 bits a code.
//
// The table (Q6_K, int6 groups of 16): 48 stored rows of 256 codes in 192
// bytes; the row kernel is told 6 bits.
// CHECK-LABEL: func.func private @k_embedding_0(
// CHECK-SAME: %{{[^:]*}}: memref<4xi32>, %[[EW:[^:]*]]: memref<48x192xi8>, %[[ES:[^:]*]]: memref<48x20xi8>, %{{[^:]*}}: memref<4x256xf32>
// CHECK-DAG: %[[EWP:.*]] = memref.extract_aligned_pointer_as_index %[[EW]]
// CHECK-DAG: %[[ESP:.*]] = memref.extract_aligned_pointer_as_index %[[ES]]
// CHECK: call @llmc_uk_panel_row(%[[EWP]], %[[ESP]], %c0{{.*}}, %c16{{.*}}, %c256{{.*}}, %c6{{.*}}, %c16{{.*}}, %{{.*}}, %{{.*}})
//
// The lm_head (Q4_K, asymmetric int4 groups of 32): 48 stored rows of 128
// bytes, scales and mins of 12 bytes a row, scale_kind 8.
// CHECK-LABEL: func.func private @k_panel_linear_0(
// CHECK-SAME: %{{[^:]*}}: memref<1536xi8>, %[[W:[^:]*]]: memref<48x128xi8>, %[[S:[^:]*]]: memref<48x12xi8>, %[[M:[^:]*]]: memref<48x12xi8>
// CHECK-DAG: %[[SP:.*]] = memref.extract_aligned_pointer_as_index %[[S]]
// CHECK-DAG: %[[MP:.*]] = memref.extract_aligned_pointer_as_index %[[M]]
// CHECK: call @llmc_uk_panel_dot(%{{.*}}, %c384{{.*}}, %{{.*}}, %c256{{.*}}, %c4{{.*}}, %{{.*}}, %[[SP]], %[[MP]], %c8{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}}, %c16{{.*}})

// Unpacked (a GPU target's kernels, or a CPU one without integer dots) the
// same weights keep one f32 scale (and min) per group.
// UNPACKED-LABEL: func.func private @k_embedding_0(
// UNPACKED-SAME: memref<40x256xi8>, %{{[^:]*}}: memref<40x16xf32>
// UNPACKED-LABEL: func.func private @k_qlinear_0(
// UNPACKED-SAME: memref<40x128xi8>, %{{[^:]*}}: memref<40x8xf32>, %{{[^:]*}}: memref<4x40xf32>, %{{[^:]*}}: memref<40x8xf32>
module attributes {llm.config = #llm.config<hidden_size = 256, intermediate_size = 256, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 128, vocab_size = 40, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<40x256xf32> = #llm.storage<file = "m.gguf", tensor = "token_embd.weight", offset = 0, dtype = q6_k, shape = [40, 256]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f32> role embed
  llm.weight @w : tensor<40x256xf32> = #llm.storage<file = "m.gguf", tensor = "output.weight", offset = 8448, dtype = q4_k, shape = [40, 256]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = asymmetric, scale_dtype = f32> role lm_head
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 128, max_context = 128, dtype = f32>) -> tensor<?x40xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x256xf32>
    %o = llm.quantized_linear %h, @w : tensor<?x256xf32> -> tensor<?x40xf32>
    return %o : tensor<?x40xf32>
  }
}
