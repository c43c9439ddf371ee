// RUN: llmc-opt %s -split-input-file --llm-plan-weights -verify-diagnostics | FileCheck %s

// Each weight takes the bytes of its layout at the next 64-byte boundary, in
// declaration order (sizes by hand from dialects/llm/QuantLayout.h):
//   @e  f32 [32, 16]                     2048 bytes at 0
//   @h  f16 [8, 16]                      256 bytes at 2048
//   @q  int4 g32 asymmetric, f32 scales  codes 64*64/2 = 2048, scales at
//       [64, 64]                         2048 (64*2*4 = 512), mins at 2560
//                                        (512): 3072 bytes at 2304
//   @n  f32 [16]                         64 bytes at 2304 + 3072 = 5376
// CHECK-LABEL: module
// CHECK: llm.weight @e : tensor<32x16xf32> = #llm.storage<{{.*}}> at 0
// CHECK: llm.weight @h : tensor<8x16xf32> = #llm.storage<{{.*}}> quant #llm.quant<scheme = float_cast{{.*}}> at 2048
// CHECK: llm.weight @q : tensor<64x64xf32> = #llm.storage<{{.*}}> quant #llm.quant<scheme = int_group{{.*}}> at 2304
// CHECK: llm.weight @n : tensor<16xf32> = #llm.storage<{{.*}}> at 5376 role final_norm
module {
  llm.weight @e : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]>
  llm.weight @h : tensor<8x16xf32> = #llm.storage<file = "m.safetensors", tensor = "h", offset = 0, dtype = f32, shape = [8, 16]> quant #llm.quant<scheme = float_cast, bits = 16, group_size = 0, zero_point = symmetric, scale_dtype = f16>
  llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [64, 64]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = asymmetric, scale_dtype = f32>
  llm.weight @n : tensor<16xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [16]> role final_norm
}

// -----

module {
  // expected-error @+1 {{cannot lay out #llm.quant<scheme = int_group, bits = 4, group_size = 48, zero_point = symmetric, scale_dtype = f16> for 'tensor<8x96xf32>': int4 groups must be a multiple of 32 elements}}
  llm.weight @q : tensor<8x96xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [8, 96]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 48, zero_point = symmetric, scale_dtype = f16>
}
