#!/usr/bin/env python3
"""GGUF files made by llama.cpp's own llama-quantize, run by llmc and by llama.cpp.

    llamacpp_ppl.py --llmc LLMC --llama-bin DIR --model examples/kjv-llama
                    --work DIR [--types Q4_0,Q4_K_M,Q5_K_M,Q6_K,Q8_0]
                    [--ctx 128] [--windows 128] [--tol 0.002]

1. The checkpoint is written as GGUF F32 by fixture_to_gguf.py, then
   quantized by llama.cpp's llama-quantize to each type (current llama.cpp
   mixes formats: a "Q4_0" file has a Q6_K token_embd, Q4_K_M has Q6_K
   layers).
2. `llmc build` (the default for GGUF, --quantization keep) builds each file;
   its log must not say any tensor was requantized.
3. Perplexity of the checkpoint's held-out text with both tools on the same
   windows: llama-perplexity -c CTX --chunks N+8 read at window N (its
   running estimate; see below why not its final line), and `llmc
   perplexity --ctx CTX --max-windows N --add-bos` (llama-perplexity starts
   the stream with BOS). Each line prints both values, their relative difference and the
   statistical uncertainty; a difference above --tol (relative) fails.
   llama.cpp multiplies K-quant weights with int8-quantized activations and
   llmc with f32 ones, so the two differ by a rounding, far below the
   uncertainty.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, log, env=None):
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    text = open(log).read()
    if r.returncode != 0:
        sys.exit("FAILED (%d): %s\n%s" % (r.returncode, " ".join(cmd), text[-2000:]))
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmc", required=True)
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--types", default="Q4_0,Q4_K_M,Q5_K_M,Q6_K,Q8_0")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--windows", type=int, default=128)
    ap.add_argument("--tol", type=float, default=0.002)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    text = os.path.join(a.model, "heldout.txt")
    f32 = os.path.join(a.work, "F32.gguf")
    run([sys.executable, os.path.join(HERE, "fixture_to_gguf.py"), a.model, f32,
         "--type", "f32"], os.path.join(a.work, "convert.log"))
    ok = True
    for t in ["F32"] + a.types.split(","):
        g = os.path.join(a.work, t + ".gguf")
        if t != "F32":
            qlog = run([os.path.join(a.llama_bin, "llama-quantize"), f32, g, t],
                       os.path.join(a.work, t + ".quantize.log"))
            kinds = sorted(set(re.findall(r"converting to (\w+)", qlog)))
        else:
            kinds = ["f32"]
        art = os.path.join(a.work, t + ".llmc")
        blog = run([a.llmc, "build", g, "-o", art, "--max-context", str(a.ctx)],
                   os.path.join(a.work, t + ".build.log"))
        if "requantiz" in blog:
            print("%s: llmc requantized a tensor:\n%s" % (t, blog))
            ok = False
        out = run([a.llmc, "perplexity", art, "--file", text, "--ctx", str(a.ctx),
                   "--max-windows", str(a.windows), "--add-bos"],
                  os.path.join(a.work, t + ".llmc-ppl.log"))
        m = re.search(r"perplexity: ([0-9.]+) \+/- ([0-9.]+) over ([0-9]+) tokens", out)
        ours, err = float(m.group(1)), float(m.group(2))
        # llama.cpp logs from a worker thread that it never joins, so the
        # last lines can be lost when the process exits: on a busy machine
        # that thread is not scheduled between the last window and exit(),
        # every try (a CI run lost "[128]..." and the final line six times
        # running). So llama.cpp scores a few windows more than we compare
        # and the running estimate after window N, exp(mean nll) over the
        # first N windows printed to 4 places as the final line is, is read
        # while later windows still run. The held-out text has ~400 windows
        # of 128 tokens.
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        pat = re.compile(r"\[%d\]([0-9.]+)," % a.windows)
        for attempt in range(3):
            out = run([os.path.join(a.llama_bin, "llama-perplexity"), "-m", g,
                       "-f", text, "-c", str(a.ctx), "-b", str(a.ctx), "--chunks",
                       str(a.windows + 8), "-t", "2"],
                      os.path.join(a.work, t + ".llama-ppl.log"), env)
            m = pat.search(out)
            if m:
                break
        if not m:
            sys.exit("%s: llama-perplexity printed no estimate after window %d:\n%s"
                     % (t, a.windows, out[-2000:]))
        theirs = float(m.group(1))
        rel = abs(ours / theirs - 1)
        good = rel <= a.tol
        ok = ok and good
        print("%s %-7s (%s): llmc %.4f, llama.cpp %.4f, relative difference %.2e "
              "(uncertainty +/- %.4f)" % ("OK:" if good else "FAIL:", t,
                                          "+".join(kinds), ours, theirs, rel, err))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
