// The loop strategy is the target's (targets/Target.h KernelStrategy); the
// pass only applies it: 16 lanes and 2 accumulators give dot products over
// vector<16xf32> with two FMA chains, int4 blocks read 16 bytes at once.
// RUN: llmc-opt %s --llm-plan-weights --llm-plan-memory=prefill-chunk=4 --llm-lower-to-kernels="vector-width=16 accumulators=2" | FileCheck %s
// RUN: not llmc-opt %s --llm-lower-to-kernels="vector-width=7" 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not llmc-opt %s --llm-lower-to-kernels="accumulators=0" 2>&1 | FileCheck %s --check-prefix=ACCS
// WIDTH: error: vector width must be 4, 8 or 16, got 7
// ACCS: error: accumulators must be in [1, 8], got 0

// CHECK-LABEL: func.func private @k_rms_norm_0(
// CHECK: %[[R:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK: vector.load {{.*}} : memref<4x64xf32>, vector<16xf32>
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: arith.addf %[[R]]#0, %[[R]]#1 : vector<16xf32>
// CHECK-LABEL: func.func private @k_qlinear_0(
// CHECK: vector.load {{.*}} : memref<32x32xi8>, vector<16xi8>
// CHECK-NOT: vector<8x
// CHECK: vector.reduction <add>, {{.*}} : vector<16xf32> into f32
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 32, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = false, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 64]>
  llm.weight @norm : tensor<64xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 8192, dtype = f32, shape = [64]>
  llm.weight @lm : tensor<32x64xf32> = #llm.storage<file = "m.safetensors", tensor = "l", offset = 8448, dtype = f32, shape = [32, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 32, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x64xf32>
    %x = llm.rms_norm %h, @norm eps = 1.0e-05 : tensor<?x64xf32>
    %l = llm.quantized_linear %x, @lm : tensor<?x64xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
