#!/usr/bin/env python3
"""Llama-3.2-1B-shaped benchmark: build and run a random checkpoint with the
exact shapes of Llama 3.2 1B and print prefill / decode tokens per second and
peak resident memory of `llmc build` and `llmc run`.

    python3 bench/bench_1b.py [--checkpoint DIR] [--llmc build/bin/llmc]

The checkpoint is made by bench/make_llama32_1b_checkpoint.py when DIR has
none (about 2.5 GB of bf16 on disk); the artifact stores f32 weights (~6 GB).
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_measured(cmd):
    """Runs cmd in a fresh child process; returns (seconds, peak RSS MB, stdout, stderr)."""
    wrapper = ("import resource, subprocess, sys\n"
               "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
               "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
               " file=sys.stderr)\n"
               "sys.exit(p.returncode)\n")
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True)
    secs = time.time() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    rss_kb = int([l for l in p.stderr.splitlines() if l.startswith("PEAK_RSS_KB")][-1].split()[1])
    return secs, rss_kb / 1024.0, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="/tmp/llama32-1b")
    ap.add_argument("--llmc", default=os.path.join(HERE, "..", "build", "bin", "llmc"))
    ap.add_argument("--artifact", default=None)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--max-new", type=int, default=16)
    ap.add_argument("--prefill-chunk", type=int, default=64)
    ap.add_argument("--max-context", type=int, default=2048)
    ap.add_argument("--quantization", default="f32",
                    help="preset passed to llmc build (docs/quantization.md)")
    ap.add_argument("--no-fuse", action="store_true",
                    help="build with llmc build --no-fuse (one kernel per op) "
                         "to compare against the fused default")
    ap.add_argument("--no-build", action="store_true",
                    help="reuse --artifact (or the default one) instead of building it")
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}",
                    help="comma-separated thread counts to run with (llmc run "
                         "--threads); the decode speedup over the first is printed")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.checkpoint, "config.json")):
        print(f"making the Llama-3.2-1B-shaped checkpoint in {args.checkpoint} ...", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "make_llama32_1b_checkpoint.py"),
                        args.checkpoint], check=True)
    suffix = ".nofuse" if args.no_fuse else ""
    artifact = args.artifact or os.path.join(
        args.checkpoint, f"model.{args.quantization}{suffix}.llmc")

    if not args.no_build:
        secs, rss, _, err = run_measured([args.llmc, "build", args.checkpoint, "-o", artifact,
                                          "--prefill-chunk", str(args.prefill_chunk),
                                          "--max-context", str(args.max_context),
                                          "--quantization", args.quantization] +
                                         (["--no-fuse"] if args.no_fuse else []))
        print(f"llmc build: {secs:.1f} s, peak RSS {rss:.0f} MB, artifact "
              f"{os.path.getsize(artifact) / 1e9:.2f} GB")
    info = subprocess.run([args.llmc, "inspect", artifact], capture_output=True, text=True,
                          check=True).stdout
    print(info, end="")

    prompt = ",".join(str(1000 + 37 * i % 120000) for i in range(args.prompt_tokens))
    base = None
    for threads in [int(t) for t in args.threads.split(",")]:
        secs, rss, out, err = run_measured([args.llmc, "run", artifact, "--tokens", prompt,
                                            "--max-new", str(args.max_new), "--ignore-eos",
                                            "--threads", str(threads)])
        timing = [l for l in err.splitlines() if l.startswith("llmc: prefill")][-1]
        decode = float(timing.split("(")[2].split()[0])
        base = base or decode
        print(f"llmc run --threads {threads}: {timing[len('llmc: '):]}; "
              f"decode x{decode / base:.2f} vs --threads {args.threads.split(',')[0]}")
        print(f"llmc run --threads {threads}: peak RSS {rss:.0f} MB (weights are "
              f"mmap'd: pages read count as resident)")


if __name__ == "__main__":
    main()
