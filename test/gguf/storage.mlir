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
