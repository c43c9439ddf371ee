// RUN: not llmc-opt %s --llm-quantize=preset=q3 2>&1 | FileCheck %s --check-prefix=PRESET
// RUN: not llmc-opt %s "--llm-quantize=preset=q8 overrides=attn=f16" 2>&1 | FileCheck %s --check-prefix=CLASS
// RUN: not llmc-opt %s "--llm-quantize=preset=q8 overrides=mlp=q5" 2>&1 | FileCheck %s --check-prefix=SCHEME
// RUN: not llmc-opt %s "--llm-quantize=preset=q4_g128 strict=true" 2>&1 | FileCheck %s --check-prefix=GROUP
// The preset and overrides are read by resolveQuantPolicy, which `llmc
// build` also calls before importing: an empty scheme, and a bad scheme
// given for a class the preset would leave in f32, are refused the same way.
// RUN: not llmc-opt %s "--llm-quantize=preset=q8 overrides=mlp=" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not llmc-opt %s "--llm-quantize=preset=f32 overrides=lm_head=q8_chx" 2>&1 | FileCheck %s --check-prefix=SCHEME2

// PRESET: error: unknown quantization preset 'q3'; expected f32, f16, q8, q4_g32, q4_g128, q4_g32_asym, q4_g128_asym, q4f16_g32 or q4f16_g128
// CLASS: error: bad quantization override 'attn=f16': expected CLASS=SCHEME with CLASS one of embed, lm_head, attn_qkv, attn_o, mlp
// SCHEME: error: unknown quantization scheme 'q5'
// EMPTY: error: bad quantization override 'mlp=': expected CLASS=SCHEME
// SCHEME2: error: unknown quantization scheme 'q8_chx'; expected f32, f16, q8, q8_ch, q6, q4_g32, q4_g128, q4_g32_asym or q4_g128_asym
// A row of 64 cannot hold groups of 128: with strict=true (llmc build
// --strict-quant) an error, not a change (quantize-fallback.mlir: without).
// GROUP: error: cannot quantize @model.layers.0.mlp.up_proj.weight 'tensor<128x64xf32>' with mlp scheme #llm.quant<scheme = int_group, bits = 4, group_size = 128, zero_point = symmetric, scale_dtype = f16>: the group size does not divide the row length
module attributes {llm.config = #llm.config<hidden_size = 64, intermediate_size = 128, num_layers = 1, num_heads = 1, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<64x64xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 64]> role embed
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<128x64xf32> = #llm.storage<file = "m.safetensors", tensor = "u", offset = 0, dtype = f32, shape = [128, 64]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x128xf32> = #llm.storage<file = "m.safetensors", tensor = "d", offset = 0, dtype = f32, shape = [64, 128]> role mlp_down
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x64xf32>
    %u = llm.linear %h, @model.layers.0.mlp.up_proj.weight : tensor<?x64xf32> -> tensor<?x128xf32>
    %d = llm.linear %u, @model.layers.0.mlp.down_proj.weight : tensor<?x128xf32> -> tensor<?x64xf32>
    %l = llm.linear %d, @model.embed_tokens.weight : tensor<?x64xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}
