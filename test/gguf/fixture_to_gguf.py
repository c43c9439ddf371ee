#!/usr/bin/env python3
"""Converts one of our Hugging Face fixtures (test/fixtures/gen_fixtures.py) to GGUF.

Usage: fixture_to_gguf.py MODEL_DIR OUT.gguf [--type f32|f16|bf16|q8_0|q4_0|q4_1]
                          [--bad KIND]

Writes what llama.cpp's convert_hf_to_gguf.py (LlamaModel) writes for a Llama 3
checkpoint, with the PyPI `gguf` package's GGUFWriter:
  * llama.* hyper-parameters (context/embedding/feed-forward length, block and
    head counts, rope.freq_base, rope.dimension_count, key/value length,
    layer_norm_rms_epsilon, vocab_size), general.file_type;
  * tensors under ggml names (token_embd, blk.N.attn_q, ..., output_norm,
    output; no output when the embeddings are tied), ggml dims reversed;
  * the q_proj / k_proj rows permuted per head for ggml's interleaved rope
    (reshape [heads, 2, head_dim/2, in] -> swap axes 1 and 2), k with the
    kv-head count;
  * Llama 3.1 rope scaling as rope_freqs.weight: one divisor per rotary
    frequency;
  * the tokenizer as tokenizer.ggml.* (model "gpt2", pre "llama-bpe", tokens,
    token types: normal / control (special added tokens) / user-defined /
    unused holes, merges, special ids and chat template via gguf.SpecialVocab),
    when the fixture has a tokenizer.json; otherwise tokenizer.ggml.model
    "none" (what llama.cpp expects of a vocabulary-less file) and the bos /
    eos ids of config.json (SpecialVocab's fallback).
--type mixed: the 2-D weights take the ggml block formats in turn (Q2_K,
Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, Q4_1, Q5_0, Q5_1, Q8_0, Q4_0; the
K-quants only where a row is whole super-blocks of 256). gguf-py quantizes
the 32-element formats but not the K-quants or IQ4_NL: their blocks are
random bytes with the f16 scales set so the values have the weight's
spread (a random model, for checking numerics, not text). --type q6_k
(q4_k): every 2-D weight whose rows are whole super-blocks in Q6_K (Q4_K;
random blocks as above), the others in Q8_0.
--dequantized DIR also writes DIR, a Hugging Face checkpoint (F32) of the
values the GGUF file holds as the `gguf` package dequantizes them (q / k
rows back in Hugging Face order), with the fixture's config and tokenizer:
the independent reference for a build of the file.

--type: 2-D weights in F32, F16, BF16, Q8_0, Q4_0 or Q4_1
(gguf.quants.quantize); norms and rope_freqs stay F32 as llama.cpp keeps
them. In q4_0 and q4_1 mode token_embd and output are Q8_0, mirroring
llmc's q4_g32 preset with q8 tables (`--quant-override
embed=q8,lm_head=q8`), so a kept Q4_0 build equals that build.

Deviation from llama.cpp: the converter reads original_max_position_embeddings
from the top level of config.json (default 8192) when it computes
rope_freqs, where transformers reads rope_scaling's; Llama 3.1 / 3.2 have 8192
in both. The llama31-rope fixture has 64 in rope_scaling only, so this script
uses rope_scaling's value, as transformers does, and records it as
llama.rope.scaling.original_context_length (and the factor as
llama.rope.scaling.factor) when it is not 8192.

--rope-scaling FACTOR,ORIG replaces the fixture's rope_scaling (e.g. 8,8192 as
in Llama 3.1, whose table carries no metadata).

--bad KIND writes a file llmc must refuse: arch (general.architecture gpt2),
type (blk.0.attn_k.weight as MXFP4), missing (no blk.1.attn_v.weight), shape
(llama.feed_forward_length 96 for 128-wide tensors), unknown (an extra
blk.0.attn_q.bias), rope (a rope_freqs table of no known scaling), tokenizer
(tokenizer.ggml.model "llama", SentencePiece).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import gguf
from gguf.constants import GGMLQuantizationType as Q


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        else:
            raise SystemExit(f"{path}: {name}: unsupported dtype {info['dtype']}")
        out[name] = a.reshape(info["shape"]).astype(np.float32)
    return out


def read_checkpoint(d):
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for f in files:
        tensors.update(read_safetensors(os.path.join(d, f)))
    return tensors


def permute(w, n_head):
    """llama.cpp's LlamaModel.permute: HF rotate-half row order -> interleaved."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def rope_factors(cfg, head_dim):
    rs = cfg["rope_scaling"]
    base = cfg.get("rope_theta", 10000.0)
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    factor = rs.get("factor", 8.0)
    low = rs.get("low_freq_factor", 1.0)
    high = rs.get("high_freq_factor", 4.0)
    orig = rs.get("original_max_position_embeddings", 8192)  # see the docstring
    low_wl, high_wl = orig / low, orig / high
    out = []
    for f in freqs:
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            s = (orig / wl - low) / (high - low)
            out.append(1 / ((1 - s) / factor + s))
    return np.array(out, dtype=np.float32)


def vocab_from_tokenizer_json(d, vocab_size):
    """tokens, types as convert_hf_to_gguf's get_vocab_base (no transformers)."""
    tok = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    reverse = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(vocab_size):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i]["special"]
                         else gguf.TokenType.USER_DEFINED)
        elif i in reverse:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    return tokens, types


MIXED = [Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.IQ4_NL, Q.Q4_1, Q.Q5_0,
         Q.Q5_1, Q.Q8_0, Q.Q4_0]
# Byte offsets of the f16 scale fields (ggml-common.h) of the formats
# gguf-py cannot quantize.
HALF_FIELDS = {Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2],
               Q.Q6_K: [208], Q.IQ4_NL: [0]}


def random_blocks(a, qt, rng):
    """Blocks of qt with random codes and sub-scales, values spread as a's."""
    elems, nbytes = gguf.quants.GGML_QUANT_SIZES[qt]
    nblocks = a.size // elems
    raw = rng.integers(0, 256, size=(nblocks, nbytes), dtype=np.uint8)
    one = np.frombuffer(np.float16(1.0).tobytes(), np.uint8)
    for off in HALF_FIELDS[qt]:
        raw[:, off:off + 2] = one
    spread = gguf.quants.dequantize(raw.reshape(-1), qt).std()
    scale = np.frombuffer(np.float16(a.std() / spread).tobytes(), np.uint8)
    for off in HALF_FIELDS[qt]:
        raw[:, off:off + 2] = scale
    return raw.reshape(a.shape[0], -1)


def unpermute(w, n_head):
    """The inverse of permute()."""
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write(model_dir, out, qtype, bad, rope_scaling=None, dequantized=None):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    if rope_scaling:
        factor, orig = rope_scaling.split(",")
        cfg["rope_scaling"] = {"rope_type": "llama3", "factor": float(factor),
                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": int(orig)}
    t = read_checkpoint(model_dir)
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    vocab = cfg["vocab_size"]

    w = gguf.GGUFWriter(out, "gpt2" if bad == "arch" else "llama")
    arch = w.arch
    w.add_name(os.path.basename(os.path.normpath(model_dir)))
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(96 if bad == "shape" else cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    if "head_dim" in cfg:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type({"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "bf16": 32,
                     "mixed": 15, "q6_k": 18, "q4_k": 14}[qtype])
    # 15: Q4_K_M, 18: Q6_K, 14: Q4_K_S
    w.add_vocab_size(vocab)
    w.add_rope_dimension_count(head_dim)
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":
        orig = rs.get("original_max_position_embeddings", 8192)
        if orig != 8192:
            w.add_rope_scaling_factor(rs.get("factor", 8.0))
            w.add_rope_scaling_orig_ctx_len(orig)

    # Tokenizer.
    if os.path.exists(os.path.join(model_dir, "tokenizer.json")):
        tokens, types = vocab_from_tokenizer_json(model_dir, vocab)
        w.add_tokenizer_model("llama" if bad == "tokenizer" else "gpt2")
        w.add_tokenizer_pre("llama-bpe")
        w.add_token_list(tokens)
        w.add_token_types(types)
        sv = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=len(tokens))
    else:
        # No vocabulary: llama.cpp then wants the model named "none" (it
        # refuses a file without the key); llmc takes a file without tokens
        # as tokenizer-less either way.
        w.add_tokenizer_model("none")
        sv = gguf.SpecialVocab(model_dir, load_merges=False, n_vocab=vocab)
    sv.add_to_gguf(w, quiet=True)

    rng = np.random.default_rng(7)
    mixed = iter(MIXED * 64)
    ref = {}  # GGUF name -> the values the file holds (dequantized)

    def put(name, a, big):
        """2-D weights in qtype, 1-D in F32 (as llama.cpp)."""
        a = np.ascontiguousarray(a, dtype=np.float32)
        kind = qtype
        if qtype in ("mixed", "q6_k", "q4_k") and a.ndim == 2:
            if qtype in ("q6_k", "q4_k"):
                k = Q.Q6_K if qtype == "q6_k" else Q.Q4_K
                qt = k if a.shape[1] % 256 == 0 else Q.Q8_0
            else:
                qt = next(mixed)
            while gguf.quants.GGML_QUANT_SIZES[qt][0] == 256 and a.shape[1] % 256:
                qt = next(mixed)
            raw = (random_blocks(a, qt, rng) if qt in HALF_FIELDS
                   else gguf.quants.quantize(a, qt))
            w.add_tensor(name, raw, raw_dtype=qt)
            ref[name] = gguf.quants.dequantize(raw, qt).reshape(a.shape)
            return
        ref[name] = a
        if a.ndim == 1:
            kind = "f32"
        elif qtype in ("q4_0", "q4_1") and big:
            kind = "q8_0"
        if bad == "type" and name == "blk.0.attn_k.weight":
            blocks = a.shape[0] * a.shape[1] // 32
            raw = np.zeros((a.shape[0], blocks // a.shape[0] * 17), dtype=np.uint8)
            w.add_tensor(name, raw, raw_dtype=Q.MXFP4)
            return
        if kind == "f32":
            w.add_tensor(name, a)
        elif kind == "f16":
            w.add_tensor(name, a.astype(np.float16))
        else:
            qt = {"bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1}[kind]
            w.add_tensor(name, gguf.quants.quantize(a, qt), raw_dtype=qt)

    if rs and rs.get("rope_type") == "llama3":
        table = rope_factors(cfg, head_dim)
        if bad == "rope":
            table = np.linspace(1.0, 3.0, len(table), dtype=np.float32)
        w.add_tensor("rope_freqs.weight", table)
    put("token_embd.weight", t["model.embed_tokens.weight"], True)
    for i in range(cfg["num_hidden_layers"]):
        p, g = f"model.layers.{i}.", f"blk.{i}."
        put(g + "attn_norm.weight", t[p + "input_layernorm.weight"], False)
        put(g + "attn_q.weight", permute(t[p + "self_attn.q_proj.weight"], n_head), False)
        put(g + "attn_k.weight", permute(t[p + "self_attn.k_proj.weight"], n_kv), False)
        if not (bad == "missing" and i == 1):
            put(g + "attn_v.weight", t[p + "self_attn.v_proj.weight"], False)
        put(g + "attn_output.weight", t[p + "self_attn.o_proj.weight"], False)
        if bad == "unknown" and i == 0:
            put(g + "attn_q.bias", np.zeros(n_head * head_dim, np.float32), False)
        put(g + "ffn_norm.weight", t[p + "post_attention_layernorm.weight"], False)
        put(g + "ffn_gate.weight", t[p + "mlp.gate_proj.weight"], False)
        put(g + "ffn_up.weight", t[p + "mlp.up_proj.weight"], False)
        put(g + "ffn_down.weight", t[p + "mlp.down_proj.weight"], False)
    put("output_norm.weight", t["model.norm.weight"], False)
    if not cfg.get("tie_word_embeddings") and "lm_head.weight" in t:
        put("output.weight", t["lm_head.weight"], True)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    del arch
    if dequantized:
        write_dequantized(model_dir, dequantized, cfg, ref)


def write_dequantized(model_dir, out_dir, cfg, ref):
    import shutil
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(model_dir):
        if f.endswith(".json") and not f.startswith("model.safetensors"):
            shutil.copy(os.path.join(model_dir, f), out_dir)
    hf = {"model.embed_tokens.weight": ref["token_embd.weight"],
          "model.norm.weight": ref["output_norm.weight"]}
    if "output.weight" in ref:
        hf["lm_head.weight"] = ref["output.weight"]
    for i in range(cfg["num_hidden_layers"]):
        p, g = f"model.layers.{i}.", f"blk.{i}."
        hf[p + "input_layernorm.weight"] = ref[g + "attn_norm.weight"]
        hf[p + "self_attn.q_proj.weight"] = unpermute(ref[g + "attn_q.weight"], n_head)
        hf[p + "self_attn.k_proj.weight"] = unpermute(ref[g + "attn_k.weight"], n_kv)
        hf[p + "self_attn.v_proj.weight"] = ref[g + "attn_v.weight"]
        hf[p + "self_attn.o_proj.weight"] = ref[g + "attn_output.weight"]
        hf[p + "post_attention_layernorm.weight"] = ref[g + "ffn_norm.weight"]
        hf[p + "mlp.gate_proj.weight"] = ref[g + "ffn_gate.weight"]
        hf[p + "mlp.up_proj.weight"] = ref[g + "ffn_up.weight"]
        hf[p + "mlp.down_proj.weight"] = ref[g + "ffn_down.weight"]
    write_safetensors(os.path.join(out_dir, "model.safetensors"), hf)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--type", default="f32",
                    choices=["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "mixed",
                             "q6_k", "q4_k"])
    ap.add_argument("--dequantized", metavar="DIR",
                    help="also write the file's values as an F32 Hugging Face "
                         "checkpoint in DIR")
    ap.add_argument("--bad", choices=["arch", "type", "missing", "shape", "unknown",
                                      "rope", "tokenizer"])
    ap.add_argument("--rope-scaling", metavar="FACTOR,ORIG",
                    help="replace config.json's rope_scaling by llama3 scaling "
                         "with this factor and original context (low 1, high 4)")
    args = ap.parse_args()
    write(args.model_dir, args.out, args.type, args.bad, args.rope_scaling,
          args.dequantized)
    return 0


if __name__ == "__main__":
    sys.exit(main())
