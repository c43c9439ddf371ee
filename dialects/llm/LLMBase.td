//===- LLMBase.td - the llm dialect, its enums and parameters -*- tablegen -*-===//
//
// The `llm` dialect is llmc's target-neutral, tensor-level description of a
// Llama 3 family model. The importer produces it; passes quantize, fuse and
// partition it; targets never see it (they consume the kernel level).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_BASE
#define LLMC_DIALECT_LLM_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::llmc::llm";
  let summary = "Tensor-level operations of Llama 3 family language models";
  let description = [{
    The `llm` dialect describes a decoder-only transformer of the Llama 3
    family at the granularity a model card uses: embedding lookup, RMS norm,
    linear layers against named weights, rotary embeddings, grouped-query
    attention over an explicit KV cache, SwiGLU and residual adds.

    Weights are never bytes in the IR: each is a module-level `llm.weight`
    symbol carrying a `#llm.storage` attribute that says where its bytes live
    (file, tensor name, byte offset, dtype, shape), and optionally a
    `#llm.quant` attribute that says how they are (to be) quantized. Ops that
    consume a weight name it with a symbol reference.

    The model configuration travels on the module as the `llm.config`
    attribute (`#llm.config<...>`), so any pass can read dims, head counts and
    special token ids without re-deriving them from shapes.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute holding the `#llm.config`.
    static constexpr ::llvm::StringLiteral kConfigAttrName = "llm.config";
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def LLM_DType : I32EnumAttr<"DType", "element type of stored weight bytes", [
    I32EnumAttrCase<"f32", 0>,
    I32EnumAttrCase<"f16", 1>,
    I32EnumAttrCase<"bf16", 2>,
    I32EnumAttrCase<"i8", 3>,
    I32EnumAttrCase<"i4", 4>,
    I32EnumAttrCase<"u8", 5>,
    I32EnumAttrCase<"u4", 6>,
    // ggml block formats, as stored in a GGUF file (source storage only),
    // each a run of blocks along a row (ggml-common.h; decoded by
    // dialects/llm/GGMLBlocks.h): q8_0 = blocks of 32 elements, each an f16
    // scale then 32 int8 codes (34 bytes); q4_0 = blocks of 32, an f16
    // scale then 16 bytes of nibbles, element j in the low and j+16 in the
    // high nibble of byte j, x = (nibble - 8) * scale (18 bytes); q4_1,
    // q5_0, q5_1 and iq4_nl = blocks of 32 (20, 22, 24, 18 bytes); the
    // K-quants q2_k .. q6_k = super-blocks of 256 (84, 110, 144, 176, 210
    // bytes).
    I32EnumAttrCase<"q8_0", 7>,
    I32EnumAttrCase<"q4_0", 8>,
    I32EnumAttrCase<"q4_1", 9>,
    I32EnumAttrCase<"q5_0", 10>,
    I32EnumAttrCase<"q5_1", 11>,
    I32EnumAttrCase<"iq4_nl", 12>,
    I32EnumAttrCase<"q2_k", 13>,
    I32EnumAttrCase<"q3_k", 14>,
    I32EnumAttrCase<"q4_k", 15>,
    I32EnumAttrCase<"q5_k", 16>,
    I32EnumAttrCase<"q6_k", 17>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::llmc::llm";
}

// Quantization schemes. New schemes (k-quants, float8, ...) are new cases
// here plus the parameters they need; existing IR keeps its meaning.
def LLM_QuantScheme : I32EnumAttr<"QuantScheme", "weight quantization scheme", [
    // Stored as a plain float dtype (`scale_dtype` unused): f16 or bf16 storage
    // of an f32 model.
    I32EnumAttrCase<"float_cast", 0>,
    // Integers in groups of `group_size` consecutive elements along the input
    // (reduction) dimension, each group with a scale (and a zero point when
    // `zero_point` is asymmetric). group_size 0 means one group per row
    // (per output channel).
    I32EnumAttrCase<"int_group", 1>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::llmc::llm";
}

def LLM_ZeroPoint : I32EnumAttr<"ZeroPoint", "integer quantization zero point", [
    I32EnumAttrCase<"symmetric", 0>,
    I32EnumAttrCase<"asymmetric", 1>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::llmc::llm";
}

// The `rope_type`s that transformers writes for Llama; `default` is the
// absence of a #llm.rope_scaling.
def LLM_RopeType : I32EnumAttr<"RopeType", "rotary embedding frequency scaling", [
    // Llama 3.1's piecewise scaling: low frequencies divided by `factor`,
    // high frequencies unchanged, a smooth blend in between.
    I32EnumAttrCase<"llama3", 0>,
    // Position interpolation: every frequency divided by `factor`.
    I32EnumAttrCase<"linear", 1>,
    // Dynamic NTK: the base grows once a sequence passes the model's
    // max_position_embeddings; below it the frequencies are the default ones.
    I32EnumAttrCase<"dynamic", 2>,
    // YaRN: a ramp between interpolated and extrapolated frequencies, and
    // cos/sin scaled by `attention_factor`.
    I32EnumAttrCase<"yarn", 3>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::llmc::llm";
}

// What a weight is in a Llama: set by the importers, which know, and read
// by the passes that treat weights differently (quantization policy), so no
// pass guesses from tensor names.
def LLM_WeightRole : I32EnumAttr<"WeightRole", "what a weight is in the model", [
    I32EnumAttrCase<"embed", 0>,
    I32EnumAttrCase<"attn_norm", 1>,
    I32EnumAttrCase<"attn_q", 2>,
    I32EnumAttrCase<"attn_k", 3>,
    I32EnumAttrCase<"attn_v", 4>,
    I32EnumAttrCase<"attn_o", 5>,
    I32EnumAttrCase<"mlp_norm", 6>,
    I32EnumAttrCase<"mlp_gate", 7>,
    I32EnumAttrCase<"mlp_up", 8>,
    I32EnumAttrCase<"mlp_down", 9>,
    I32EnumAttrCase<"final_norm", 10>,
    I32EnumAttrCase<"lm_head", 11>,
    // Made by llm-fuse: q, k and v rows in one; gate then up rows in one.
    I32EnumAttrCase<"attn_qkv", 12>,
    I32EnumAttrCase<"mlp_gate_up", 13>
  ]> {
  let cppNamespace = "::llmc::llm";
}

// The buffers a dispatch binds. Each is one allocation the runtime (or a
// GPU HAL) owns; a binding is a byte range inside one of them.
def LLM_BufferSpace : I32EnumAttr<"BufferSpace", "buffer a dispatch binding points into", [
    I32EnumAttrCase<"arena", 0>,    // activations and scratch, planned here
    I32EnumAttrCase<"weights", 1>,  // the artifact's weights segment
    I32EnumAttrCase<"kv_cache", 2>, // [layers][K|V][max_context][row] f32
    I32EnumAttrCase<"tokens", 3>,   // the chunk's token ids (i32)
    I32EnumAttrCase<"logits", 4>    // [logit rows][vocab] f32, the caller's
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::llmc::llm";
}

//===----------------------------------------------------------------------===//
// Parameters whose printed form the generic FieldParser cannot handle.
//===----------------------------------------------------------------------===//

// A double (held as an APFloat, which hashes and compares bitwise) printed in
// its shortest round-tripping form.
class LLM_F64Parameter<string desc> : AttrOrTypeParameter<"::llvm::APFloat", desc> {
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
  let parser = [{ ::llmc::llm::parseF64Param($_parser) }];
  let printer = [{ ::llmc::llm::printF64Param($_printer, $_self) }];
}

// An LLM_F64Parameter that may be left out; it is then `value` and is not
// printed.
class LLM_F64DefaultParameter<string value, string desc>
    : LLM_F64Parameter<desc> {
  let defaultValue = "::llvm::APFloat(" # value # ")";
}

// `true` / `false`.
class LLM_BoolParameter<string desc> : AttrOrTypeParameter<"bool", desc> {
  let parser = [{ ::llmc::llm::parseBoolParam($_parser) }];
  let printer = [{ $_printer << ($_self ? "true" : "false") }];
}

class LLM_BoolDefaultParameter<string value, string desc>
    : LLM_BoolParameter<desc> {
  let defaultValue = value;
}

// `[a, b, c]`, possibly empty.
class LLM_I64ListParameter<string desc>
    : AttrOrTypeParameter<"::llvm::ArrayRef<int64_t>", desc> {
  let allocator = [{$_dst = $_allocator.copyInto($_self);}];
  let cppStorageType = "::llvm::SmallVector<int64_t>";
  let parser = [{ ::llmc::llm::parseI64ListParam($_parser) }];
  let printer = [{ ::llmc::llm::printI64ListParam($_printer, $_self) }];
}

#endif // LLMC_DIALECT_LLM_BASE
