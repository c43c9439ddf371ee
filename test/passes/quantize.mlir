// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=q4_g32 | FileCheck %s --check-prefix=Q4
// q4f16_g32 stores exactly q4_g32's weights (its f16 is the activations').
// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=q4f16_g32 | FileCheck %s --check-prefix=Q4
// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=q8 | FileCheck %s --check-prefix=Q8
// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=f16 | FileCheck %s --check-prefix=F16
// RUN: llmc-opt %s -split-input-file "--llm-quantize=preset=q4f16_g128 overrides=attn_o=f16,mlp=q4_g32_asym" | FileCheck %s --check-prefix=MIX
// RUN: llmc-opt %s -split-input-file --llm-quantize=preset=f32 | FileCheck %s --check-prefix=F32
// An override on top of f32: only its class changes (resolveQuantPolicy).
// RUN: llmc-opt %s -split-input-file "--llm-quantize=preset=f32 overrides=attn_qkv=q8_ch" | FileCheck %s --check-prefix=CH

// Classes come from uses: embedding table, lm_head (the linear feeding the
// return), attention q/k/v and o, MLP, norms. The tied embedding is both
// embed and lm_head and takes the more precise of the two schemes.
module attributes {llm.config = #llm.config<hidden_size = 128, intermediate_size = 256, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 64, vocab_size = 64, max_context = 64, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @model.embed_tokens.weight : tensor<64x128xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [64, 128]> role embed
  llm.weight @model.layers.0.input_layernorm.weight : tensor<128xf32> = #llm.storage<file = "m.safetensors", tensor = "n", offset = 0, dtype = f32, shape = [128]> role attn_norm
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<128x128xf32> = #llm.storage<file = "m.safetensors", tensor = "q", offset = 0, dtype = f32, shape = [128, 128]> role attn_q
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<128x128xf32> = #llm.storage<file = "m.safetensors", tensor = "o", offset = 0, dtype = f32, shape = [128, 128]> role attn_o
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<256x128xf32> = #llm.storage<file = "m.safetensors", tensor = "u", offset = 0, dtype = f32, shape = [256, 128]> role mlp_up
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<128x256xf32> = #llm.storage<file = "m.safetensors", tensor = "d", offset = 0, dtype = f32, shape = [128, 256]> role mlp_down
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 64, max_context = 64, dtype = f32>) -> tensor<?x64xf32> {
    %h = llm.embedding %t, @model.embed_tokens.weight : tensor<?xi32> -> tensor<?x128xf32>
    %x = llm.rms_norm %h, @model.layers.0.input_layernorm.weight eps = 1.0e-05 : tensor<?x128xf32>
    %q = llm.linear %x, @model.layers.0.self_attn.q_proj.weight : tensor<?x128xf32> -> tensor<?x128xf32>
    %o = llm.linear %q, @model.layers.0.self_attn.o_proj.weight : tensor<?x128xf32> -> tensor<?x128xf32>
    %u = llm.linear %o, @model.layers.0.mlp.up_proj.weight : tensor<?x128xf32> -> tensor<?x256xf32>
    %d = llm.linear %u, @model.layers.0.mlp.down_proj.weight : tensor<?x256xf32> -> tensor<?x128xf32>
    %l = llm.linear %d, @model.embed_tokens.weight : tensor<?x128xf32> -> tensor<?x64xf32>
    return %l : tensor<?x64xf32>
  }
}

// CH: llm.weight @model.embed_tokens.weight : tensor<64x128xf32> = #llm.storage<{{[^>]*}}> role embed{{$}}
// CH: llm.weight @model.layers.0.self_attn.q_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 8, group_size = 0, zero_point = symmetric, scale_dtype = f32> role attn_q
// CH: llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<128x128xf32> = #llm.storage<{{[^>]*}}> role attn_o{{$}}
// CH-LABEL: func.func @forward
// CH: %[[X:.*]] = llm.rms_norm
// CH: %[[Q:.*]] = llm.quantized_linear %[[X]], @model.layers.0.self_attn.q_proj.weight
// CH: %[[O:.*]] = llm.linear %[[Q]], @model.layers.0.self_attn.o_proj.weight
// CH: %[[U:.*]] = llm.linear %[[O]], @model.layers.0.mlp.up_proj.weight
// CH: llm.linear %[[U]], @model.layers.0.mlp.down_proj.weight

// Q4: llm.weight @model.embed_tokens.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// Q4: llm.weight @model.layers.0.input_layernorm.weight : tensor<128xf32> = #llm.storage<{{[^>]*}}> role attn_norm{{$}}
// Q4: llm.weight @model.layers.0.self_attn.q_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 4, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// Q4: llm.weight @model.layers.0.self_attn.o_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 4, group_size = 32
// Q4-LABEL: func.func @forward
// Q4: %[[H:.*]] = llm.embedding %{{.*}}, @model.embed_tokens.weight
// Q4: %[[X:.*]] = llm.rms_norm %[[H]]
// Q4: %[[Q:.*]] = llm.quantized_linear %[[X]], @model.layers.0.self_attn.q_proj.weight : tensor<?x128xf32> -> tensor<?x128xf32>
// Q4: %[[O:.*]] = llm.quantized_linear %[[Q]], @model.layers.0.self_attn.o_proj.weight
// Q4: %[[U:.*]] = llm.quantized_linear %[[O]], @model.layers.0.mlp.up_proj.weight
// Q4: %[[D:.*]] = llm.quantized_linear %[[U]], @model.layers.0.mlp.down_proj.weight
// Q4: %[[L:.*]] = llm.quantized_linear %[[D]], @model.embed_tokens.weight : tensor<?x128xf32> -> tensor<?x64xf32>
// Q4: return %[[L]]

// Q8: llm.weight @model.layers.0.self_attn.q_proj.weight {{.*}} quant #llm.quant<scheme = int_group, bits = 8, group_size = 32, zero_point = symmetric, scale_dtype = f16>
// Q8-NOT: llm.linear

// F16: llm.weight @model.embed_tokens.weight {{.*}} quant #llm.quant<scheme = float_cast, bits = 16
// F16: llm.weight @model.layers.0.input_layernorm.weight : tensor<128xf32> = #llm.storage<{{[^>]*}}> role attn_norm{{$}}
// F16-LABEL: func.func @forward
// F16: llm.linear {{.*}}q_proj
// F16-NOT: quantized_linear

// q4f16_g128: linears int4 g128, o_proj overridden to f16 (stays llm.linear),
// MLP overridden to asymmetric int4 g32, embed / lm_head int8.
// MIX: llm.weight @model.embed_tokens.weight {{.*}} bits = 8, group_size = 32
// MIX: llm.weight @model.layers.0.self_attn.q_proj.weight {{.*}} bits = 4, group_size = 128, zero_point = symmetric
// MIX: llm.weight @model.layers.0.self_attn.o_proj.weight {{.*}} quant #llm.quant<scheme = float_cast, bits = 16
// MIX: llm.weight @model.layers.0.mlp.up_proj.weight {{.*}} bits = 4, group_size = 32, zero_point = asymmetric
// MIX-LABEL: func.func @forward
// MIX: llm.quantized_linear {{.*}}q_proj
// MIX: llm.linear {{.*}}o_proj
// MIX: llm.quantized_linear {{.*}}up_proj

// F32-NOT: quant #llm
// F32-NOT: quantized_linear
