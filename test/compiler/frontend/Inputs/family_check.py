#!/usr/bin/env python3
"""Checks `llmc inspect` of a q4_g32 build against its config.json.

Usage:  family_check.py CONFIG_JSON INSPECT_OUTPUT

From the published config alone (not from llmc): the weight bytes of the
q4_g32 preset (the attention and MLP matrices int4 with an f16 scale per 32,
4.5 bits a weight; the embedding and an untied lm_head, on a CPU target,
int6 with an f16 scale per 32, 6.5 bits; norms folded into the linears, so
not stored), and
the f32 KV cache's bytes per token (2 x layers x kv heads x head dim x 4).
The artifact's weights may exceed the estimate only by its 64-byte alignment
of each part (well under 0.1%). Also checks the architecture line, the rope
and the end-of-sequence ids. Prints one OK line per check, or FAIL.
"""
import json
import re
import sys


def main(cfg_path, inspect_path):
    c = json.load(open(cfg_path))
    text = open(inspect_path).read()
    d, f, v, L = (c["hidden_size"], c["intermediate_size"], c["vocab_size"],
                  c["num_hidden_layers"])
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or d // heads
    linear = L * (d * heads * hd + 2 * d * kv * hd + heads * hd * d + 3 * d * f)
    table = v * d * (1 if c["tie_word_embeddings"] else 2)
    expect = (linear * 4.5 + table * 6.5) / 8
    ok = True

    def check(cond, msg):
        nonlocal ok
        ok = ok and cond
        print(("OK: " if cond else "FAIL: ") + msg)

    m = re.search(r"weights:\s+\d+ tensors, ([0-9.]+) MB", text)
    got = float(m.group(1)) * 1e6
    check(expect * 0.9999 <= got <= expect * 1.001,
          "weights %.2f MB, %.2f MB from the config" % (got / 1e6, expect / 1e6))
    m = re.search(r"kv cache:\s+[0-9.]+ MB \((\d+) bytes per token\)", text)
    check(int(m.group(1)) == 2 * L * kv * hd * 4,
          "kv cache %s bytes per token" % m.group(1))
    model = "%d layers, hidden %d, ffn %d, %d heads / %d kv heads x %d, vocab %d" % (
        L, d, f, heads, kv, hd, v)
    check(model in text, "model: " + model)
    eos = c["eos_token_id"] if isinstance(c["eos_token_id"], list) else [c["eos_token_id"]]
    line = "bos / eos:     %d / %s" % (c["bos_token_id"], " ".join(map(str, eos)))
    check(line in text, line)
    rs = c.get("rope_scaling")
    rope = ("llama3 scaling x%g" % rs["factor"]) if rs else "theta %g\n" % c["rope_theta"]
    check(rope in text, "rope: " + rope.strip())
    check(("tied embed:    %s" % ("yes" if c["tie_word_embeddings"] else "no")) in text,
          "tied embeddings: %s" % c["tie_word_embeddings"])
    m = re.search(r"memory:\s+([0-9.]+) MB at max context", text)
    check(m is not None, "memory at max context: %s MB" % (m.group(1) if m else "?"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(*sys.argv[1:])
