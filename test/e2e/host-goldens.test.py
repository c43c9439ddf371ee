#!/usr/bin/env python3
"""End-to-end check of one fixture against Hugging Face goldens.

Builds the fixture with `llmc build`, runs the golden's prompt through
`llmc run --ignore-eos --dump-logits`, and requires
  * the same greedy token at every step, and
  * max |logit - golden| <= tol * max |golden| at every step,
where the goldens were written by test/goldens/make_goldens.py from
transformers' LlamaForCausalLM in float32.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "goldens"))
import golden  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llmc", required=True)
    ap.add_argument("--fixture", required=True, help="checkpoint directory")
    ap.add_argument("--golden", required=True, help="golden .bin file")
    ap.add_argument("--work", required=True, help="scratch path prefix")
    ap.add_argument("--prefill-chunk", type=int, default=8)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--quantization", default="f32")
    ap.add_argument("--no-fuse", action="store_true",
                    help="build with llmc build --no-fuse")
    ap.add_argument("--kv-cache", default="f32",
                    help="llmc build --kv-cache (f32, f16, q8)")
    ap.add_argument("--kv-splits", default="1",
                    help="llmc build --kv-splits")
    args = ap.parse_args()

    g = golden.load(args.golden)
    artifact = args.work + ".llmc"
    logits_path = args.work + ".logits"
    subprocess.run([args.llmc, "build", args.fixture, "-o", artifact,
                    "--prefill-chunk", str(args.prefill_chunk),
                    "--quantization", args.quantization] +
                   (["--no-fuse"] if args.no_fuse else []) +
                   ["--kv-cache", args.kv_cache, "--kv-splits", args.kv_splits],
                   check=True, stderr=subprocess.DEVNULL)
    out = subprocess.run([args.llmc, "run", artifact, "--tokens",
                          ",".join(str(int(t)) for t in g.prompt),
                          "--max-new", str(len(g.tokens)), "--ignore-eos",
                          "--dump-logits", logits_path],
                         check=True, capture_output=True, text=True)
    tokens = [int(t) for t in out.stdout.strip().split(",")]
    logits = np.fromfile(logits_path, dtype="<f4").reshape(-1, g.vocab)

    name = os.path.basename(args.golden)
    if len(tokens) != len(g.tokens) or logits.shape[0] != len(g.tokens):
        print(f"{name}: FAIL: {len(tokens)} tokens / {logits.shape[0]} logit rows, "
              f"expected {len(g.tokens)}")
        return 1
    worst = 0.0
    for step, (ours, ref) in enumerate(zip(logits, g.logits)):
        err = float(np.abs(ours - ref).max() / np.abs(ref).max())
        worst = max(worst, err)
        if err > args.tol:
            print(f"{name}: FAIL: step {step}: max |dlogit| / max |logit| = "
                  f"{err:.3g} > {args.tol:g}")
            return 1
        if tokens[step] != int(g.tokens[step]):
            print(f"{name}: FAIL: step {step}: token {tokens[step]}, "
                  f"transformers {int(g.tokens[step])}")
            return 1
    print(f"{name}: OK: {len(tokens)} greedy tokens equal, worst relative "
          f"logit error {worst:.2e} (bound {args.tol:g}), prefill chunk "
          f"{args.prefill_chunk}, {args.quantization}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
