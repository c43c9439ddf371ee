#!/usr/bin/env python3
"""Writes a Llama 3 family checkpoint whose tensor data is a hole.

Usage:  make_sparse_checkpoint.py OUT_DIR [--model NAME]

NAME (default llama3-8b) is one of the published configs below, copied from
the config.json of meta-llama/Meta-Llama-3-8B, Llama-3.1-8B, Llama-3.2-1B and
Llama-3.2-3B on the Hugging Face hub: llama3-8b, llama31-8b, llama32-1b,
llama32-3b. OUT_DIR gets config.json and the shards as the hub has them
(model-0000N-of-0000M.safetensors and model.safetensors.index.json, or one
model.safetensors). Every shard has a correct safetensors header (every
tensor, BF16, the real shapes, contiguous data_offsets) and is then extended
to its full size with truncate(): gigabytes of logical size, a few KB on
disk, written in milliseconds. The data reads back as zeros: this checkpoint
is for measuring what the compiler touches and holds (memory, bytes, plan),
not for text.
"""

import json
import os
import struct
import sys

LLAMA3_8B = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 8192,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}

# meta-llama/Llama-3.1-8B: 128k context with llama3 rope scaling, three
# end-of-sequence ids.
LLAMA31_8B = dict(LLAMA3_8B,
                  eos_token_id=[128001, 128008, 128009],
                  max_position_embeddings=131072,
                  rope_scaling={"factor": 8.0, "high_freq_factor": 4.0,
                                "low_freq_factor": 1.0,
                                "original_max_position_embeddings": 8192,
                                "rope_type": "llama3"},
                  transformers_version="4.43.0.dev0")
# meta-llama/Llama-3.2-1B and -3B: tied embeddings, head_dim written out,
# rope scaling factor 32.
LLAMA32_1B = dict(LLAMA31_8B,
                  eos_token_id=128001,
                  head_dim=64,
                  hidden_size=2048,
                  intermediate_size=8192,
                  num_attention_heads=32,
                  num_hidden_layers=16,
                  rope_scaling=dict(LLAMA31_8B["rope_scaling"], factor=32.0),
                  tie_word_embeddings=True,
                  transformers_version="4.45.0.dev0")
LLAMA32_3B = dict(LLAMA32_1B,
                  head_dim=128,
                  hidden_size=3072,
                  num_attention_heads=24,
                  num_hidden_layers=28)
# name -> (config, shards as on the hub)
MODELS = {"llama3-8b": (LLAMA3_8B, 4), "llama31-8b": (LLAMA31_8B, 4),
          "llama32-1b": (LLAMA32_1B, 1), "llama32-3b": (LLAMA32_3B, 2)}
BF16_BYTES = 2


def tensors(c):
    """(name, shape) of a LlamaForCausalLM, in model order."""
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = c.get("head_dim") or d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", [v, d])]
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out += [(p + "input_layernorm.weight", [d]),
                (p + "self_attn.q_proj.weight", [q, d]),
                (p + "self_attn.k_proj.weight", [kv, d]),
                (p + "self_attn.v_proj.weight", [kv, d]),
                (p + "self_attn.o_proj.weight", [d, q]),
                (p + "post_attention_layernorm.weight", [d]),
                (p + "mlp.gate_proj.weight", [f, d]),
                (p + "mlp.up_proj.weight", [f, d]),
                (p + "mlp.down_proj.weight", [d, f])]
    out += [("model.norm.weight", [d])]
    if not c["tie_word_embeddings"]:
        out += [("lm_head.weight", [v, d])]
    return out


def nbytes(shape):
    n = BF16_BYTES
    for s in shape:
        n *= s
    return n


def split(ts, n):
    """Consecutive runs of tensors, each about 1/n of the total (as
    save_pretrained's max_shard_size does)."""
    total = sum(nbytes(s) for _, s in ts)
    shards, cur, size = [], [], 0
    for t in ts:
        b = nbytes(t[1])
        if cur and size + b > total / n and len(shards) < n - 1:
            shards.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += b
    shards.append(cur)
    assert len(shards) == n, len(shards)
    return shards


def write_sparse_safetensors(path, ts):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in sorted(ts):
        header[name] = {"dtype": "BF16", "shape": shape,
                        "data_offsets": [offset, offset + nbytes(shape)]}
        offset += nbytes(shape)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - (8 + len(hjson)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        f.truncate(8 + len(hjson) + offset)  # the data: a hole, no blocks
    return offset


def main(argv):
    args = argv[1:]
    name = "llama3-8b"
    if len(args) == 3 and args[1] == "--model" and args[2] in MODELS:
        name = args[2]
        args = args[:1]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    config, num_shards = MODELS[name]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    ts = tensors(config)
    if num_shards == 1:
        total = write_sparse_safetensors(os.path.join(out, "model.safetensors"), ts)
    else:
        weight_map, total = {}, 0
        for i, shard in enumerate(split(ts, num_shards)):
            fname = "model-%05d-of-%05d.safetensors" % (i + 1, num_shards)
            total += write_sparse_safetensors(os.path.join(out, fname), shard)
            for t, _ in shard:
                weight_map[t] = fname
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total},
                       "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
            f.write("\n")
    print("%d tensors, %d bytes of bf16 data in %d shard%s"
          % (len(ts), total, num_shards, "" if num_shards == 1 else "s"))


if __name__ == "__main__":
    main(sys.argv)
