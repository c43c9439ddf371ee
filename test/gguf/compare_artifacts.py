#!/usr/bin/env python3
"""Checks that two .llmc artifacts behave the same.

Usage: compare_artifacts.py --llmc LLMC A.llmc B.llmc [--tol T] [--steps N]
                            [--tokenize]

LLMC is a command line (split as a shell would): `llmc`, or a runner and
llmc-run for another architecture (lit's %aarch64-run).

Runs the same prompts through both (`llmc run --tokens ... --ignore-eos
--dump-logits`) and requires the same greedy tokens and
max |logit_A - logit_B| <= tol * max |logit_B| at every step. With
--tokenize, also requires `llmc tokenize` (with and without --bos /
--no-special) and `llmc tokenize --decode` to give the same output on both
for a set of texts (the artifacts must carry a tokenizer).
"""
import argparse
import shlex
import os
import subprocess
import sys
import tempfile

import numpy as np

PROMPTS = [[1, 5, 9, 13], [1, 200, 3, 77, 100, 42, 8, 9, 10, 11, 250]]

TEXTS = [
    "Hello world, the quick brown fox jumps over the lazy dog.",
    "  leading spaces,\ttabs\nand\r\nnewlines   ",
    "<|begin_of_text|>Hi<|eot_id|><|start_header_id|>user<|end_header_id|>",
    "it's they'll I'M we'd 12345678 3.14159",
    "unicode: caf\u00e9 \u00fcber \u65e5\u672c\u8a9e \u0645\u0631\u062d\u0628\u0627 \U0001F642",
]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llmc", required=True)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--tokenize", action="store_true")
    args = ap.parse_args()
    llmc = shlex.split(args.llmc)

    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for p, prompt in enumerate(PROMPTS):
            outs = []
            for i, art in enumerate((args.a, args.b)):
                path = os.path.join(tmp, f"{p}.{i}.logits")
                toks = run(llmc + ["run", art, "--tokens",
                            ",".join(map(str, prompt)), "--max-new",
                            str(args.steps), "--ignore-eos", "--dump-logits", path])
                logits = np.fromfile(path, dtype="<f4").reshape(args.steps, -1)
                outs.append((toks.strip(), logits))
            (ta, la), (tb, lb) = outs
            if la.shape != lb.shape:
                print(f"FAIL: prompt {p}: logits {la.shape} vs {lb.shape}")
                return 1
            for step in range(args.steps):
                err = float(np.abs(la[step] - lb[step]).max() / np.abs(lb[step]).max())
                worst = max(worst, err)
                if err > args.tol:
                    print(f"FAIL: prompt {p} step {step}: relative logit difference "
                          f"{err:.3g} > {args.tol:g}")
                    return 1
            if ta != tb:
                print(f"FAIL: prompt {p}: tokens {ta} vs {tb}")
                return 1
    print(f"OK: same greedy tokens for {len(PROMPTS)} prompts x {args.steps} steps, "
          f"worst relative logit difference {worst:.2e} (bound {args.tol:g})")

    if args.tokenize:
        n = 0
        for text in TEXTS:
            for flags in ([], ["--bos"], ["--no-special"]):
                ids = [run(llmc + ["tokenize", art, text] + flags).strip()
                       for art in (args.a, args.b)]
                if ids[0] != ids[1]:
                    print(f"FAIL: tokenize {text!r} {flags}: {ids[0]} vs {ids[1]}")
                    return 1
                back = [run(llmc + ["tokenize", art, "--decode", ids[0]])
                        for art in (args.a, args.b)]
                if back[0] != back[1]:
                    print(f"FAIL: decode {ids[0]}: {back[0]!r} vs {back[1]!r}")
                    return 1
                n += 1
        print(f"OK: same ids and decoded text for {n} tokenizations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
