//===- Passes.td - llmc passes ------------------------------*- tablegen -*-===//
//
// Every transformation of llmc is one pass in its own file under passes/,
// declared here. The pipeline that chains them lives in compiler/.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES
#define LLMC_PASSES

include "mlir/Pass/PassBase.td"

def LLMVerifyModel : Pass<"llm-verify-model", "mlir::ModuleOp"> {
  let summary = "Check that a module is a complete llm model";
  let description = [{
    The dialect verifiers check each op alone; this pass checks the module as
    a model: it carries an `llm.config`, has exactly one `func.func @forward`
    with the (tokens, start_pos, kv cache) -> logits signature, the KV cache
    type agrees with the config, and every `llm.weight` is used. The importer
    runs it last so a malformed model fails at import, not at code generation.
  }];
  let dependentDialects = ["llmc::llm::LLMDialect", "mlir::func::FuncDialect"];
}

def LLMQuantize : Pass<"llm-quantize", "mlir::ModuleOp"> {
  let summary = "Choose a storage format for every weight and rewrite the "
                "linears over integer weights";
  let description = [{
    Applies a quantization policy: each weight falls in a class by how the
    model uses it (`embed`, `lm_head`, `attn_qkv`, `attn_o`, `mlp`, `norm`)
    and the preset maps each class to a scheme:

    | preset        | attn_qkv / attn_o / mlp | embed  | lm_head | norm |
    |---------------|-------------------------|--------|---------|------|
    | f32           | f32                     | f32    | f32     | f32  |
    | f16           | f16                     | f16    | f16     | f32  |
    | q8            | q8                      | q8     | q8      | f32  |
    | q4_g32[_asym] | q4_g32[_asym]           | q8 (*) | q8 (*)  | f32  |
    | q4_g128[_asym]| q4_g128[_asym]          | q8 (*) | q8 (*)  | f32  |
    | q4f16_g32     | q4_g32                  | q8 (*) | q8 (*)  | f32  |
    | q4f16_g128    | q4_g128                 | q8 (*) | q8 (*)  | f32  |

    (*) `q6` with `int8-dot` (a target whose integer-dot kernels read it:
    the CPU), as llama.cpp's Q4 types keep their output matrix in 6 bits:
    the vocabulary matrix is the largest a decode token reads.

    The `q4f16_*` presets quantize weights as `q4_g*`; their "f16" is the
    activations', kept in f16 by the build on GPU targets
    (`llm-plan-memory`'s `activations`). Schemes: `f32`, `f16` (float cast), `q8` (int8, symmetric, groups of
    32, f16 scales), `q8_ch` (int8 per output channel, f32 scales), `q6`
    (int6, symmetric, groups of 32, f16 scales; only the CPU's panel
    kernels read it),
    `q4_g32` / `q4_g128` (int4, symmetric, f16 scales) and their `_asym`
    variants (scale + min). `overrides` replaces a class's scheme, e.g.
    `attn_o=f16,lm_head=q8_ch`. A weight shared by two classes (tied
    embeddings) takes the more precise scheme. Norm weights stay f32.

    A weight whose row length the scheme's groups do not divide (a row of
    64 with `q4_g128`, say) takes the nearest scheme that fits: the same
    bits in smaller groups, then `q8`, `q8_ch`, and `f16`, which fits every
    row. One warning per class and scheme names the first such weight and
    the scheme it got; `strict` makes it an error instead.

    Linears over integer weights become `llm.quantized_linear`, whose kernel
    dequantizes group by group inside the dot product (or, once
    llm-pack-weights has packed the weight for the CPU, multiplies it by
    int8-quantized activations with integer dot products).
  }];
  let options = [
    Option<"preset", "preset", "std::string", "\"f32\"",
           "Quantization preset (see the description)">,
    ListOption<"overrides", "overrides", "std::string",
               "Per-class schemes, e.g. attn_o=f16,lm_head=q8">,
    Option<"strict", "strict", "bool", "false",
           "Refuse a weight whose rows the scheme's groups do not divide "
           "instead of falling back to the nearest scheme that fits">,
    Option<"int8Dot", "int8-dot", "bool", "false",
           "The target multiplies integer weights with integer dot products "
           "(the CPU): the q4 presets store the embedding and lm_head in q6">
  ];
  let dependentDialects = ["llmc::llm::LLMDialect"];
}

def LLMFuse : Pass<"llm-fuse", "mlir::ModuleOp"> {
  let summary = "Fuse each step of a Llama layer into one op: qkv_rope, "
                "norm prologues, SwiGLU and residual epilogues";
  let description = [{
    Rewrites `@forward` so that a layer is five kernels instead of sixteen:

    1. three linears of one input, two `llm.rope` and the `llm.kv_write`
       of k and v become one `llm.qkv_rope` over a merged [q; k; v] weight;
    2. `llm.swiglu` of two linears of one input becomes an
       `llm.fused_linear ... swiglu` over a merged [gate; up] weight;
    3. `llm.add` of a value and a linear used only there becomes an
       `llm.fused_linear ... residual(%value)`;
    4. an `llm.rms_norm` whose users are all linears (plain, fused or
       qkv_rope, as their input) is removed: each user gets `norm eps = E`
       and the norm's vector is folded into its weight's columns
       (`scaled_by` on the `llm.weight`), or kept as `gamma` when the
       weight is shared (tied embeddings) or copied from ggml blocks.

    Merged weights (`then` on `llm.weight`) need one format: run after
    `llm-quantize`. A pattern that does not match exactly (another user of
    an intermediate value, weights in different formats) leaves the ops
    unfused; the result is the same either way.
  }];
  let dependentDialects = ["llmc::llm::LLMDialect"];
}

def LLMTileKV : Pass<"llm-tile-kv", "mlir::ModuleOp"> {
  let summary = "Choose the KV cache's storage type and attention's tile";
  let description = [{
    Sets the element type of the KV cache (`@forward`'s `!llm.kv_cache`
    argument): `f32`, `f16`, or `q8` (int8 with one f32 scale per position
    and KV head, quantized as the cache is written). Sets `kv_tile` on every
    `llm.attention`: the positions its online softmax takes at a time, so
    that a tile of one KV head's keys and values stays in the L1 cache
    while each query head of the group reads it (the build derives it from
    the target preset's L1 size; `tile = 0` keeps what is there). Sets
    `kv_splits`: position ranges computed in parallel and combined at the
    end (flash decoding), for devices with more parallel units than KV
    heads (`splits = 0` keeps what is there).
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", "\"f32\"",
           "KV cache element type: f32, f16 or q8">,
    Option<"tile", "tile", "int64_t", "0",
           "Positions per attention tile (0: leave kv_tile as it is)">,
    Option<"splits", "splits", "int64_t", "0",
           "Position ranges attention computes in parallel and combines "
           "(flash decoding; 0: leave kv_splits as it is)">
  ];
  let dependentDialects = ["llmc::llm::LLMDialect"];
}

def LLMPackWeights : Pass<"llm-pack-weights", "mlir::ModuleOp"> {
  let summary = "Store integer weights in panels for integer dot products";
  let description = [{
    Marks each integer-quantized matrix `packed 16` when every op that
    reads it has a kernel over the packed layout: its rows grouped by 16
    so that one 64-byte vector holds 4 consecutive codes of each of 16
    rows, what x86's `vpdpbusd` (and ARM's `sdot`) consume without any
    shuffle (dialects/llm/QuantLayout.h). The packager writes that layout
    and the lowering gives those ops the CPU's integer-dot kernels: each
    activation row is quantized once to int8 blocks of 32 (a dispatch of
    its own, with the op's RMSNorm), then multiplied by the panels.

    Symmetric int8 / int6 / int4 and asymmetric int4 (scale and min: the
    kernel adds min x the activation block's sum) pack, in groups of a
    multiple of 32, or of 16 for int8 (ggml's Q6_K, Q3_K kept). Weights
    stay row-major (and their ops on the float-activation kernels) when
    their scheme cannot pack (asymmetric int8, other groups) or an op needs
    rows the panels cannot give whole: a q/k/v head
    whose `head_dim` is not a multiple of 16, a SwiGLU whose half is not.
    Run by the build for targets whose KernelStrategy asks for it (the
    CPU), before llm-plan-weights.
  }];
  let dependentDialects = ["llmc::llm::LLMDialect"];
}

def LLMDistributeReductions : Pass<"llm-distribute-reductions", "mlir::ModuleOp"> {
  let summary = "Give each row of a matrix-vector kernel a group of GPU lanes";
  let description = [{
    Runs on the dispatch level, for GPU targets (their KernelStrategy's
    `lanes`). In every kernel whose dispatches are all matrix-vector
    products (labels with `linear`, `lm_head` or `qkv_rope`), the iteration
    space becomes `rows * L`: iteration `row * L + lane`. The outermost sum
    loops (iteration arguments that start at zero and end in `vector.reduction
    <add>`) start at `lane * step` and stride by `L * step`, so neighbouring
    lanes read neighbouring chunks of a weight row (coalesced loads), and
    each reduction's result is summed over the lanes with `llm.lane_sum`.
    Stores to bindings go under `scf.if lane == 0`, since every lane holds
    the same result, together with the loads and arithmetic only they use
    (a load moves only while no side effect lies between it and the
    store): a residual epilogue's result overwrites the residual it reads,
    which the other lanes must then not read. The function gets `llm.lanes = L` and its dispatches'
    grids are multiplied by L. Other kernels keep one iteration per row.

    A distributed kernel must run its L lanes of a row together (a GPU
    workgroup of L work-items): it is never given to a CPU back end.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"64",
           "Lanes per row (the workgroup size; 1 leaves the module as it is)">,
  ];
  let dependentDialects = ["llmc::llm::LLMDialect", "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def LLMPlanWeights : Pass<"llm-plan-weights", "mlir::ModuleOp"> {
  let summary = "Place every weight in the artifact's weights segment";
  let description = [{
    Gives each `llm.weight` its offset in the weights segment (`at N`):
    64-byte aligned, in declaration order, each taking the bytes of its
    layout (`WeightOp::getLayout`, from `#llm.quant`). The kernels bind
    these offsets and the packager writes the bytes there. A quantization
    the layout cannot hold (a group that does not divide the row) is an
    error here.
  }];
}

def LLMPlanMemory : Pass<"llm-plan-memory", "mlir::ModuleOp"> {
  let summary = "Give every activation of @forward a slot in one arena";
  let description = [{
    Activations are `[prefill_chunk, features]` buffers of f32 (or of f16
    with `activations=f16`, recorded in the plan). A linear scan
    over `@forward` in schedule order gives each value an arena slot
    (`llm.slot = offset` on the op that produces it) and frees the slot
    after the value's last use (first fit, merged free list). A residual
    epilogue (`llm.fused_linear ... residual`) takes its residual's slot
    when the residual dies there; a fused op whose norm keeps `gamma` gets
    `prefill_chunk x hidden` floats of scratch for its normalised input
    (`llm.scratch`). Attention needs none: its softmax runs over tiles.
    The logits are not in the arena (the caller's buffer). Records
    `llm.plan = #llm.plan<prefill_chunk, arena_size, weights_size,
    kv_cache_size>`; needs the weights placed (`--llm-plan-weights`).
  }];
  let options = [
    Option<"prefillChunk", "prefill-chunk", "int64_t", "32",
           "Rows (tokens) one call processes; longer prompts run in chunks">,
    Option<"activations", "activations", "std::string", "\"f32\"",
           "Element type of the arena's activations: f32, or f16 (GPU "
           "targets, q4f16_* presets); scratch stays f32">
  ];
}

def LLMLowerToKernels : Pass<"llm-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Lower an llm model to the dispatch level: kernels over "
                "buffer bindings and the schedule that launches them";
  let description = [{
    Replaces `@forward` (tensor level, dynamic token count) by:

    * one private function per distinct kernel (embedding, rms_norm, linear,
      rope, kv_write, attention, swiglu, add, ...) over statically shaped
      memrefs, written with scf / arith / math / vector / memref ops. Its
      arguments are one memref per binding, one index per scalar, then
      `begin` and `end` of its parallel dimension (output features for
      linears, heads for attention, tokens otherwise);
    * an `llm.schedule` of `llm.dispatch` ops, in execution order: each names
      its kernel, binds byte ranges of the runtime's buffers (arena,
      weights, one layer of the KV cache, tokens, logits) with the bytes
      one call reads and writes there, and gives its scalars and grid as
      `#llm.scalar`s of n_tokens, start_pos and logit_rows.

    It forms dispatches and writes kernels; where things live was decided
    before it: weights by `--llm-plan-weights` (`at N` on each `llm.weight`,
    which stay as the packager's weight table), activations by
    `--llm-plan-memory` (`llm.slot` / `llm.scratch`, and `llm.plan` with the
    chunk and the buffer sizes).
  }];
  let options = [
    // The target's loop strategy (targets/Target.h KernelStrategy): chosen
    // by the back end, not here.
    Option<"vectorWidth", "vector-width", "int64_t", "8",
           "f32 lanes per vector op in the kernels (4, 8 or 16)">,
    Option<"accumulators", "accumulators", "int64_t", "4",
           "Independent FMA chains in the kernels' dot products (1..8)">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect"
  ];
}

#endif // LLMC_PASSES
