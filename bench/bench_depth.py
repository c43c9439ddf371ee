#!/usr/bin/env python3
"""Decode speed at a context depth, llmc beside llama.cpp, per KV-cache type.

For each KV type (llmc build --kv-cache f32|f16|q8) and depth D, llmc runs a
D-token prompt (prefill, not timed) then decodes --gen tokens and reports the
decode tokens/s; llama.cpp's llama-bench does the same with `-d D -p 0 -n
GEN` and its cache types (`-ctk/-ctv f16`, or `q8_0` with flash attention),
in the same run, same threads.

    python3 bench/bench_depth.py --checkpoint /tmp/llama32-1b \\
        --llama-bench /tmp/llamacpp-build/bin/llama-bench \\
        --gguf /tmp/llama32-1b-gguf-novocab/model.q8_0.gguf \\
        [--quantization q8] [--depths 128,4096] [--kv f32,f16,q8] [--threads 2]

The checkpoint is bench/make_llama32_1b_checkpoint.py's; the GGUF is the same
checkpoint converted by test/gguf/fixture_to_gguf.py and quantized by
llama.cpp's llama-quantize (it needs `tokenizer.ggml.model = none` when the
checkpoint has no tokenizer). Without --llama-bench only llmc runs.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def llmc_decode(llmc, artifact, depth, gen, threads):
    prompt = ",".join(str(1000 + 37 * i % 120000) for i in range(depth))
    p = subprocess.run([llmc, "run", artifact, "--tokens", prompt, "--max-new",
                        str(gen), "--ignore-eos", "--threads", str(threads)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"llmc run failed at depth {depth}")
    line = [l for l in p.stderr.splitlines() if l.startswith("llmc: prefill")][-1]
    return float(line.split("(")[2].split()[0])


def llama_decode(bench, gguf, depth, gen, threads, kv):
    # llama-bench takes no f32 cache; its default is f16.
    cache = {"f16": ["-ctk", "f16", "-ctv", "f16"],
             "q8": ["-ctk", "q8_0", "-ctv", "q8_0", "-fa", "1"]}.get(kv)
    if cache is None:
        return None
    p = subprocess.run([bench, "-m", gguf, "-t", str(threads), "-p", "0", "-n",
                        str(gen), "-d", str(depth), "-r", "1", "-o", "json"] + cache,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-2000:])
        return None
    rows = json.loads(p.stdout)
    return rows[0]["avg_ts"] if rows else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="/tmp/llama32-1b")
    ap.add_argument("--llmc", default=os.path.join(HERE, "..", "build", "bin", "llmc"))
    ap.add_argument("--quantization", default="q8")
    ap.add_argument("--depths", default="128,4096")
    ap.add_argument("--kv", default="f32,f16,q8", help="KV cache types to run")
    ap.add_argument("--gen", type=int, default=32, help="decode tokens timed")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--llama-bench", default=None, help="llama.cpp's llama-bench")
    ap.add_argument("--gguf", default=None, help="the same checkpoint as GGUF")
    args = ap.parse_args()

    depths = [int(d) for d in args.depths.split(",")]
    max_ctx = max(depths) + args.gen + 64
    print(f"threads {args.threads}, decode {args.gen} tokens after a prompt of "
          f"DEPTH tokens; weights {args.quantization}", flush=True)
    print(f"{'kv':>4} {'depth':>6} {'llmc tok/s':>11} {'llama.cpp tok/s':>16}  "
          "llmc KV MB/token", flush=True)
    for kv in args.kv.split(","):
        artifact = os.path.join(args.checkpoint,
                                f"model.{args.quantization}.kv{kv}.llmc")
        if not args.no_build:
            subprocess.run([args.llmc, "build", args.checkpoint, "-o", artifact,
                            "--quantization", args.quantization, "--kv-cache", kv,
                            "--max-context", str(max_ctx)],
                           check=True, stderr=subprocess.DEVNULL)
        info = subprocess.run([args.llmc, "inspect", artifact], capture_output=True,
                              text=True, check=True).stdout
        per_token = [l for l in info.splitlines() if l.startswith("kv cache:")][0]
        per_token = int(per_token.split("(")[1].split()[0])
        for depth in depths:
            ours = llmc_decode(args.llmc, artifact, depth, args.gen, args.threads)
            theirs = (llama_decode(args.llama_bench, args.gguf, depth, args.gen,
                                   args.threads, kv)
                      if args.llama_bench and args.gguf else None)
            theirs_s = f"{theirs:16.1f}" if theirs else f"{'-':>16}"
            print(f"{kv:>4} {depth:6d} {ours:11.1f} {theirs_s}  "
                  f"{per_token * depth / 1e6:.1f} MB read at this depth", flush=True)


if __name__ == "__main__":
    main()
