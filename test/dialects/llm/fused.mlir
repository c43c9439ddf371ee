// RUN: llmc-opt %s | FileCheck %s
// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt --mlir-print-op-generic %s | llmc-opt | FileCheck %s

// What llm-fuse makes: merged and folded weights, llm.qkv_rope and
// llm.fused_linear in each form (norm folded or with gamma, swiglu,
// residual).
// CHECK: llm.weight @qkv : tensor<128x64xf32> = #llm.storage<{{.*}}tensor = "q"{{[^>]*}}> then [#llm.storage<{{.*}}tensor = "k"{{[^>]*}}>, #llm.storage<{{.*}}tensor = "v"{{[^>]*}}>] scaled_by #llm.storage<{{.*}}tensor = "n"{{[^>]*}}> quant #llm.quant<scheme = int_group, bits = 8{{[^>]*}}> role attn_qkv
llm.weight @qkv : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = bf16, shape = [64, 64]> then [#llm.storage<file = "m.safetensors", tensor = "k", offset = 8192, dtype = bf16, shape = [32, 64]>, #llm.storage<file = "m.safetensors", tensor = "v", offset = 12288, dtype = bf16, shape = [32, 64]>] scaled_by #llm.storage<file = "m.safetensors", tensor = "n", offset = 16384, dtype = f32, shape = [64]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16> role attn_qkv
llm.weight @gate_up : tensor<256x64xf32> = #llm.storage<file = "m.safetensors", tensor = "g", offset = 0, dtype = f32, shape = [128, 64]> then [#llm.storage<file = "m.safetensors", tensor = "u", offset = 32768, dtype = f32, shape = [128, 64]>] role mlp_gate_up
llm.weight @down : tensor<64x128xf32> = #llm.storage<file = "m.safetensors", tensor = "d", offset = 0, dtype = f32, shape = [64, 128]> role mlp_down
llm.weight @gamma : tensor<64xf32> = #llm.storage<file = "m.safetensors", tensor = "n2", offset = 0, dtype = f32, shape = [64]> role mlp_norm

// CHECK-LABEL: func.func @layer(
// CHECK-SAME: %[[H:[^:]*]]: tensor<?x64xf32>, %[[A:[^:]*]]: tensor<?x64xf32>, %[[C:[^:]*]]: !llm.kv_cache<{{.*}}>, %[[P:[^:]*]]: index)
func.func @layer(%h: tensor<?x64xf32>, %a: tensor<?x64xf32>, %c: !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>, %p: index) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: %[[Q:.*]] = llm.qkv_rope %[[H]], @qkv norm eps = 1.000000e-05 into %[[C]][1] at %[[P]] {head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, theta = 5.000000e+05 : f64} : tensor<?x64xf32>, !llm.kv_cache<{{.*}}> -> tensor<?x64xf32>
  %q = llm.qkv_rope %h, @qkv norm eps = 1.0e-05 into %c[1] at %p {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, theta = 5.0e+05 : f64} : tensor<?x64xf32>, !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32> -> tensor<?x64xf32>
  // CHECK-NEXT: %[[S:.*]] = llm.fused_linear %[[A]], @gate_up norm eps = 1.000000e-05 gamma @gamma swiglu : (tensor<?x64xf32>) -> tensor<?x128xf32>
  %s = llm.fused_linear %a, @gate_up norm eps = 1.0e-05 gamma @gamma swiglu : (tensor<?x64xf32>) -> tensor<?x128xf32>
  // CHECK-NEXT: %[[D:.*]] = llm.fused_linear %[[S]], @down residual(%[[A]]) : (tensor<?x128xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %d = llm.fused_linear %s, @down residual(%a) : (tensor<?x128xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK-NEXT: return %[[Q]], %[[D]]
  return %q, %d : tensor<?x64xf32>, tensor<?x64xf32>
}
