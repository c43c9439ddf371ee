//===- LLMTypes.td - types of the llm dialect ---------------*- tablegen -*-===//

#ifndef LLMC_DIALECT_LLM_TYPES
#define LLMC_DIALECT_LLM_TYPES

include "dialects/llm/LLMBase.td"

def LLM_KVCacheType : TypeDef<LLM_Dialect, "KVCache"> {
  let mnemonic = "kv_cache";
  let summary = "The key/value cache of every attention layer";
  let description = [{
    An opaque handle on the model's KV cache: for each of `num_layers`
    layers, keys and values for up to `max_context` positions, each row
    `num_kv_heads * head_dim` elements of `dtype`. It is read and written only
    by `llm.kv_read` / `llm.kv_write`, which makes cache traffic explicit for
    the passes that tile and place it.

    Its memory layout is defined here once (`getLayerShape`,
    `getLayerBytes`, `getBytes`): `[num_layers][K, V][max_context][row]`,
    row = `num_kv_heads * head_dim`; the memory plan sizes the buffer with
    it, the kernels bind one layer of it, and the runtime checks the
    artifact's `kv_cache_bytes_per_token` against the same formula.

    `dtype` is `f32`, `f16` or `i8` (llm-tile-kv chooses it). An `i8` cache
    is symmetric int8 with one f32 scale per position and KV head: a layer
    holds the codes `[K, V][max_context][row]`, then the scales
    `[K, V][max_context][num_kv_heads]` (`getScalesOffset`). Positions are
    contiguous, so a cache allocated lazily (the CPU HAL maps it) holds
    pages only for the positions written.

    Example:

    ```mlir
    !llm.kv_cache<num_layers = 16, num_kv_heads = 8, head_dim = 64,
                  max_context = 2048, dtype = f32>
    ```
  }];
  let parameters = (ins
    "int64_t":$num_layers,
    "int64_t":$num_kv_heads,
    "int64_t":$head_dim,
    "int64_t":$max_context,
    EnumParameter<LLM_DType>:$dtype
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRowSize() const { return getNumKvHeads() * getHeadDim(); }
    /// One layer: [K, V][max_context][row] elements.
    ::llvm::SmallVector<int64_t, 3> getLayerShape() const {
      return {2, getMaxContext(), getRowSize()};
    }
    int64_t getElementBytes() const {
      return getDtype() == DType::f32 ? 4 : getDtype() == DType::i8 ? 1 : 2;
    }
    /// i8: where a layer's scales start, after its codes.
    int64_t getScalesOffset() const {
      return 2 * getMaxContext() * getRowSize() * getElementBytes();
    }
    /// i8: [K, V][max_context][num_kv_heads] f32 scales.
    ::llvm::SmallVector<int64_t, 3> getScalesShape() const {
      return {2, getMaxContext(), getNumKvHeads()};
    }
    int64_t getLayerBytes() const {
      int64_t scales = getDtype() == DType::i8
                           ? 2 * getMaxContext() * getNumKvHeads() * 4 : 0;
      return getScalesOffset() + scales;
    }
    /// The whole cache; layer l starts at l * getLayerBytes().
    int64_t getBytes() const { return getNumLayers() * getLayerBytes(); }
  }];
}

#endif // LLMC_DIALECT_LLM_TYPES
