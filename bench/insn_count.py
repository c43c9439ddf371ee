#!/usr/bin/env python3
"""Instructions retired per decode token of an aarch64 artifact, under qemu.

Timings under an emulator mean nothing; the number of guest instructions a
decode token executes does not depend on the emulator, so it is the second
figure beside `llmc inspect`'s bytes per token. Debian's qemu-user-static has
no plugin support (no libinsn), so the count comes from qemu's own exec log:
with one guest instruction per translation block (-singlestep, called
-one-insn-per-tb from qemu 8.1) and no block chaining, every instruction
executed prints one "Trace" line, which grep counts as it streams.

The runner generates 1 token, then 1 + --steps tokens, from the same prompt
with one thread (other threads would add their spin-waits); the difference
divided by --steps is the instructions of one decode step (the model's
dispatches, the sampler and the runner's bookkeeping), free of the loading,
checksum and prefill that both runs share.

  python3 bench/insn_count.py --artifact model.llmc [--steps 4]
  python3 bench/insn_count.py --llamacpp llama-aarch64/bin/llama-bench \
      --gguf model.gguf   # the same count for llama.cpp's NEON kernels

For llama.cpp the runs are `llama-bench -t 1 -p 0 -n N -r 1 --no-warmup`:
decode steps from an empty context without sampling (llmc-run's count also
holds its greedy argmax over the vocabulary, a small part).
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def qemu_command(cpu):
    qemu = shutil.which("qemu-aarch64-static")
    if not qemu:
        sys.exit("insn_count: qemu-aarch64-static not found (scripts/setup.sh)")
    help_text = subprocess.run([qemu, "-h"], capture_output=True, text=True).stdout
    one = "-one-insn-per-tb" if "one-insn-per-tb" in help_text else "-singlestep"
    return [qemu, "-cpu", cpu, "-L", "/usr/aarch64-linux-gnu", one,
            "-d", "nochain,exec", "-D", "/dev/stdout"]


def count(cmd):
    """Guest instructions `cmd` executes (its own output is discarded)."""
    qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    grep = subprocess.run(["grep", "-c", "^Trace"], stdin=qemu.stdout,
                          capture_output=True, text=True)
    qemu.stdout.close()
    rc = qemu.wait()
    if rc != 0:
        sys.exit(f"insn_count: {' '.join(cmd[-8:])} failed with status {rc}")
    return int(grep.stdout.strip() or 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--artifact", help="aarch64 .llmc artifact")
    ap.add_argument("--runner",
                    default=os.path.join(ROOT, "build-aarch64", "bin", "llmc-run"),
                    help="aarch64 llmc-run (scripts/build-aarch64.sh)")
    ap.add_argument("--llamacpp", help="aarch64 llama-bench of llama.cpp "
                    "(counted the same way, with --gguf)")
    ap.add_argument("--gguf", help="GGUF model for --llamacpp")
    ap.add_argument("--tokens", default="1,17,42,99",
                    help="prompt ids for llmc-run (default %(default)s)")
    ap.add_argument("--steps", type=int, default=4,
                    help="decode steps counted (default %(default)s)")
    ap.add_argument("--cpu", default="max", help="qemu -cpu (default max: "
                    "dotprod and i8mm)")
    args = ap.parse_args()
    if bool(args.artifact) == bool(args.llamacpp):
        sys.exit("insn_count: give --artifact or --llamacpp (with --gguf)")
    qemu = qemu_command(args.cpu)

    def run(n):
        if args.artifact:
            return count(qemu + [args.runner, "run", args.artifact, "--tokens",
                                 args.tokens, "--max-new", str(n),
                                 "--ignore-eos", "--threads", "1"])
        return count(qemu + [args.llamacpp, "-m", args.gguf, "-t", "1",
                             "-p", "0", "-n", str(n), "-r", "1",
                             "--no-warmup"])

    base = run(1)
    more = run(1 + args.steps)
    per = (more - base) / args.steps
    what = args.artifact or f"llama.cpp {os.path.basename(args.gguf)}"
    print(f"{what}: {base} instructions for 1 token, {more} for "
          f"{1 + args.steps}: {per:,.0f} instructions per decode token "
          f"(qemu -cpu {args.cpu}, 1 thread)")


if __name__ == "__main__":
    main()
