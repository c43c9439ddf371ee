// RUN: llmc-opt %s --llm-quantize=preset=q8 --llm-fuse --llm-pack-weights --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s
// RUN: llmc-opt %s "--llm-quantize=preset=q4_g32 int8-dot=true" --llm-fuse --llm-pack-weights --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s --check-prefix=I6
// RUN: llmc-opt %s --llm-quantize=preset=q4_g32_asym --llm-fuse --llm-pack-weights --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels | FileCheck %s --check-prefix=AS
// Without panels nothing reads int6.
// RUN: llmc-opt %s "--llm-quantize=preset=q4_g32 int8-dot=true" --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels -verify-diagnostics -o /dev/null

// A fused q8 layer over packed weights (pack-weights.mlir's first module:
// hidden 32, two heads of 16, ffn 64, vocab 40; chunk 4). Each linear is two
// dispatches: its input rows quantized to int8 blocks (norm applied) into the
// op's scratch, then its output panels (the grid, 16 rows each) multiplied
// by them in the target's microkernel, the epilogue generated around it.
//
// A quantized row of 32 elements takes int8RowBytes(32) = 64 bytes (32
// codes, a scale, a block sum, padded), 4 rows 256 bytes; of 64, 128.
// CHECK-LABEL: func.func private @k_embedding_0(
// CHECK-SAME: %{{[^:]*}}: memref<4xi32>, %[[EW:[^:]*]]: memref<48x32xi8>, %[[ES:[^:]*]]: memref<48x1xf16>, %[[EO:[^:]*]]: memref<4x32xf32>
// CHECK-DAG: %[[EWP:.*]] = memref.extract_aligned_pointer_as_index %[[EW]]
// CHECK-DAG: %[[ESP:.*]] = memref.extract_aligned_pointer_as_index %[[ES]]
// CHECK: call @llmc_uk_panel_row(%[[EWP]], %[[ESP]], %c0{{.*}}, %c0{{.*}}, %c32{{.*}}, %c8{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}})
// CHECK: func.func private @llmc_uk_panel_row(index, index, index, index, index, index, index, index, index)
//
// The norm + quantize kernel: x, the scratch rows; begin, end (rows).
// Arguments: x, ldx 32, K 32, begin, end, eps, no gamma, xq, its stride 64.
// CHECK-LABEL: func.func private @k_quantize_rows_0(
// CHECK-SAME: %[[QX:[^:]*]]: memref<4x32xf32>, %[[QQ:[^:]*]]: memref<256xi8>, %[[QB:[^:]*]]: index, %[[QE:[^:]*]]: index)
// CHECK-DAG: %[[QXP:.*]] = memref.extract_aligned_pointer_as_index %[[QX]]
// CHECK-DAG: %[[QQP:.*]] = memref.extract_aligned_pointer_as_index %[[QQ]]
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: call @llmc_uk_quantize_rows(%[[QXP]], %c32{{.*}}, %c32{{.*}}, %[[QB]], %[[QE]], %[[EPS]], %c0{{.*}}, %[[QQP]], %c64{{.*}})
// CHECK: func.func private @llmc_uk_quantize_rows(index, index, index, index, index, f32, index, index, index)
//
// qkv_rope: each head's 16 rows are one panel, computed into a [4, 16] tile
// that the rotation then reads.
// CHECK-LABEL: func.func private @k_qkv_rope_0(
// CHECK-SAME: %{{[^:]*}}: memref<256xi8>, %{{[^:]*}}: memref<64x32xi8>, %{{[^:]*}}: memref<64x1xf16>, %{{[^:]*}}: memref<4x32xf32>, %{{[^:]*}}: memref<2x128x16xf32>
// CHECK: %[[HEAD:.*]] = memref.alloca() : memref<4x16xf32>
// CHECK: %[[HP:.*]] = memref.extract_aligned_pointer_as_index %[[HEAD]]
// CHECK: call @llmc_uk_panel_dot(
// CHECK: memref.load %[[HEAD]]
// CHECK: call @llmc_uk_panel_dot(
// CHECK: call @llmc_uk_panel_dot(
//
// o_proj + residual: panel p of 2; x codes, stride 64, n rows, K 32, 8 bits,
// weight, scales, no mins (symmetric), f16 scales, group 32, p, the tile, 16
// floats a row; then
// out[t, 16p + i] = tile[t, i] + residual, i < min(16, 32 - 16p).
// CHECK-LABEL: func.func private @k_panel_linear_0(
// CHECK-SAME: %[[X:[^:]*]]: memref<256xi8>, %[[W:[^:]*]]: memref<32x32xi8>, %[[S:[^:]*]]: memref<32x1xf16>, %[[R:[^:]*]]: memref<4x32xf32>, %[[O:[^:]*]]: memref<4x32xf32>, %[[N:[^:]*]]: index, %[[B:[^:]*]]: index, %[[E:[^:]*]]: index)
// CHECK: %[[TILE:.*]] = memref.alloca() : memref<4x16xf32>
// CHECK: scf.for %[[P:.*]] = %[[B]] to %[[E]]
// CHECK: %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: %[[WP:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[SP:.*]] = memref.extract_aligned_pointer_as_index %[[S]]
// CHECK: call @llmc_uk_panel_dot(%[[XP]], %c64, %[[N]], %c32, %c8, %[[WP]], %[[SP]], %c0{{.*}}, %c0{{.*}}, %c32{{.*}}, %[[P]], %{{.*}}, %c16)
// CHECK: %[[J0:.*]] = arith.muli %[[P]], %c16
// CHECK: %[[LEFT:.*]] = arith.subi %c32{{.*}}, %[[J0]]
// CHECK: %[[CNT:.*]] = arith.minui %c16{{.*}}, %[[LEFT]]
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[N]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[CNT]]
// CHECK: %[[Y:.*]] = memref.load %[[TILE]][%[[T]], %[[I]]]
// CHECK: %[[J:.*]] = arith.addi %[[J0]], %[[I]]
// CHECK: %[[RV:.*]] = memref.load %[[R]][%[[T]], %[[J]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[Y]], %[[RV]]
// CHECK: memref.store %[[SUM]], %[[O]][%[[T]], %[[J]]]
//
// gate_up + SwiGLU: a [4, 32] tile, gate panel p in columns 0..15, up panel
// p + 4 (64 / 16) in 16..31.
// CHECK-LABEL: func.func private @k_panel_linear_1(
// CHECK: %[[T2:.*]] = memref.alloca() : memref<4x32xf32>
// CHECK: scf.for %[[P2:.*]] = %{{.*}} to %{{.*}}
// CHECK: call @llmc_uk_panel_dot({{.*}}, %[[P2]], %{{.*}}, %c32{{.*}})
// CHECK: %[[UP:.*]] = arith.addi %[[P2]], %c4
// CHECK: call @llmc_uk_panel_dot({{.*}}, %[[UP]], %{{.*}}, %c32{{.*}})
// CHECK: math.exp
//
// The schedule: a quantize dispatch before each linear, into the scratch the
// memory plan gave the op; grids in panels (the lm_head's 40 rows: 3).
// CHECK-LABEL: llm.schedule {
// CHECK-NEXT: llm.dispatch @k_embedding_0 "embedding" grid <n_tokens = 1>
// CHECK-NEXT: llm.dispatch @k_quantize_rows_0 "norm+quantize" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = 0, size = 512, read = <n_tokens = 128>>, #llm.binding<space = arena, offset = [[XQ:[0-9]+]], size = 256, write = <n_tokens = 64>>]
// CHECK-NEXT: llm.dispatch @k_qkv_rope_0 "i8.qkv_rope" grid <c = 4> bindings [#llm.binding<space = arena, offset = [[XQ]], size = 256, read = <n_tokens = 64>>
// CHECK-NEXT: llm.dispatch @k_attention_0 "attention"
// CHECK-NEXT: llm.dispatch @k_quantize_rows_1 "quantize"
// CHECK-NEXT: llm.dispatch @k_panel_linear_0 "i8.linear+add" grid <c = 2>
// CHECK-NEXT: llm.dispatch @k_quantize_rows_0 "norm+quantize"
// CHECK-NEXT: llm.dispatch @k_panel_linear_1 "i8.linear+swiglu" grid <c = 4>
// CHECK-NEXT: llm.dispatch @k_quantize_rows_2 "quantize" grid <n_tokens = 1> bindings [#llm.binding<space = arena, offset = {{[0-9]+}}, size = 1024, read = <n_tokens = 256>>, #llm.binding<space = arena, offset = {{[0-9]+}}, size = 512, write = <n_tokens = 128>>]
// CHECK-NEXT: llm.dispatch @k_panel_linear_2 "i8.linear+add" grid <c = 2>
// CHECK-NEXT: llm.dispatch @k_select_last_row_0
// CHECK-NEXT: llm.dispatch @k_quantize_rows_0 "norm+quantize" grid <logit_rows = 1>
// CHECK-NEXT: llm.dispatch @k_panel_linear_3 "i8.lm_head" grid <c = 3> {{.*}}#llm.binding<space = logits, offset = 0, size = 640, write = <logit_rows = 160>>]
//
// Asymmetric int4 (code * scale + min): the mins are a binding of their own
// and the microkernel gets their address (symmetric weights pass 0).
// AS-LABEL: func.func private @k_panel_linear_0(
// AS-SAME: %{{[^:]*}}: memref<256xi8>, %{{[^:]*}}: memref<32x16xi8>, %{{[^:]*}}: memref<32x1xf16>, %[[M:[^:]*]]: memref<32x1xf16>
// AS: %[[MP:.*]] = memref.extract_aligned_pointer_as_index %[[M]]
// AS: call @llmc_uk_panel_dot(%{{.*}}, %c64, %{{.*}}, %c32, %c4, %{{.*}}, %{{.*}}, %[[MP]], %c0{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}}, %c16)
//
// q4_g32 on a target with integer-dot kernels: the vocabulary matrices in
// int6 (48 stored rows of 32 x 6 / 8 = 24 bytes), read by the same
// microkernels with bits = 6; the layers' linears in int4.
// I6-LABEL: func.func private @k_embedding_0(
// I6-SAME: %{{[^:]*}}: memref<4xi32>, %[[EW:[^:]*]]: memref<48x24xi8>, %[[ES:[^:]*]]: memref<48x1xf16>
// I6: call @llmc_uk_panel_row(%{{.*}}, %{{.*}}, %c0{{.*}}, %c0{{.*}}, %c32{{.*}}, %c6{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}})
// I6-LABEL: func.func private @k_panel_linear_0(
// I6-SAME: %{{[^:]*}}: memref<256xi8>, %{{[^:]*}}: memref<32x16xi8>
// I6: call @llmc_uk_panel_dot(%{{.*}}, %c64, %{{.*}}, %c32, %c4, %{{.*}}, %{{.*}}, %c0{{.*}}, %c0{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}}, %c16)
// I6-LABEL: func.func private @k_panel_linear_3(
// I6-SAME: %{{[^:]*}}: memref<256xi8>, %{{[^:]*}}: memref<48x24xi8>, %{{[^:]*}}: memref<48x1xf16>
// I6: call @llmc_uk_panel_dot(%{{.*}}, %c64, %{{.*}}, %c32, %c6, %{{.*}}, %{{.*}}, %c0{{.*}}, %c0{{.*}}, %c32{{.*}}, %{{.*}}, %{{.*}}, %c16)
// expected-error @+2 {{'llm.weight' op @model.embed_tokens.weight is int6 (q6), which only the integer-dot panel kernels read (the CPU back end, for weights that all their ops read in panels): use q8 for it here}}
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
