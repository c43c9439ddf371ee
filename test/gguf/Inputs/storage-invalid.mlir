// Verifier errors of #llm.storage's GGUF parts (run by ../storage.mlir).

// expected-error @+1 {{storage dtype q4_0 needs rows that are whole blocks of 32 elements}}
llm.weight @w : tensor<64x48xf32> = #llm.storage<file = "m.gguf", tensor = "w", offset = 0, dtype = q4_0, shape = [64, 48]>

// -----

// expected-error @+1 {{rope_permute_heads = 3 needs a matrix whose rows split into that many heads of an even size}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.gguf", tensor = "w", offset = 0, dtype = f32, shape = [64, 64], rope_permute_heads = 3>

// -----

// expected-error @+1 {{rope_permute_heads must be >= 0, got -1}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.gguf", tensor = "w", offset = 0, dtype = f32, shape = [64, 64], rope_permute_heads = -1>

// -----

// expected-error @+1 {{source storage must be f32, f16 or bf16, got u4 (or a ggml block format: q8_0, q4_0, ..., q6_k)}}
llm.weight @w : tensor<64x64xf32> = #llm.storage<file = "m.gguf", tensor = "w", offset = 0, dtype = u4, shape = [64, 64]>

// -----

// A K-quant row is whole super-blocks of 256.
// expected-error @+1 {{storage dtype q4_k needs rows that are whole blocks of 256 elements}}
llm.weight @w : tensor<4x128xf32> = #llm.storage<file = "m.gguf", tensor = "w", offset = 0, dtype = q4_k, shape = [4, 128]>
