// #llm.storage for GGUF sources: the ggml block dtypes and the optional
// rope_permute_heads round-trip (and stay elided when 0); the verifier
// checks both.
// RUN: llmc-opt %s -split-input-file | FileCheck %s
// RUN: llmc-opt %s -split-input-file --mlir-print-op-generic | llmc-opt -split-input-file | FileCheck %s
// RUN: llmc-opt %S/Inputs/storage-invalid.mlir -split-input-file -verify-diagnostics

// CHECK: llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_q.weight", offset = 4096, dtype = q8_0, shape = [64, 64], rope_permute_heads = 4>
llm.weight @q : tensor<64x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_q.weight", offset = 4096, dtype = q8_0, shape = [64, 64], rope_permute_heads = 4>
// CHECK: llm.weight @k : tensor<32x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_k.weight", offset = 8448, dtype = q4_0, shape = [32, 64], rope_permute_heads = 2> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
llm.weight @k : tensor<32x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_k.weight", offset = 8448, dtype = q4_0, shape = [32, 64], rope_permute_heads = 2> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// A zero count is the default: printed without it.
// CHECK: llm.weight @v : tensor<32x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_v.weight", offset = 9600, dtype = f16, shape = [32, 64]>{{$}}
llm.weight @v : tensor<32x64xf32> = #llm.storage<file = "m.gguf", tensor = "blk.0.attn_v.weight", offset = 9600, dtype = f16, shape = [32, 64], rope_permute_heads = 0>

// -----

// The K-quants (super-blocks of 256) and the other 32-element formats, with
// the #llm.quant that keeps each exactly (Q4_K: int4 asymmetric groups of
// 32 with f32 scales; Q6_K: int8 groups of 16).
// CHECK: llm.weight @q4k : tensor<8x256xf32> = #llm.storage<file = "m.gguf", tensor = "a", offset = 0, dtype = q4_k, shape = [8, 256]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = asymmetric, scale_dtype = f32>
llm.weight @q4k : tensor<8x256xf32> = #llm.storage<file = "m.gguf", tensor = "a", offset = 0, dtype = q4_k, shape = [8, 256]> quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = asymmetric, scale_dtype = f32>
// CHECK: llm.weight @q6k : tensor<8x512xf32> = #llm.storage<file = "m.gguf", tensor = "b", offset = 1152, dtype = q6_k, shape = [8, 512]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f32>
llm.weight @q6k : tensor<8x512xf32> = #llm.storage<file = "m.gguf", tensor = "b", offset = 1152, dtype = q6_k, shape = [8, 512]> quant #llm.quant<scheme = int_group, bits = 8, group_size = 16, zero_point = symmetric, scale_dtype = f32>
// CHECK: dtype = q2_k
llm.weight @q2k : tensor<1x256xf32> = #llm.storage<file = "m.gguf", tensor = "c", offset = 0, dtype = q2_k, shape = [1, 256]>
// CHECK: dtype = q3_k
llm.weight @q3k : tensor<1x256xf32> = #llm.storage<file = "m.gguf", tensor = "d", offset = 0, dtype = q3_k, shape = [1, 256]>
// CHECK: dtype = q5_k
llm.weight @q5k : tensor<1x256xf32> = #llm.storage<file = "m.gguf", tensor = "e", offset = 0, dtype = q5_k, shape = [1, 256]>
// CHECK: dtype = q4_1
llm.weight @q41 : tensor<1x32xf32> = #llm.storage<file = "m.gguf", tensor = "f", offset = 0, dtype = q4_1, shape = [1, 32]>
// CHECK: dtype = q5_0
llm.weight @q50 : tensor<1x32xf32> = #llm.storage<file = "m.gguf", tensor = "g", offset = 0, dtype = q5_0, shape = [1, 32]>
// CHECK: dtype = q5_1
llm.weight @q51 : tensor<1x32xf32> = #llm.storage<file = "m.gguf", tensor = "h", offset = 0, dtype = q5_1, shape = [1, 32]>
// CHECK: dtype = iq4_nl
llm.weight @iq4 : tensor<1x32xf32> = #llm.storage<file = "m.gguf", tensor = "i", offset = 0, dtype = iq4_nl, shape = [1, 32]>
