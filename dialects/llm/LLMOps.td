//===- LLMOps.td - operations of the llm dialect ------------*- tablegen -*-===//
//
// Activations are 2-D tensors [tokens, features]; the token dimension is
// dynamic at import (`?`) and made static later by the chunking passes. Heads
// are not separate tensor dimensions: ops that need them carry `num_heads` /
// `head_dim` attributes and verify that they tile the feature dimension. This
// keeps the IR free of reshapes and makes the head layout a property the
// lowering chooses.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_OPS
#define LLMC_DIALECT_LLM_OPS

include "dialects/llm/LLMBase.td"
include "dialects/llm/LLMAttrs.td"
include "dialects/llm/LLMTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/BuiltinAttributes.td"

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

def LLM_Activation : 2DTensorOf<[F32, F16, BF16]>;
def LLM_TokenIds : 1DTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def LLM_WeightOp : LLM_Op<"weight", [Symbol, IsolatedFromAbove]> {
  let summary = "A named model weight";
  let description = [{
    Declares a weight at module level. `type` is the logical tensor the model
    computes with (f32 for an f32, f16 or bf16 checkpoint computed in f32);
    `storage` says where its bytes are; `quant`, set by the quantize pass,
    says how they are (to be) stored in the artifact, in the byte layout of
    dialects/llm/QuantLayout.h (`getLayout()`); `at`, set by
    llm-lower-to-kernels, is the weight's 64-byte aligned offset in the
    artifact's weights segment: after the lowering the weight ops are the
    weight table the packager writes. `role`, set by the importers, says
    what the weight is in the model (attn_q, mlp_down, ...); passes that
    treat weights differently read it instead of guessing from names.
    Shapes follow Hugging Face: a linear weight is [out_features,
    in_features].

    Fusion (llm-fuse) makes weights the checkpoint does not hold, from
    weights it does: `then [...]` appends the rows of more stored tensors
    after those of `storage` (q, k and v projections merged into one), and
    `scaled_by` multiplies every column `k` by element `k` of a stored
    vector (an RMSNorm's weight folded into the linear it feeds). The
    packager applies both while it reads the rows, before it quantizes
    them, so the artifact holds only the fused weight.

    Example:

    ```mlir
    llm.weight @model.norm.weight : tensor<64xf32> = #llm.storage<
        file = "model.safetensors", tensor = "model.norm.weight",
        offset = 4096, dtype = f32, shape = [64]> role final_norm
    // after llm-quantize and llm-lower-to-kernels
    llm.weight @q : tensor<64x64xf32> = #llm.storage<...>
        quant #llm.quant<scheme = int_group, bits = 8, group_size = 32,
                         zero_point = symmetric, scale_dtype = f16> at 1024
    // after llm-pack-weights (the CPU): rows in panels of 16 for its
    // integer dot-product instructions (QuantLayout.h)
    llm.weight @o : tensor<64x64xf32> = #llm.storage<...>
        quant #llm.quant<scheme = int_group, bits = 4, group_size = 32,
                         zero_point = symmetric, scale_dtype = f16> packed 16
    // after llm-fuse: [q; k; v] with input_layernorm's weight folded in
    llm.weight @model.layers.0.qkv : tensor<128x64xf32> = #llm.storage<
        ... tensor = "model.layers.0.self_attn.q_proj.weight" ...>
        then [#llm.storage<... k_proj ...>, #llm.storage<... v_proj ...>]
        scaled_by #llm.storage<... input_layernorm.weight ...>
        role attn_qkv
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    TypeAttrOf<AnyRankedTensor>:$type,
    LLM_WeightStorageAttr:$storage,
    OptionalAttr<TypedArrayAttrBase<LLM_WeightStorageAttr,
                                    "more row blocks">>:$then,
    OptionalAttr<LLM_WeightStorageAttr>:$scaled_by,
    OptionalAttr<LLM_QuantAttr>:$quant,
    OptionalAttr<I64Attr>:$segment_offset,
    OptionalAttr<LLM_WeightRole>:$role,
    OptionalAttr<I64Attr>:$packed
  );
  let assemblyFormat = [{
    $sym_name `:` $type `=` qualified($storage)
    (`then` $then^)? (`scaled_by` qualified($scaled_by)^)?
    (`quant` qualified($quant)^)?
    (`packed` $packed^)?
    (`at` $segment_offset^)? (`role` $role^)? attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
    /// How the artifact stores this weight: rows, columns, bits and, for
    /// integer schemes, group, zero point and scale width. The one place a
    /// #llm.quant becomes a byte layout (check `invalidReason()`).
    ::llmc::quant::Layout getLayout();
    /// The layout this weight would have packed in panels of `panel` rows
    /// (what getLayout() gives once `packed` is set: kept ggml codes and
    /// scales take their packed forms; llm-pack-weights asks it).
    ::llmc::quant::Layout getLayoutInPanels(int64_t panel);
    /// The stored tensors whose rows make this weight, in order.
    ::llvm::SmallVector<WeightStorageAttr> getParts();
    /// True when the artifact holds the source's ggml blocks exactly: every
    /// part is a ggml block format whose codes, scales and mins this
    /// weight's #llm.quant stores unchanged (ggml::keptLayout: q8_0 / q4_0
    /// are our q8 / q4_g32, the K-quants int4 / int8 groups with f32
    /// scales). A transform of the values (`scaled_by`) would re-quantize
    /// them instead.
    bool copiesSourceBlocks();
  }];
}

//===----------------------------------------------------------------------===//
// Compute
//===----------------------------------------------------------------------===//

def LLM_EmbeddingOp : LLM_Op<"embedding",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Token embedding lookup";
  let description = [{
    Gathers row `tokens[t]` of the [vocab, hidden] table `weight` for each
    token. Ids outside [0, vocab) are the caller's error (the runtime checks
    them before running the model).

    Example:

    ```mlir
    %h = llm.embedding %tokens, @model.embed_tokens.weight
        : tensor<?xi32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins LLM_TokenIds:$tokens, FlatSymbolRefAttr:$weight);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $tokens `,` $weight attr-dict `:` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_RMSNormOp : LLM_Op<"rms_norm",
    [Pure, SameOperandsAndResultType,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Root-mean-square layer normalization";
  let description = [{
    `y[t, i] = x[t, i] / sqrt(mean_i(x[t, :]^2) + epsilon) * weight[i]`,
    accumulated in f32 whatever the activation type (as Hugging Face does).

    Example:

    ```mlir
    %n = llm.rms_norm %h, @model.layers.0.input_layernorm.weight
        eps = 1.000000e-05 : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$input, FlatSymbolRefAttr:$weight,
                       F64Attr:$epsilon);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `eps` `=` $epsilon attr-dict `:` type($result)
  }];
}

def LLM_LinearOp : LLM_Op<"linear",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Matrix product with a weight, no bias";
  let description = [{
    `y[t, n] = sum_k x[t, k] * weight[n, k]` with `weight` an
    [out_features, in_features] `llm.weight` (Hugging Face layout). The final
    projection to logits is an `llm.linear` too: against `lm_head.weight`, or
    against the embedding table when the model ties them.

    Example:

    ```mlir
    %q = llm.linear %n, @model.layers.0.self_attn.q_proj.weight
        : tensor<?x64xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$input, FlatSymbolRefAttr:$weight);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_QuantizedLinearOp : LLM_Op<"quantized_linear",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Linear layer against an integer-quantized weight";
  let description = [{
    Same semantics as `llm.linear`, but `weight` carries an integer
    `#llm.quant` (scheme `int_group`): the kernel dequantizes each group on
    the fly inside the dot product, so no dequantized copy of the weight ever
    exists at run time. The quantize pass produces it from `llm.linear`.

    Example:

    ```mlir
    llm.weight @w : tensor<128x64xf32> = #llm.storage<file = "m.safetensors",
        tensor = "w", offset = 0, dtype = bf16, shape = [128, 64]>
        quant #llm.quant<scheme = int_group, bits = 4, group_size = 32,
                         zero_point = symmetric, scale_dtype = f16>
    %y = llm.quantized_linear %x, @w : tensor<?x64xf32> -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$input, FlatSymbolRefAttr:$weight);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_RopeOp : LLM_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates each head of `input` ([tokens, num_heads * head_dim]) by its
    position `start_pos + t`, with the Hugging Face "rotate half" convention:
    element `i < head_dim/2` pairs with `i + head_dim/2`, at frequency
    `theta^(-2i/head_dim)`, rescaled by `scaling` when present (Llama 3.1).

    Example:

    ```mlir
    %qr = llm.rope %q at %pos {num_heads = 4 : i64, head_dim = 16 : i64,
                               theta = 5.000000e+05 : f64} : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    LLM_Activation:$input, Index:$start_pos,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
    ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
    F64Attr:$theta,
    OptionalAttr<LLM_RopeScalingAttr>:$scaling
  );
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `at` $start_pos attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_KVWriteOp : LLM_Op<"kv_write", [MemoryEffects<[MemWrite]>]> {
  let summary = "Store keys and values of new positions into the KV cache";
  let description = [{
    Writes row `t` of `keys` / `values` ([tokens, num_kv_heads * head_dim],
    keys already rotated) at position `start_pos + t` of layer `layer`.

    Example:

    ```mlir
    llm.kv_write %k, %v into %cache[0] at %pos
        : tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache<num_layers = 2,
          num_kv_heads = 2, head_dim = 16, max_context = 256, dtype = f32>
    ```
  }];
  let arguments = (ins
    LLM_Activation:$keys, LLM_Activation:$values, LLM_KVCacheType:$cache,
    ConfinedAttr<I64Attr, [IntNonNegative]>:$layer, Index:$start_pos
  );
  let assemblyFormat = [{
    $keys `,` $values `into` $cache `[` $layer `]` `at` $start_pos attr-dict
    `:` type($keys) `,` type($values) `,` qualified(type($cache))
  }];
  let hasVerifier = 1;
}

def LLM_KVReadOp : LLM_Op<"kv_read", [MemoryEffects<[MemRead]>]> {
  let summary = "Load the keys and values of the first `length` positions";
  let description = [{
    Returns positions [0, length) of layer `layer` as two
    [length, num_kv_heads * head_dim] tensors.

    Example:

    ```mlir
    %ks, %vs = llm.kv_read %cache[0] upto %len
        : !llm.kv_cache<num_layers = 2, num_kv_heads = 2, head_dim = 16,
          max_context = 256, dtype = f32> -> tensor<?x32xf32>, tensor<?x32xf32>
    ```
  }];
  let arguments = (ins
    LLM_KVCacheType:$cache, ConfinedAttr<I64Attr, [IntNonNegative]>:$layer,
    Index:$length
  );
  let results = (outs LLM_Activation:$keys, LLM_Activation:$values);
  let assemblyFormat = [{
    $cache `[` $layer `]` `upto` $length attr-dict `:` qualified(type($cache))
    `->` type($keys) `,` type($values)
  }];
  let hasVerifier = 1;
}

def LLM_AttentionOp : LLM_Op<"attention", [Pure]> {
  let summary = "Scaled dot-product attention with grouped-query heads";
  let description = [{
    For query row `t` (position `start_pos + t`) and head `h`, attends to
    key/value rows `j` of KV head `h / (num_heads / num_kv_heads)`:
    `softmax_j(scale * q[t,h] . k[j,g]) * v[j,g]`, with the causal mask
    `j <= start_pos + t` when `causal` is set. Keys and values hold every
    position from 0, as `llm.kv_read` returns them. `kv_tile` (set by
    llm-tile-kv; 32 when absent) is how many positions the kernel's online
    softmax takes at a time: a tile of keys and values of one KV head should
    stay in the L1 cache while every query head of its group reads it.
    `kv_splits` (1 when absent) cuts the positions into that many ranges
    computed in parallel and combined at the end (flash decoding), for
    devices with more parallel units than KV heads.

    Example:

    ```mlir
    %o = llm.attention %q, %ks, %vs at %pos {num_heads = 4 : i64,
        num_kv_heads = 2 : i64, head_dim = 16 : i64, scale = 2.500000e-01 : f64,
        causal} : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>
        -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    LLM_Activation:$query, LLM_Activation:$keys, LLM_Activation:$values,
    Index:$start_pos,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_kv_heads,
    ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
    F64Attr:$scale, UnitAttr:$causal,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$kv_tile,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$kv_splits
  );
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `at` $start_pos attr-dict `:` type($query) `,`
    type($keys) `,` type($values) `->` type($result)
  }];
  let hasVerifier = 1;
}

def LLM_SiluOp : LLM_Op<"silu", [Pure, SameOperandsAndResultType]> {
  let summary = "x * sigmoid(x)";
  let description = [{
    Example:

    ```mlir
    %s = llm.silu %g : tensor<?x128xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$input);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LLM_SwiGLUOp : LLM_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "silu(gate) * up, the gated activation of Llama's MLP";
  let description = [{
    Example:

    ```mlir
    %a = llm.swiglu %gate, %up : tensor<?x128xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$gate, LLM_Activation:$up);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def LLM_AddOp : LLM_Op<"add", [Pure, SameOperandsAndResultType, Commutative]> {
  let summary = "Elementwise sum (residual connections)";
  let description = [{
    Example:

    ```mlir
    %r = llm.add %h, %o : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$lhs, LLM_Activation:$rhs);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def LLM_MulOp : LLM_Op<"mul", [Pure, SameOperandsAndResultType, Commutative]> {
  let summary = "Elementwise product";
  let description = [{
    Example:

    ```mlir
    %m = llm.mul %a, %b : tensor<?x128xf32>
    ```
  }];
  let arguments = (ins LLM_Activation:$lhs, LLM_Activation:$rhs);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Fused ops (made by llm-fuse)
//
// Each is one kernel on every target: what the unfused graph computes with
// four to six ops, each writing its activation to memory for the next to
// read back, these compute in one pass over the weight.
//===----------------------------------------------------------------------===//

def LLM_FusedLinearOp : LLM_Op<"fused_linear",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "A linear with an RMSNorm prologue and a SwiGLU or residual "
                "epilogue";
  let description = [{
    `y = x' . weight^T` over any weight format (float or integer groups,
    dequantized inside the dot product), where:

    - with `norm eps = E`, `x'[t] = x[t] * rsqrt(mean(x[t]^2) + E)`, times
      `gamma`'s vector when given. llm-fuse folds the norm's vector into
      the weight's columns (`scaled_by` on the `llm.weight`) wherever it
      can, so the prologue is one sum of squares per row, applied to the
      finished dot product: `(x * r) . w = r * (x . w)`. It keeps `gamma`
      when the weight is shared (tied embeddings) or stored as the
      source's ggml blocks, which a fold would re-quantize;
    - with `swiglu`, the weight holds gate rows then up rows and the result
      is `silu(y[:, :N]) * y[:, N:]` (N result features, 2N weight rows);
    - with `residual(%r)`, `%r` is added to the result.

    The unfused forms are `llm.rms_norm`, `llm.linear` /
    `llm.quantized_linear`, `llm.swiglu` and `llm.add`.

    Example:

    ```mlir
    // post_attention_layernorm + gate_proj + up_proj + SwiGLU
    %a = llm.fused_linear %h, @model.layers.0.gate_up norm eps = 1.0e-05 swiglu
        : (tensor<?x64xf32>) -> tensor<?x128xf32>
    // down_proj + the residual add
    %h2 = llm.fused_linear %a, @model.layers.0.mlp.down_proj.weight
        residual(%h) : (tensor<?x128xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    LLM_Activation:$input, Optional<LLM_Activation>:$residual,
    FlatSymbolRefAttr:$weight, OptionalAttr<F64Attr>:$norm_epsilon,
    OptionalAttr<FlatSymbolRefAttr>:$gamma, UnitAttr:$swiglu
  );
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`norm` `eps` `=` $norm_epsilon^)?
    (`gamma` $gamma^)? (`swiglu` $swiglu^)? (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_QKVRopeOp : LLM_Op<"qkv_rope",
    [MemoryEffects<[MemWrite]>, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The attention block's input: norm, q/k/v projections, RoPE "
                "and the KV-cache write in one";
  let description = [{
    `weight` holds the q, k and v projections' rows one after the other
    (`num_heads`, `num_kv_heads` and `num_kv_heads` heads of `head_dim`).
    With `norm eps` (and `gamma`) the input is RMS-normalised first, as in
    `llm.fused_linear`. Q and K are rotated as `llm.rope` does at positions
    `start_pos + t`; K and V are written into layer `layer` of the cache at
    those positions, as `llm.kv_write` does; the result is the rotated Q.
    It replaces `llm.rms_norm`, three linears, two `llm.rope` and an
    `llm.kv_write`.

    Example:

    ```mlir
    %q = llm.qkv_rope %h, @model.layers.0.qkv norm eps = 1.0e-05
        into %cache[0] at %pos {num_heads = 4 : i64, num_kv_heads = 2 : i64,
        head_dim = 16 : i64, theta = 5.000000e+05 : f64}
        : tensor<?x64xf32>, !llm.kv_cache<num_layers = 2, num_kv_heads = 2,
          head_dim = 16, max_context = 256, dtype = f32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    LLM_Activation:$input, LLM_KVCacheType:$cache, Index:$start_pos,
    FlatSymbolRefAttr:$weight, OptionalAttr<F64Attr>:$norm_epsilon,
    OptionalAttr<FlatSymbolRefAttr>:$gamma,
    ConfinedAttr<I64Attr, [IntNonNegative]>:$layer,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_kv_heads,
    ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
    F64Attr:$theta,
    OptionalAttr<LLM_RopeScalingAttr>:$scaling
  );
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`norm` `eps` `=` $norm_epsilon^)? (`gamma` $gamma^)?
    `into` $cache `[` $layer `]` `at` $start_pos attr-dict `:` type($input)
    `,` qualified(type($cache)) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dispatch level (after llm-lower-to-kernels)
//===----------------------------------------------------------------------===//

def LLM_ScheduleOp : LLM_Op<"schedule",
    [NoTerminator, SingleBlock, HasParent<"::mlir::ModuleOp">]> {
  let summary = "The model as an ordered list of dispatches";
  let description = [{
    One call of the model (a prefill chunk or a decode step) runs the
    `llm.dispatch` ops of the body in order, each complete before the next
    starts. There is no other control flow: a runtime or GPU HAL walks the
    list as data (it is stored in the artifact), which is what makes one
    schedule serve every target.

    Example:

    ```mlir
    llm.schedule {
      llm.dispatch @k_embedding_0 "embedding" grid <n_tokens = 1>
          bindings [...] scalars [#llm.scalar<n_tokens = 1>]
      ...
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
}

def LLM_LaneSumOp : LLM_Op<"lane_sum", [SameOperandsAndResultType]> {
  let summary = "Sum of a value over the lanes that compute one row together";
  let description = [{
    Inside a kernel distributed across lanes by
    `llm-distribute-reductions` (the function carries `llm.lanes = L`),
    iterations `row * L + lane` for `lane` in `[0, L)` compute one row
    together, each holding a partial sum of its share of a dot product;
    `llm.lane_sum` returns the sum over the row's L lanes to all of them.
    It is a collective: every lane of the row must reach it, in the same
    order, so it only appears in control flow that is uniform across the
    lanes. GPU targets run the L lanes as one workgroup (a subgroup
    reduction, or local memory where there are no subgroups); CPU targets
    never see it.

    Example:

    ```mlir
    %partial = vector.reduction <add>, %acc : vector<4xf32> into f32
    %sum = llm.lane_sum %partial : f32
    ```
  }];
  let arguments = (ins F32:$value);
  let results = (outs F32:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def LLM_DispatchOp : LLM_Op<"dispatch",
    [HasParent<"ScheduleOp">, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "One kernel launch over a 1-D parallel iteration space";
  let description = [{
    Runs `kernel` over the iteration space `[0, grid)`. The kernel is a
    `func.func` whose arguments are, in order: one memref per binding (the
    binding's bytes viewed with that static type), one `index` per scalar,
    then `begin` and `end`: the kernel computes the iterations
    `[begin, end)` of its parallel dimension, so a target may split the grid
    across threads, workgroups or subgroups in any way, each part
    independent of the others (except in a kernel marked `llm.lanes = L` by
    llm-distribute-reductions, whose L consecutive iterations of a row must
    run together: `llm.lane_sum`). Bindings are byte ranges of the runtime's
    buffers (`#llm.binding`); scalars and the grid are `#llm.scalar`s, which
    the runtime evaluates for each call. `label` names the `llm` op the
    dispatch computes and `layer` the model layer it belongs to, if any (for
    `llmc inspect` and profiles).

    The verifier checks the kernel's signature against the bindings and
    scalars, and that every binding covers its memref: the same checks the
    runtime repeats on the artifact before it runs a kernel.

    Example:

    ```mlir
    func.func private @k_linear_0(%x: memref<32x64xf32>,
        %w: memref<128x64xf32>, %y: memref<32x128xf32>, %rows: index,
        %begin: index, %end: index) { ... }
    llm.schedule {
      llm.dispatch @k_linear_0 "linear" grid <c = 128>
          bindings [#llm.binding<space = arena, offset = 0, size = 8192>,
                    #llm.binding<space = weights, offset = 64, size = 32768>,
                    #llm.binding<space = arena, offset = 8192, size = 16384>]
          scalars [#llm.scalar<n_tokens = 1>]
    }
    ```
  }];
  let arguments = (ins
    FlatSymbolRefAttr:$kernel,
    StrAttr:$label,
    LLM_ScalarAttr:$grid,
    TypedArrayAttrBase<LLM_BindingAttr, "bindings">:$bindings,
    TypedArrayAttrBase<LLM_ScalarAttr, "scalars">:$scalars,
    OptionalAttr<ConfinedAttr<I64Attr, [IntNonNegative]>>:$layer
  );
  let assemblyFormat = [{
    $kernel $label (`layer` $layer^)? `grid` $grid `bindings` $bindings
    `scalars` $scalars attr-dict
  }];
}

#endif // LLMC_DIALECT_LLM_OPS
