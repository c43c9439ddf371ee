#!/usr/bin/env python3
"""Writes a Llama 3 8B-sized Hugging Face checkpoint whose tensor data is a hole.

Usage:  make_sparse_checkpoint.py OUT_DIR

OUT_DIR gets config.json (meta-llama/Meta-Llama-3-8B's sizes), four shards
model-0000N-of-00004.safetensors and model.safetensors.index.json.  Every shard has a
correct safetensors header (all 291 tensors, BF16, the real shapes, contiguous
data_offsets) and is then extended to its full size with truncate(): ~16 GB of logical
size, a few KB on disk, written in milliseconds.  The data reads back as zeros; this
checkpoint is for measuring what the importer touches (headers only), not for running.
"""

import json
import os
import struct
import sys

CONFIG = {
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
NUM_SHARDS = 4
BF16_BYTES = 2


def tensors(c):
    """(name, shape) of a LlamaForCausalLM, in model order."""
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = d // c["num_attention_heads"]
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
    out += [("model.norm.weight", [d]), ("lm_head.weight", [v, d])]
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
    if len(argv) != 2:
        sys.exit(__doc__)
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    ts = tensors(CONFIG)
    weight_map, total = {}, 0
    for i, shard in enumerate(split(ts, NUM_SHARDS)):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, NUM_SHARDS)
        total += write_sparse_safetensors(os.path.join(out, name), shard)
        for t, _ in shard:
            weight_map[t] = name
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")
    print("%d tensors, %d bytes of bf16 data in %d shards"
          % (len(ts), total, NUM_SHARDS))


if __name__ == "__main__":
    main(sys.argv)
