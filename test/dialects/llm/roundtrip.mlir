// RUN: llmc-opt %s | FileCheck %s
// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt --mlir-print-op-generic %s | llmc-opt | FileCheck %s

// CHECK: module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, rope_scaling = <type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64>, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2, 3]>}
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 4, num_kv_heads = 2, head_dim = 16, vocab_size = 256, max_context = 256, rms_norm_eps = 1.0e-05, rope_theta = 500000.0, rope_scaling = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64>, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2, 3]>} {
  // CHECK: llm.weight @embed : tensor<256x64xf32> = #llm.storage<file = "model.safetensors", tensor = "model.embed_tokens.weight", offset = 128, dtype = bf16, shape = [256, 64]>
  llm.weight @embed : tensor<256x64xf32> = #llm.storage<file = "model.safetensors", tensor = "model.embed_tokens.weight", offset = 128, dtype = bf16, shape = [256, 64]>
  // CHECK: llm.weight @norm : tensor<64xf32> = #llm.storage<file = "model.safetensors", tensor = "model.norm.weight", offset = 32896, dtype = f32, shape = [64]>
  llm.weight @norm : tensor<64xf32> = #llm.storage<file = "model.safetensors", tensor = "model.norm.weight", offset = 32896, dtype = f32, shape = [64]>
  // CHECK: llm.weight @q : tensor<64x64xf32> = #llm.storage<{{.*}}> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
  llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "a.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
  // Packed in panels of 16 rows for the CPU's integer dot products.
  // CHECK: llm.weight @qp : tensor<64x64xf32> = #llm.storage<{{.*}}> quant #llm.quant<{{.*}}> packed 16 at 4096
  llm.weight @qp : tensor<64x64xf32> = #llm.storage<file = "a.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16> packed 16 at 4096
  // A weight placed in the artifact's weights segment by the lowering.
  // CHECK: llm.weight @k : tensor<32x64xf32> = #llm.storage<{{.*}}> at 8192
  llm.weight @k : tensor<32x64xf32> = #llm.storage<file = "a.safetensors", tensor = "k", offset = 0, dtype = f32, shape = [32, 64]> at 8192
  llm.weight @v : tensor<32x64xf32> = #llm.storage<file = "a.safetensors", tensor = "v", offset = 0, dtype = f32, shape = [32, 64]>
  llm.weight @gate : tensor<128x64xf32> = #llm.storage<file = "a.safetensors", tensor = "g", offset = 0, dtype = f32, shape = [128, 64]>

  // CHECK-LABEL: func.func @forward
  // CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: index, %[[KV:.*]]: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>)
  func.func @forward(%tokens: tensor<?xi32>, %pos: index, %kv: !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>) -> tensor<?x256xf32> {
    // CHECK: %[[H:.*]] = llm.embedding %[[TOK]], @embed : tensor<?xi32> -> tensor<?x64xf32>
    %h = llm.embedding %tokens, @embed : tensor<?xi32> -> tensor<?x64xf32>
    // CHECK: %[[N:.*]] = llm.rms_norm %[[H]], @norm eps = 1.000000e-05 : tensor<?x64xf32>
    %n = llm.rms_norm %h, @norm eps = 1.0e-05 : tensor<?x64xf32>
    // CHECK: %[[Q:.*]] = llm.quantized_linear %[[N]], @q : tensor<?x64xf32> -> tensor<?x64xf32>
    %q = llm.quantized_linear %n, @q : tensor<?x64xf32> -> tensor<?x64xf32>
    %k = llm.linear %n, @k : tensor<?x64xf32> -> tensor<?x32xf32>
    // CHECK: %[[V:.*]] = llm.linear %[[N]], @v
    %v = llm.linear %n, @v : tensor<?x64xf32> -> tensor<?x32xf32>
    // CHECK: %[[QR:.*]] = llm.rope %[[Q]] at %[[POS]] {head_dim = 16 : i64, num_heads = 4 : i64, scaling = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64>, theta = 5.000000e+05 : f64} : tensor<?x64xf32>
    %qr = llm.rope %q at %pos {num_heads = 4 : i64, head_dim = 16 : i64, theta = 500000.0 : f64, scaling = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64>} : tensor<?x64xf32>
    // CHECK: %[[KR:.*]] = llm.rope %{{.*}} at %[[POS]] {head_dim = 16 : i64, num_heads = 2 : i64, theta = 5.000000e+05 : f64} : tensor<?x32xf32>
    %kr = llm.rope %k at %pos {num_heads = 2 : i64, head_dim = 16 : i64, theta = 500000.0 : f64} : tensor<?x32xf32>
    // CHECK: llm.kv_write %[[KR]], %[[V]] into %[[KV]][0] at %[[POS]] : tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache<
    llm.kv_write %kr, %v into %kv[0] at %pos : tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>
    %c0 = arith.constant 0 : index
    %len = arith.addi %pos, %c0 : index
    // CHECK: %[[KS:.*]], %[[VS:.*]] = llm.kv_read %[[KV]][0] upto %[[LEN:.*]] : !llm.kv_cache<{{.*}}> -> tensor<?x32xf32>, tensor<?x32xf32>
    %ks, %vs = llm.kv_read %kv[0] upto %len : !llm.kv_cache<num_layers = 1, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32> -> tensor<?x32xf32>, tensor<?x32xf32>
    // CHECK: %[[O:.*]] = llm.attention %[[QR]], %[[KS]], %[[VS]] at %[[POS]] {causal, head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?x64xf32>
    %o = llm.attention %qr, %ks, %vs at %pos {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f64, causal} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?x64xf32>
    // CHECK: %[[R:.*]] = llm.add %[[H]], %[[O]] : tensor<?x64xf32>
    %r = llm.add %h, %o : tensor<?x64xf32>
    // CHECK: %[[G:.*]] = llm.linear %[[R]], @gate
    %g = llm.linear %r, @gate : tensor<?x64xf32> -> tensor<?x128xf32>
    // CHECK: %[[S:.*]] = llm.silu %[[G]] : tensor<?x128xf32>
    %s = llm.silu %g : tensor<?x128xf32>
    // CHECK: %[[SW:.*]] = llm.swiglu %[[G]], %[[S]] : tensor<?x128xf32>
    %sw = llm.swiglu %g, %s : tensor<?x128xf32>
    // CHECK: llm.mul %[[SW]], %[[S]] : tensor<?x128xf32>
    %m = llm.mul %sw, %s : tensor<?x128xf32>
    // CHECK: %[[L:.*]] = llm.linear %[[R]], @embed : tensor<?x64xf32> -> tensor<?x256xf32>
    %logits = llm.linear %r, @embed : tensor<?x64xf32> -> tensor<?x256xf32>
    // CHECK: return %[[L]]
    return %logits : tensor<?x256xf32>
  }
}
