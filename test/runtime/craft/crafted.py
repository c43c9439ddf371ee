#!/usr/bin/env python3
"""Runs artifacts whose metadata was edited after compiling, with valid
checksums (llmc-artifact-edit), and requires each to be refused cleanly.

usage: crafted.py BASE.llmc EDIT_TOOL WORKDIR RUNNER...

RUNNER is the command that runs an artifact (`llmc`, `llmc-run`, or the
ASan build's llmc-run); it is called as RUNNER run FILE --tokens ... .
Each edit must end in exit status 1 (not a signal, not a sanitizer report)
with a "bad artifact format" message naming what disagrees. The edits are
the hardening issue's (arena_size 64, num_layers 1, kv_cache_bytes_per_token,
prefill_chunk beyond the compiled chunk, max_context below the compiled
context) and one per kind of schedule field the kernels trust.
"""
import os
import subprocess
import sys

# (edit, text the error must contain)
EDITS = [
    ("arena_size=64", "arena_size 64, but the code was compiled for"),
    ("arena_size=100000000", "arena_size 100000000, but the code was compiled for"),
    ("config.num_layers=1", "does not fit the config"),
    ("kv_cache_bytes_per_token=256", "does not fit the config"),
    ("kv_cache_bytes_per_token=1024", "does not fit the config"),
    ("config.prefill_chunk=256", "prefill_chunk 256, but the code was compiled for 64"),
    ("config.prefill_chunk=8", "prefill_chunk 8, but the code was compiled for 64"),
    ("config.max_context=64", "max_context 64, but the code was compiled for 256"),
    ("config.max_context=8", "config out of range"),
    ("config.vocab_size=16", "vocab_size 16, but the code was compiled for 256"),
    ("config.hidden_size=32", "disagree with what the code was compiled with"),
    ("config.num_heads=2", "disagree with what the code was compiled with"),
    ("kernel.0.binding.0=4", "disagree with what the code was compiled with"),
    ("dispatch.3.scalar.0.c=5", "disagree with what the code was compiled with"),
    ("dispatch.3.grid.c=1", "disagree with what the code was compiled with"),
    ("dispatch.2.operand.0.offset=0", "disagree with what the code was compiled with"),
    ("dispatch.2.operand.0.size=4", "disagree with what the code was compiled with"),
    ("weight.1.offset=0", "disagree with what the code was compiled with"),
    # Together: a chunk and an arena that agree with each other, not with the code.
    ("config.prefill_chunk=128 arena_size=98304", "but the code was compiled for"),
]


def main():
    base, tool, work, runner = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    tokens = ",".join(str(i) for i in range(1, 200))
    failures = []
    for i, (edit, expect) in enumerate(EDITS):
        out = os.path.join(work, f"edit{i}.llmc")
        subprocess.run([tool, base, out] + edit.split(), check=True)
        r = subprocess.run(runner + ["run", out, "--tokens", tokens, "--max-new", "4"],
                           capture_output=True, text=True)
        text = r.stdout + r.stderr
        ok = (r.returncode == 1 and "bad artifact format" in text and expect in text
              and "Sanitizer" not in text)
        print(f"{'ok  ' if ok else 'FAIL'} {edit}: exit {r.returncode}: "
              f"{text.strip().splitlines()[-1] if text.strip() else ''}")
        if not ok:
            failures.append(edit)
        os.remove(out)
    # The unedited file runs: the refusals above come from the edits.
    r = subprocess.run(runner + ["run", base, "--tokens", tokens, "--max-new", "4"],
                       capture_output=True, text=True)
    print(f"{'ok  ' if r.returncode == 0 else 'FAIL'} unedited: exit {r.returncode}")
    if r.returncode != 0:
        failures.append("unedited: " + r.stderr)
    if failures:
        sys.exit(f"{len(failures)} of {len(EDITS) + 1} cases failed: {failures}")
    print(f"all {len(EDITS)} edits refused, unedited file runs")


if __name__ == "__main__":
    main()
