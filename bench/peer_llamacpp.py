#!/usr/bin/env python3
"""llmc beside llama.cpp on the same checkpoint, threads and machine.

    python3 bench/peer_llamacpp.py [--checkpoint /tmp/llama32-1b] [--threads 2]
        [--pairs q4_g32:Q4_0,q4_g32:Q4_0+q8_0emb,q8:Q8_0,f16:F16] [--prompts 64,512] [--gen 32]
        [--rounds 3] [--cache ~/.cache/llmc-peer] [--llama-bin DIR]

1. llama.cpp: built once in --cache from the PyPI `llama-cpp-python` 0.3.36
   source distribution (`pip download --no-binary`, its vendored llama.cpp,
   CMake + Ninja, GGML_NATIVE=ON, Release), targets llama-bench,
   llama-quantize and llama-perplexity (which test/gguf/llamacpp-quantized.test
   finds here); or taken from --llama-bin. Nothing of it is committed.
2. The checkpoint (bench/make_llama32_1b_checkpoint.py's random
   Llama-3.2-1B-shaped one by default) written as GGUF F16 by
   test/gguf/fixture_to_gguf.py (the `gguf` package; llama.cpp's converter
   needs torch), then quantized by llama.cpp's own llama-quantize to each
   format asked for.
3. llmc builds the same checkpoint with the paired preset and an f16 KV
   cache, llama-bench's default (--max-context covers the longest prompt).
4. Rounds, interleaved: for each pair, llama-bench -p P -n GEN -r 1 and
   `llmc run` with a P-token prompt and GEN new tokens, same thread count.
   Medians over the rounds. Decode: llama-bench's tg test runs from an
   empty context (all its runs count), llmc's is timed after the shortest
   prompt.
5. bench/probe.c (compiled here with -march=native), in every round: the
   machine's read bandwidth (a 1 GB buffer summed by the same number of
   threads, the better of 4 KB and huge pages) and int8 dot-product peak;
   decode is also shown as a fraction of that bound (bytes a token reads,
   from `llmc inspect`, times tokens/s, over the median bandwidth).

Prints one table; ratios are llmc / llama.cpp.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_llamacpp(cache, bin_dir):
    if bin_dir:
        return os.path.join(bin_dir, "llama-bench"), os.path.join(bin_dir, "llama-quantize")
    build = os.path.join(cache, "llama.cpp-build")
    bench = os.path.join(build, "bin", "llama-bench")
    quant = os.path.join(build, "bin", "llama-quantize")
    ppl = os.path.join(build, "bin", "llama-perplexity")
    if os.path.exists(bench) and os.path.exists(quant) and os.path.exists(ppl):
        return bench, quant
    src_root = os.path.join(cache, "src")
    os.makedirs(src_root, exist_ok=True)
    tarballs = glob.glob(os.path.join(src_root, "llama_cpp_python-*.tar.gz"))
    if not tarballs:
        log(f"peer: downloading the {LLAMA_CPP_PYTHON} source distribution")
        run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:",
             "--no-deps", "-d", src_root, LLAMA_CPP_PYTHON])
        tarballs = glob.glob(os.path.join(src_root, "llama_cpp_python-*.tar.gz"))
    with tarfile.open(tarballs[0]) as t:
        t.extractall(src_root)
    src = glob.glob(os.path.join(src_root, "llama_cpp_python-*", "vendor", "llama.cpp"))[0]
    log(f"peer: building llama.cpp from {src} (a few minutes)")
    run(["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF"],
        stdout=subprocess.DEVNULL)
    # llama-perplexity: test/gguf/llamacpp-quantized.test uses this build.
    run(["cmake", "--build", build, "--target", "llama-bench", "llama-quantize",
         "llama-perplexity"],
        stdout=subprocess.DEVNULL)
    return bench, quant


def ensure_ggufs(checkpoint, cache, quantize, formats):
    out = os.path.join(cache, "gguf", os.path.basename(os.path.abspath(checkpoint)))
    os.makedirs(out, exist_ok=True)
    f16 = os.path.join(out, "model.F16.gguf")
    if not os.path.exists(f16):
        log("peer: writing the checkpoint as GGUF F16")
        run([sys.executable, os.path.join(ROOT, "test", "gguf", "fixture_to_gguf.py"),
             checkpoint, f16, "--type", "f16"])
    paths = {}
    for fmt in formats:
        path = os.path.join(out, f"model.{fmt}.gguf")
        if fmt == "F16":
            path = f16
        elif not os.path.exists(path):
            # "TYPE+EMBemb": TYPE with the token embedding (and the output
            # matrix, tied or not) in EMB, e.g. Q4_0+q8_0emb: the tensor
            # formats of llmc's q4 presets, byte for byte the same model
            # size; plain Q4_0 puts them in llama.cpp's default (Q6_K).
            base, _, emb = fmt.partition("+")
            extra = []
            if emb:
                emb = emb[:-3] if emb.endswith("emb") else emb
                extra = ["--token-embedding-type", emb, "--output-tensor-type", emb]
            log(f"peer: llama-quantize F16 -> {fmt}")
            run([quantize] + extra + [f16, path, base], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        paths[fmt] = path
    return paths


def ensure_probe(cache):
    exe = os.path.join(cache, "probe")
    src = os.path.join(HERE, "probe.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        cc = "clang-19" if subprocess.run(["which", "clang-19"], capture_output=True).returncode == 0 else "cc"
        run([cc, "-O2", "-march=native", "-pthread", src, "-o", exe])
    return exe


def probe(exe, threads):
    out = run([exe, str(threads)], capture_output=True, text=True).stdout.split()
    vals = dict(zip(out[0::2], out[1::2]))
    # The bound: the better of ordinary and huge pages (see probe.c).
    return (max(float(vals["bandwidth_gbs"]), float(vals["bandwidth_thp_gbs"])),
            float(vals["int8_gmacs"]), vals.get("isa", "?"))


def llama_bench(bench, gguf, prompt, gen, threads):
    p = run([bench, "-m", gguf, "-t", str(threads), "-p", str(prompt), "-n", str(gen),
             "-r", "1", "-o", "json"], capture_output=True, text=True)
    rows = json.loads(p.stdout)
    pp = [r for r in rows if r["n_prompt"] > 0][0]
    tg = [r for r in rows if r["n_gen"] > 0][0]
    return pp["avg_ts"], tg["avg_ts"], pp["model_size"]


def llmc_run(llmc, artifact, prompt, gen, threads):
    tokens = ",".join(str(1000 + 37 * i % 120000) for i in range(prompt))
    p = subprocess.run([llmc, "run", artifact, "--tokens", tokens, "--max-new",
                        str(gen + 1), "--ignore-eos", "--threads", str(threads)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("llmc run failed")
    line = [l for l in p.stderr.splitlines() if l.startswith("llmc: prefill")][-1]
    parts = line.split("(")
    return float(parts[1].split()[0]), float(parts[2].split()[0])


def llmc_bytes_per_token(llmc, artifact):
    info = run([llmc, "inspect", artifact], capture_output=True, text=True).stdout
    line = [l for l in info.splitlines() if l.startswith("per token:")][0]
    return int(line.split("move")[1].split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="/tmp/llama32-1b")
    ap.add_argument("--llmc", default=os.path.join(ROOT, "build", "bin", "llmc"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--pairs", default="q4_g32:Q4_0,q4_g32:Q4_0+q8_0emb,q8:Q8_0",
                    help="llmc preset:llama.cpp type, comma-separated; TYPE+EMBemb "
                         "puts llama.cpp's embedding / output matrix in EMB; "
                         "preset keep builds llama.cpp's file itself (e.g. "
                         "keep:Q4_K_M)")
    ap.add_argument("--prompts", default="64,512")
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/llmc-peer"))
    ap.add_argument("--llama-bin", default=None,
                    help="directory with llama-bench and llama-quantize (skip building)")
    ap.add_argument("--no-build", action="store_true", help="reuse llmc artifacts")
    ap.add_argument("--build-peer-only", action="store_true",
                    help="build llama.cpp in --cache and stop (scripts/test.sh "
                         "does, for test/gguf/llamacpp-quantized.test)")
    ap.add_argument("--kv-cache", default="f16",
                    help="llmc's KV cache type (llama-bench's default is f16)")
    args = ap.parse_args()
    if args.build_peer_only:
        ensure_llamacpp(args.cache, args.llama_bin)
        return

    if not os.path.exists(os.path.join(args.checkpoint, "config.json")):
        log(f"peer: making the Llama-3.2-1B-shaped checkpoint in {args.checkpoint}")
        run([sys.executable, os.path.join(HERE, "make_llama32_1b_checkpoint.py"),
             args.checkpoint])
    pairs = [p.split(":") for p in args.pairs.split(",")]
    prompts = [int(p) for p in args.prompts.split(",")]
    bench, quantize = ensure_llamacpp(args.cache, args.llama_bin)
    ggufs = ensure_ggufs(args.checkpoint, args.cache, quantize, [f for _, f in pairs])
    probe_exe = ensure_probe(args.cache)
    probes = []

    # "keep" builds llama.cpp's own file of the pair (--quantization keep:
    # each ggml block format stored exactly), so its artifact is per format.
    def akey(preset, fmt):
        return f"keep-{fmt}" if preset == "keep" else preset

    artifacts, build_s = {}, {}
    for preset, fmt in pairs:
        key = akey(preset, fmt)
        if key in artifacts:
            continue
        art = os.path.join(args.checkpoint, f"model.{key}.peer.llmc")
        if not args.no_build or not os.path.exists(art):
            log(f"peer: llmc build --quantization {preset}"
                + (f" of the {fmt} GGUF" if preset == "keep" else ""))
            t0 = time.time()
            src = ggufs[fmt] if preset == "keep" else args.checkpoint
            run([args.llmc, "build", src, "-o", art, "--quantization",
                 preset, "--kv-cache", args.kv_cache,
                 "--max-context", str(max(prompts) + args.gen + 64)],
                stderr=subprocess.DEVNULL)
            build_s[key] = time.time() - t0
        artifacts[key] = art

    results = {}  # (preset, format, prompt) -> lists
    for r in range(args.rounds):
        log(f"peer: round {r + 1} of {args.rounds}")
        # This kind of VM's bandwidth drifts: probe it in every round.
        probes.append(probe(probe_exe, args.threads))
        for preset, fmt in pairs:
            for prompt in prompts:
                lpp, ltg, size = llama_bench(bench, ggufs[fmt], prompt, args.gen,
                                             args.threads)
                opp, otg = llmc_run(args.llmc, artifacts[akey(preset, fmt)], prompt,
                                    args.gen, args.threads)
                key = (preset, fmt, prompt)
                res = results.setdefault(key, {"lpp": [], "ltg": [], "opp": [], "otg": []})
                res["lpp"].append(lpp)
                res["ltg"].append(ltg)
                res["opp"].append(opp)
                res["otg"].append(otg)
                res["size"] = size

    med = statistics.median
    bandwidth = med(p[0] for p in probes)
    gmacs = med(p[1] for p in probes)
    isa = probes[0][2]
    spread = (f" (rounds: {min(p[0] for p in probes):.1f} to "
              f"{max(p[0] for p in probes):.1f})" if len(probes) > 1 else "")
    print(f"machine: {args.threads} threads, read bandwidth {bandwidth:.1f} GB/s{spread}, "
          f"int8 dot peak {gmacs:.0f} G multiply-adds/s ({isa}); medians of "
          f"{args.rounds} interleaved rounds; decode {args.gen} tokens")
    print(f"{'llmc':>8} {'llama.cpp':>14} {'prompt':>6} | {'prefill tok/s':>22} | "
          f"{'decode tok/s (GB/s)':>36} | {'decode / bound':>14}")
    print(f"{'':>8} {'':>14} {'':>6} | {'llama.cpp':>7} {'llmc':>7} {'ratio':>6} | "
          f"{'llama.cpp':>13} {'llmc':>13} {'ratio':>6} | {'llmc':>14}")
    for preset, fmt in pairs:
        ours_bytes = llmc_bytes_per_token(args.llmc, artifacts[akey(preset, fmt)])
        # Decode: llama-bench's tg test always starts from an empty context,
        # so every round's tg counts; llmc's comes after the shortest prompt.
        ltg = med([t for p in prompts for t in results[(preset, fmt, p)]["ltg"]])
        otg = med(results[(preset, fmt, prompts[0])]["otg"])
        for i, prompt in enumerate(prompts):
            res = results[(preset, fmt, prompt)]
            lpp, opp = med(res["lpp"]), med(res["opp"])
            lgbs, ogbs = ltg * res["size"] / 1e9, otg * ours_bytes / 1e9
            decode = (f"{ltg:6.1f} ({lgbs:4.1f}) {otg:6.1f} ({ogbs:4.1f}) "
                      f"{otg / ltg:5.2f}x | {ogbs / bandwidth:13.0%}") if i == 0 else \
                f"{'':>34} | {'':>13}"
            print(f"{preset:>8} {fmt:>14} {prompt:6d} | {lpp:7.1f} {opp:7.1f} "
                  f"{opp / lpp:5.2f}x | {decode}")
    for preset, fmt in pairs:
        res = results[(preset, fmt, prompts[0])]
        print(f"bytes a decode token reads: {akey(preset, fmt)} "
              f"{llmc_bytes_per_token(args.llmc, artifacts[akey(preset, fmt)]) / 1e6:.0f} MB "
              f"(llmc inspect), {fmt} {res['size'] / 1e6:.0f} MB (llama-bench model size)")
    if build_s:
        print("llmc build seconds: " + ", ".join(f"{p} {s:.0f}" for p, s in build_s.items()))


if __name__ == "__main__":
    main()
