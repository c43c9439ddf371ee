#!/usr/bin/env python3
"""Writes a random checkpoint with the exact shapes of Llama-3.2-1B (Hugging Face layout).

Usage:  python3 bench/make_llama32_1b_checkpoint.py OUT_DIR [--dtype bf16|f32] [--seed N]
            [--shape llama-3.2-1b|llama-3-8b] [--layers N] [--vocab N]

OUT_DIR gets config.json and generation_config.json (those of
meta-llama/Llama-3.2-1B-Instruct) and one model.safetensors holding the 146 tensors of a
LlamaForCausalLM with tied embeddings (no lm_head.weight), 1,235,814,400 parameters:
2.47 GB in bf16 (the default, as published), 4.94 GB in f32.  No tokenizer is written.

Weights: projections and embeddings N(0, 0.02) (the config's initializer_range), norm
weights 1 + N(0, 0.02).  Deterministic: each tensor has its own stream seeded with
(seed, crc32(name)).  The values are random, so the model's output is noise; the
checkpoint is for measuring the compiler and runtime (time, memory, throughput), not
quality.

Memory stays bounded (about 100 MB): the header is computed from the shapes, then each
tensor is generated and appended in chunks of CHUNK elements.  Needs numpy only.
"""

import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 8192,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 32.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.45.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}

# Llama-3-8B (meta-llama/Meta-Llama-3-8B-Instruct's config.json): the
# shape the GPU presets are also judged on. 8,030,261,248 parameters.
LLAMA3_8B = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 8192,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "eos_token_id": [128001, 128009],
}

GENERATION_CONFIG = {
    "bos_token_id": 128000,
    "do_sample": True,
    "eos_token_id": [128001, 128008, 128009],
    "temperature": 0.6,
    "top_p": 0.9,
    "transformers_version": "4.45.0.dev0",
}

STD = 0.02
CHUNK = 1 << 22  # elements generated and written at a time (16 MB of f32)
DTYPES = {"bf16": ("BF16", 2), "f32": ("F32", 4)}


def tensors(c):
    """(name, shape) of the LlamaForCausalLM of config `c`."""
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = c.get("head_dim") or d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", (v, d))]
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out += [(p + "input_layernorm.weight", (d,)),
                (p + "self_attn.q_proj.weight", (q, d)),
                (p + "self_attn.k_proj.weight", (kv, d)),
                (p + "self_attn.v_proj.weight", (kv, d)),
                (p + "self_attn.o_proj.weight", (d, q)),
                (p + "post_attention_layernorm.weight", (d,)),
                (p + "mlp.gate_proj.weight", (f, d)),
                (p + "mlp.up_proj.weight", (f, d)),
                (p + "mlp.down_proj.weight", (d, f))]
    out.append(("model.norm.weight", (d,)))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (v, d)))
    return out


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def write_chunk(f, x, dtype):
    """Appends f32 array `x` to `f` as little-endian `dtype`."""
    if dtype == "f32":
        x.astype("<f4", copy=False).tofile(f)
        return
    # bf16: the upper 16 bits of the f32 pattern, rounded to nearest even
    # (no NaN/inf here).  In place on the chunk's own buffer.
    u = x.view(np.uint32)
    lsb = (u >> 16) & 1
    lsb += 0x7FFF
    u += lsb
    u >>= 16
    u.astype("<u2").tofile(f)


def write_tensor(f, seed, name, shape, dtype):
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    is_norm = len(shape) == 1
    left = numel(shape)
    while left:
        n = min(left, CHUNK)
        x = rng.standard_normal(n, dtype=np.float32)
        x *= STD
        if is_norm:
            x += 1.0
        write_chunk(f, x, dtype)
        left -= n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16",
                    help="storage dtype of every tensor (default bf16, as published)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", choices=["llama-3.2-1b", "llama-3-8b"],
                    default="llama-3.2-1b",
                    help="model shape (default llama-3.2-1b; llama-3-8b: "
                         "16 GB in bf16, or a slice of it with --layers)")
    ap.add_argument("--layers", type=int, default=None,
                    help="decoder layers (default: the shape's, 16 or 32; "
                         "fewer: a slice of the shape, e.g. for counting "
                         "instructions under an emulator, bench/insn_count.py)")
    ap.add_argument("--vocab", type=int, default=CONFIG["vocab_size"],
                    help="vocabulary (default 128256; a smaller one makes "
                         "bos 1 and eos 2)")
    args = ap.parse_args()
    st_dtype, esize = DTYPES[args.dtype]
    t0 = time.time()

    os.makedirs(args.out_dir, exist_ok=True)
    base = dict(CONFIG, **LLAMA3_8B) if args.shape == "llama-3-8b" else CONFIG
    config = dict(base, torch_dtype="bfloat16" if args.dtype == "bf16" else "float32",
                  num_hidden_layers=args.layers or base["num_hidden_layers"],
                  vocab_size=args.vocab)
    if config["rope_scaling"] is None:
        del config["rope_scaling"]
    generation = dict(GENERATION_CONFIG)
    if args.vocab <= CONFIG["bos_token_id"]:
        for c in (config, generation):
            c.update(bos_token_id=1, eos_token_id=[2])
    for fname, obj in (("config.json", config),
                       ("generation_config.json", generation)):
        with open(os.path.join(args.out_dir, fname), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")

    # Header first (offsets follow from the shapes), data in header order.
    ts = sorted(tensors(config))
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in ts:
        nbytes = numel(shape) * esize
        header[name] = {"dtype": st_dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - (8 + len(hjson)) % 8) % 8)  # data 8-byte aligned

    path = os.path.join(args.out_dir, "model.safetensors")
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for i, (name, shape) in enumerate(ts):
            write_tensor(f, args.seed, name, shape, args.dtype)
            if sys.stderr.isatty():
                sys.stderr.write("\r%3d/%d %s" % (i + 1, len(ts), name.ljust(48)))
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        assert f.tell() == 8 + len(hjson) + offset
    os.replace(tmp, path)
    params = sum(numel(s) for _, s in ts)
    print("%s: %d tensors, %d parameters, %d bytes (%s) in %.1f s"
          % (path, len(ts), params, 8 + len(hjson) + offset, args.dtype,
             time.time() - t0))


if __name__ == "__main__":
    main()
