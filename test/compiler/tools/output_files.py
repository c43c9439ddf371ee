#!/usr/bin/env python3
"""What `llmc build` does to the files around its output when builds race or
are interrupted.

usage: output_files.py WORKDIR

1. Two builds of one model to one -o at the same time: both succeed, the
   output opens (`llmc inspect`), no temporary file is left.
2. A build interrupted by SIGINT, SIGTERM or SIGHUP while it writes the
   artifact: the process dies of that signal, no temporary file and no
   output are left. The checkpoint is large enough (a 2-layer, 1B-wide
   random model, written by bench/make_llama32_1b_checkpoint.py) that the
   write lasts long enough to be caught: the script sends the signal as
   soon as the temporary file appears.
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def temporaries(directory, name):
    return [f for f in os.listdir(directory) if f.startswith("." + name + ".") and f.endswith(".tmp")]


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    model = os.path.join(work, "ckpt")
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_llama32_1b_checkpoint.py"),
                        model, "--layers", "2", "--vocab", "32000", "--dtype", "bf16"],
                       check=True, stdout=subprocess.DEVNULL)
    failures = []

    out = os.path.join(work, "race.llmc")
    procs = [subprocess.Popen(["llmc", "build", model, "-o", out, "--quantization", "q8"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    codes = [p.wait() for p in procs]
    inspect = subprocess.run(["llmc", "inspect", out], capture_output=True, text=True)
    left = temporaries(work, "race.llmc")
    ok = codes == [0, 0] and inspect.returncode == 0 and not left
    print(f"{'ok  ' if ok else 'FAIL'} two builds to one output: exits {codes}, "
          f"inspect exit {inspect.returncode}, {len(left)} temporary files left")
    if not ok:
        failures.append("race")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        out = os.path.join(work, f"sig{int(sig)}.llmc")
        # As from a terminal: lit's workers ignore SIGINT, and a child
        # would inherit that.
        p = subprocess.Popen(["llmc", "build", model, "-o", out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        caught = False
        while p.poll() is None:
            if temporaries(work, os.path.basename(out)):
                p.send_signal(sig)
                caught = True
                break
            time.sleep(0.001)
        code = p.wait()
        left = temporaries(work, os.path.basename(out))
        ok = caught and code == -sig and not left and not os.path.exists(out)
        print(f"{'ok  ' if ok else 'FAIL'} {sig.name} while writing: caught {caught}, "
              f"exit {code}, {len(left)} temporary files left, output "
              f"{'present' if os.path.exists(out) else 'absent'}")
        if not ok:
            failures.append(sig.name)
    if failures:
        sys.exit(f"failed: {failures}")
    print("output files: all cases hold")


if __name__ == "__main__":
    main()
