//===- LLMAttrs.td - attributes of the llm dialect ----------*- tablegen -*-===//

#ifndef LLMC_DIALECT_LLM_ATTRS
#define LLMC_DIALECT_LLM_ATTRS

include "dialects/llm/LLMBase.td"

class LLM_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LLM_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def LLM_WeightStorageAttr : LLM_Attr<"WeightStorage", "storage"> {
  let summary = "Where a weight's bytes live in the source checkpoint";
  let description = [{
    Names the file (relative to the checkpoint directory), the tensor name
    inside it, the absolute byte offset of the tensor's data in that file,
    the stored element type and the stored shape. The importer fills it from
    the safetensors header; the packager reads the bytes through it, one
    tensor at a time, from a memory mapping. The IR never holds weight bytes.

    Example:

    ```mlir
    #llm.storage<file = "model.safetensors",
                 tensor = "model.layers.0.self_attn.q_proj.weight",
                 offset = 4096, dtype = bf16, shape = [64, 64]>
    ```

    `shape` is always the logical `[out, in]` shape (a GGUF file lists its
    dims the other way round). A GGUF file may store ggml block formats
    (`dtype = q8_0`, `q4_0`, `q4_1`, `q5_0`, `q5_1`, `iq4_nl`: blocks of 32
    along each row; `q2_k` .. `q6_k`: super-blocks of 256); the row length
    must then be a multiple of the block.

    `rope_permute_heads = N` (optional, default 0 = rows in order) says the
    rows are stored in llama.cpp's rotary order: llama.cpp's converter
    reorders the rows of q_proj / k_proj per head (N heads of `head_dim`
    rows) from Hugging Face's "first half / second half" pairing to
    interleaved pairs, i.e. stored row `h*head_dim + 2*i + j` holds logical
    row `h*head_dim + j*head_dim/2 + i` (`i < head_dim/2`, `j` in {0, 1}).
    Whoever reads the bytes undoes it row by row (a row permutation, so it
    works for block-quantized rows too); the model computes in Hugging Face
    order.

    ```mlir
    #llm.storage<file = "model.gguf", tensor = "blk.0.attn_k.weight",
                 offset = 8192, dtype = q8_0, shape = [32, 64],
                 rope_permute_heads = 2>
    ```
  }];
  let parameters = (ins
    "::mlir::StringAttr":$file,
    "::mlir::StringAttr":$tensor,
    "uint64_t":$offset,
    EnumParameter<LLM_DType>:$dtype,
    LLM_I64ListParameter<"stored shape">:$shape,
    DefaultValuedParameter<"int64_t", "0",
        "heads of llama.cpp's rope row permutation (0: none)">:$rope_permute_heads
  );
  let builders = [
    // Rows in order (every importer but GGUF's q/k projections).
    AttrBuilder<(ins "::mlir::StringAttr":$file, "::mlir::StringAttr":$tensor,
                     "uint64_t":$offset, "DType":$dtype,
                     "::llvm::ArrayRef<int64_t>":$shape), [{
      return $_get($_ctxt, file, tensor, offset, dtype, shape, int64_t(0));
    }]>
  ];
  let assemblyFormat = [{
    `<` `file` `=` $file `,` `tensor` `=` $tensor `,` `offset` `=` $offset `,`
        `dtype` `=` $dtype `,` `shape` `=` $shape
        (`,` `rope_permute_heads` `=` $rope_permute_heads^)? `>`
  }];
  let genVerifyDecl = 1;
}

def LLM_QuantAttr : LLM_Attr<"Quant", "quant"> {
  let summary = "How a weight is quantized";
  let description = [{
    A quantization description, attached to an `llm.weight` by the quantize
    pass. `scheme` selects the family; the other fields are its parameters:
    `bits` per element, `group_size` elements along the reduction dimension
    sharing one scale (0: one group per output row), a `symmetric` or
    `asymmetric` (scale + zero point) mapping, and the dtype scales are stored
    in. Later schemes add cases to `scheme`, never reinterpret fields.

    Example (int4, groups of 128, fp16 scales, no zero point):

    ```mlir
    #llm.quant<scheme = int_group, bits = 4, group_size = 128,
               zero_point = symmetric, scale_dtype = f16>
    ```
  }];
  let parameters = (ins
    EnumParameter<LLM_QuantScheme>:$scheme,
    "unsigned":$bits,
    "int64_t":$group_size,
    EnumParameter<LLM_ZeroPoint>:$zero_point,
    EnumParameter<LLM_DType>:$scale_dtype
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def LLM_RopeScalingAttr : LLM_Attr<"RopeScaling", "rope_scaling"> {
  let summary = "Rotary embedding frequency scaling (llama3, linear, dynamic, yarn)";
  let description = [{
    The `rope_scaling` / `rope_parameters` entry of a config.json, with
    Hugging Face transformers' semantics (`modeling_rope_utils.py`). Base
    frequencies are `f_i = theta^(-2i/head_dim)`; `llm::computeRope` turns
    them into the frequencies the kernels use:

    - `llama3` (Llama 3.1+): with wavelength `w = 2*pi/f`,
      `w < orig/high_freq_factor` keeps `f`; `w > orig/low_freq_factor` uses
      `f/factor`; in between `s = (orig/w - low)/(high - low)` blends
      `(1-s)*f/factor + s*f`. Needs `low_freq_factor`, `high_freq_factor`
      and `original_max_position_embeddings` (`orig`).
    - `linear`: `f/factor`.
    - `dynamic`: `f` unchanged. Dynamic NTK changes the base only for
      sequences longer than the model's `max_position_embeddings`, which is
      more than llmc ever compiles for (`max_context` is at most that).
    - `yarn`: a linear ramp over the frequency index between `f/factor` and
      `f`, bounded by where `beta_fast` and `beta_slow` rotations fit in
      `orig` positions (floored/ceiled when `truncate`); cos and sin are then
      multiplied by `attention_factor` (resolved from `mscale` by the
      importer).

    Parameters a type does not use are left out (and must be).

    Example:

    ```mlir
    #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0,
                      high_freq_factor = 4.0,
                      original_max_position_embeddings = 8192>
    #llm.rope_scaling<type = yarn, factor = 4.0,
                      original_max_position_embeddings = 64,
                      attention_factor = 1.1386294361119891>
    #llm.rope_scaling<type = linear, factor = 2.0>
    ```
  }];
  let parameters = (ins
    EnumParameter<LLM_RopeType>:$type,
    LLM_F64Parameter<"">:$factor,
    LLM_F64DefaultParameter<"0.0", "llama3 only">:$low_freq_factor,
    LLM_F64DefaultParameter<"0.0", "llama3 only">:$high_freq_factor,
    DefaultValuedParameter<"int64_t", "0",
        "llama3 and yarn: the pretraining context">:$original_max_position_embeddings,
    LLM_F64DefaultParameter<"1.0", "yarn: cos/sin multiplier">:$attention_factor,
    LLM_F64DefaultParameter<"32.0", "yarn">:$beta_fast,
    LLM_F64DefaultParameter<"1.0", "yarn">:$beta_slow,
    LLM_BoolDefaultParameter<"true", "yarn: floor/ceil the ramp bounds">:$truncate
  );
  let builders = [
    // Llama 3.1's scaling, the common case.
    AttrBuilder<(ins "double":$factor, "double":$low_freq_factor,
                     "double":$high_freq_factor,
                     "int64_t":$original_max_position_embeddings), [{
      return $_get($_ctxt, RopeType::llama3, ::llvm::APFloat(factor),
                   ::llvm::APFloat(low_freq_factor),
                   ::llvm::APFloat(high_freq_factor),
                   original_max_position_embeddings, ::llvm::APFloat(1.0),
                   ::llvm::APFloat(32.0), ::llvm::APFloat(1.0), true);
    }]>
  ];
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def LLM_ModelConfigAttr : LLM_Attr<"ModelConfig", "config"> {
  let summary = "Configuration of a Llama 3 family model";
  let description = [{
    Carried by the module as `llm.config`. `max_context` is the largest
    number of positions the compiled model supports (the KV cache is sized
    from it); the importer takes it from `max_position_embeddings` unless the
    user asks for less.

    Example:

    ```mlir
    module attributes {llm.config = #llm.config<
        hidden_size = 2048, intermediate_size = 8192, num_layers = 16,
        num_heads = 32, num_kv_heads = 8, head_dim = 64, vocab_size = 128256,
        max_context = 131072, rms_norm_eps = 1.0e-05, rope_theta = 500000.0,
        rope_scaling = #llm.rope_scaling<type = llama3, factor = 32.0,
            low_freq_factor = 1.0, high_freq_factor = 4.0,
            original_max_position_embeddings = 8192>,
        tie_word_embeddings = true, bos_token_id = 128000,
        eos_token_ids = [128001, 128008, 128009]>} {}
    ```
  }];
  let parameters = (ins
    "int64_t":$hidden_size,
    "int64_t":$intermediate_size,
    "int64_t":$num_layers,
    "int64_t":$num_heads,
    "int64_t":$num_kv_heads,
    "int64_t":$head_dim,
    "int64_t":$vocab_size,
    "int64_t":$max_context,
    LLM_F64Parameter<"">:$rms_norm_eps,
    LLM_F64Parameter<"">:$rope_theta,
    OptionalParameter<"::llmc::llm::RopeScalingAttr">:$rope_scaling,
    LLM_BoolParameter<"">:$tie_word_embeddings,
    "int64_t":$bos_token_id,
    LLM_I64ListParameter<"">:$eos_token_ids
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Dispatch level
//===----------------------------------------------------------------------===//

def LLM_ScalarAttr : LLM_Attr<"Scalar", "scalar"> {
  let summary = "An index the runtime evaluates per call: c + a*n_tokens + ...";
  let description = [{
    The scalars of a dispatch and its grid are affine in the few values that
    change between calls of the model, so that a runtime (or a GPU HAL) only
    evaluates `c + n_tokens * N + start_pos * P + logit_rows * L`, with

    - `n_tokens`: tokens in this call (1 for decode, up to `prefill_chunk`),
    - `start_pos`: the position of the first of them,
    - `logit_rows`: the rows of logits wanted (`n_tokens` when the context
      asked for all positions' logits, else 1).

    Zero coefficients are left out.

    Example:

    ```mlir
    #llm.scalar<c = 128>                    // a constant grid of 128
    #llm.scalar<n_tokens = 1>               // the token count
    #llm.scalar<n_tokens = 1, start_pos = 1> // the KV length after this call
    #llm.scalar<n_tokens = 1, logit_rows = -1> // the row the logits start at
    ```
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "0", "constant term">:$c,
    DefaultValuedParameter<"int64_t", "0", "coefficient of n_tokens">:$n_tokens,
    DefaultValuedParameter<"int64_t", "0", "coefficient of start_pos">:$start_pos,
    DefaultValuedParameter<"int64_t", "0", "coefficient of logit_rows">:$logit_rows
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    /// The value for one call of the model.
    int64_t evaluate(int64_t nTokens, int64_t startPos, int64_t logitRows) const {
      return getC() + getNTokens() * nTokens + getStartPos() * startPos +
             getLogitRows() * logitRows;
    }
  }];
}

def LLM_BindingAttr : LLM_Attr<"Binding", "binding"> {
  let summary = "A byte range of one runtime buffer, bound to a kernel argument";
  let description = [{
    `size` is at least the bytes of the kernel's memref argument; the
    runtime checks every binding against its buffer before the first call,
    and the `llm.dispatch` verifier checks it against the kernel.

    `read` and `write` are the bytes of the range one call of the dispatch
    reads and writes (each byte counted once, nothing assumed cached), as
    `#llm.scalar`s of the call: `llmc inspect` sums them into bytes per
    token, which bound decode speed on a phone by its memory bandwidth.
    Absent means none.

    Example:

    ```mlir
    // A weight matrix: read whole by every call.
    #llm.binding<space = weights, offset = 4096, size = 16384,
                 read = <c = 16384>>
    // One layer of the KV cache as attention reads it: the K and V rows of
    // positions [0, start_pos + n_tokens).
    #llm.binding<space = kv_cache, offset = 0, size = 131072,
                 read = <n_tokens = 256, start_pos = 256>>
    ```
  }];
  let parameters = (ins
    EnumParameter<LLM_BufferSpace>:$space,
    "int64_t":$offset,
    "int64_t":$size,
    OptionalParameter<"::llmc::llm::ScalarAttr", "bytes read per call">:$read,
    OptionalParameter<"::llmc::llm::ScalarAttr", "bytes written per call">:$write
  );
  let assemblyFormat = "`<` struct(params) `>`";
}

def LLM_PlanAttr : LLM_Attr<"Plan", "plan"> {
  let summary = "The sizes the dispatch level was planned for";
  let description = [{
    Carried by the module as `llm.plan` once `llm-lower-to-kernels` ran:
    the compiled maximum tokens per call, and the byte sizes of the buffers
    every binding points into (the logits buffer holds `prefill_chunk` rows
    of `vocab_size` floats at most). `activations` is the element type of
    the arena's activation tensors: f32 (the default, not printed), or f16
    on GPU targets building a `q4f16_*` preset, which halves the arena and
    its traffic; kernels still compute in f32 (widened loads, rounded
    stores). Scratch stays f32.

    Example:

    ```mlir
    module attributes {llm.plan = #llm.plan<prefill_chunk = 32,
        arena_size = 73728, weights_size = 1150976,
        kv_cache_size = 262144>} {}
    ```
  }];
  let parameters = (ins
    "int64_t":$prefill_chunk,
    "int64_t":$arena_size,
    "int64_t":$weights_size,
    "int64_t":$kv_cache_size,
    OptionalParameter<"::mlir::Type">:$activations
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The activations' element type (f32 when not given).
    ::mlir::Type getActivationType() const {
      return getActivations() ? getActivations()
                              : ::mlir::Float32Type::get(getContext());
    }
  }];
}

#endif // LLMC_DIALECT_LLM_ATTRS
