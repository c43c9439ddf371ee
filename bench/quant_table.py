#!/usr/bin/env python3
"""Quantization table: llmc presets beside llama.cpp, same model, same text.

    python3 bench/quant_table.py [--model examples/kjv-llama]
                                 [--text examples/kjv-llama/heldout.txt]
                                 [--ctx 256] [--llmc build/bin/llmc]

For every llmc preset: artifact size, bits per weight (of all weights), the
perplexity of the held-out text and its change against f32, the mean KL
divergence and top-1 agreement against the f32 build (`llmc perplexity
--ref`), and decode tokens per second (`llmc run`).

Beside it, llama.cpp (PyPI llama-cpp-python, one thread like llmc): the same
checkpoint converted to an F32 GGUF (test/gguf/fixture_to_gguf.py, which
writes what llama.cpp's converter writes), quantized by llama.cpp's own
quantizer to Q8_0 and Q4_0, scored on exactly the same token windows
(BOS first, second half of each window scored, as `llama-perplexity` does),
with KL divergence against llama.cpp's F32.

Prints a Markdown table; docs/quantization.md records it.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PRESETS = ["f32", "f16", "q8", "q4_g128", "q4_g32", "q4_g128_asym", "q4f16_g128"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def param_count(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    d, f, L, v = (cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"],
                  cfg["vocab_size"])
    hd = cfg.get("head_dim") or d // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    per_layer = d * q + 2 * d * kv + q * d + 3 * d * f + 2 * d
    n = v * d + L * per_layer + d
    if not cfg.get("tie_word_embeddings"):
        n += v * d
    return n


def llmc_rows(args, work, nparams):
    rows = []
    f32 = os.path.join(work, "f32.llmc")
    for preset in PRESETS:
        art = os.path.join(work, f"{preset}.llmc")
        sh([args.llmc, "build", args.model, "-o", art, "--quantization", preset])
        info = sh([args.llmc, "inspect", art]).stdout
        wmb = float(re.search(r"weights:\s+\d+ tensors, ([\d.]+) MB", info).group(1))
        cmd = [args.llmc, "perplexity", art, "--file", args.text, "--ctx", str(args.ctx)]
        if preset != "f32":
            cmd += ["--ref", f32]
        out = sh(cmd).stdout
        ppl = float(re.search(r"perplexity: ([\d.]+) \+/- ([\d.]+)", out).group(1))
        unc = float(re.search(r"perplexity: ([\d.]+) \+/- ([\d.]+)", out).group(2))
        kl = re.search(r"mean KL divergence \(reference \|\| model\): ([\d.]+)", out)
        top1 = re.search(r"top-1 agreement: ([\d.]+)%", out)
        tps = 0.0
        for _ in range(3):  # best of three: a 0.1 s run is easily disturbed
            run = sh([args.llmc, "run", art, "-p", "And the LORD said unto Moses",
                      "--max-new", "240", "--ignore-eos"])
            tps = max(tps, float(re.search(
                r"decode \d+ tokens in [\d.]+ s \(([\d.]+) tok/s\)", run.stderr).group(1)))
        rows.append(dict(name=f"llmc {preset}", size=os.path.getsize(art) / 1e6,
                         bpw=wmb * 1e6 * 8 / nparams, ppl=ppl, unc=unc,
                         kl=float(kl.group(1)) if kl else 0.0,
                         top1=float(top1.group(1)) if top1 else 100.0, tps=tps))
        print(f"  {preset}: ppl {ppl:.4f}, {tps:.0f} tok/s", file=sys.stderr, flush=True)
    return rows


def windows(tokens, ctx, bos):
    for i in range(len(tokens) // ctx):
        w = list(tokens[i * ctx:(i + 1) * ctx])
        w[0] = bos
        yield w


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def llamacpp_rows(args, work, nparams):
    import llama_cpp
    import llama_cpp.llama_cpp as low
    from tokenizers import Tokenizer

    # llama.cpp's extra CPU buffer types (AMX / repacked Q8_0, Q4_0) crash
    # evaluating this small model on this machine (seen with
    # llama-cpp-python 0.3.36); the plain CPU path is used instead.
    default_params = low.llama_model_default_params

    def no_extra_bufts():
        p = default_params()
        p.use_extra_bufts = False
        return p
    low.llama_model_default_params = no_extra_bufts

    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    text = open(args.text, encoding="utf-8").read()
    tokens = tok.encode(text, add_special_tokens=False).ids
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    bos = cfg["bos_token_id"]
    f32 = os.path.join(work, "model-f32.gguf")
    sh([sys.executable, os.path.join(ROOT, "test", "gguf", "fixture_to_gguf.py"), args.model,
        f32, "--type", "f32"])
    files = {"F32": f32}
    for name, ftype in [("Q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0),
                        ("Q4_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0)]:
        out = os.path.join(work, f"model-{name}.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = 1
        rc = llama_cpp.llama_model_quantize(f32.encode(), out.encode(), params)
        if rc != 0:
            raise SystemExit(f"llama.cpp quantize to {name} failed ({rc})")
        files[name] = out

    first = args.ctx // 2
    ref_lp = None
    rows = []
    for name, path in files.items():
        llm = llama_cpp.Llama(model_path=path, n_ctx=args.ctx, n_batch=args.ctx,
                              n_threads=1, logits_all=True, verbose=False)
        all_lp = []
        nll = []
        for w in windows(tokens, args.ctx, bos):
            llm.reset()
            llm.eval(w)
            logits = np.array(llm.scores[:len(w)], dtype=np.float32)
            lp = log_softmax(logits[first:len(w) - 1])
            all_lp.append(lp)
            nll.extend(-lp[np.arange(len(lp)), w[first + 1:]])
        lp = np.concatenate(all_lp)
        nll = np.array(nll)
        ppl = math.exp(nll.mean())
        unc = ppl * nll.std(ddof=1) / math.sqrt(len(nll))
        if ref_lp is None:
            ref_lp = lp
        kl = float((np.exp(ref_lp) * (ref_lp - lp)).sum(axis=-1).mean())
        top1 = float((ref_lp.argmax(-1) == lp.argmax(-1)).mean() * 100)
        # Decode speed: one token at a time after a short prompt.
        prompt = tok.encode("And the LORD said unto Moses", add_special_tokens=False).ids
        tps, n = 0.0, 240
        for _ in range(3):
            llm.reset()
            llm.eval([bos] + prompt)
            t0 = time.perf_counter()
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            for _ in range(n):
                llm.eval([nxt])
                nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            tps = max(tps, n / (time.perf_counter() - t0))
        size = os.path.getsize(path) / 1e6
        rows.append(dict(name=f"llama.cpp {name}", size=size,
                         bpw=size * 1e6 * 8 / nparams, ppl=ppl, unc=unc, kl=kl,
                         top1=top1, tps=tps))
        print(f"  llama.cpp {name}: ppl {ppl:.4f}, {tps:.0f} tok/s", file=sys.stderr,
              flush=True)
        del llm
    return rows, len(tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "examples", "kjv-llama"))
    ap.add_argument("--text", default=os.path.join(ROOT, "examples", "kjv-llama", "heldout.txt"))
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--llmc", default=os.path.join(ROOT, "build", "bin", "llmc"))
    ap.add_argument("--skip-llamacpp", action="store_true")
    args = ap.parse_args()
    nparams = param_count(args.model)
    with tempfile.TemporaryDirectory() as work:
        rows = llmc_rows(args, work, nparams)
        ntok = None
        if not args.skip_llamacpp:
            more, ntok = llamacpp_rows(args, work, nparams)
            rows += more
    base = {"llmc": rows[0]["ppl"]}
    for r in rows:
        if r["name"] == "llama.cpp F32":
            base["llama.cpp"] = r["ppl"]
    print(f"\nmodel {args.model}: {nparams / 1e6:.2f} M parameters; text {args.text}; "
          f"windows of {args.ctx} tokens{'' if ntok is None else f' ({ntok} tokens)'}\n")
    print("| build | artifact MB | bits/weight | perplexity | Δppl vs its f32 | "
          "KL vs its f32 | top-1 vs its f32 | decode tok/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = base["llama.cpp" if r["name"].startswith("llama.cpp") else "llmc"]
        print(f"| {r['name']} | {r['size']:.2f} | {r['bpw']:.2f} | {r['ppl']:.4f} ± "
              f"{r['unc']:.4f} | {100 * (r['ppl'] / ref - 1):+.2f}% | {r['kl']:.5f} | "
              f"{r['top1']:.1f}% | {r['tps']:.0f} |")


if __name__ == "__main__":
    main()
