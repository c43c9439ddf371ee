#!/usr/bin/env python3
"""What a linked program is made of, from the GNU ld map file it was linked
with (-Wl,-Map): the bytes of allocated, initialised sections (text, rodata,
data; not bss) that came from the llmc runtime (libllmc_runtime.a or its
_nomsg variant), from the
model's kernels (lib<model>.a) and from everything else (the app, libc's
start-up code).

    size_split.py program.map program
"""
import os
import re
import sys


def main():
    mapfile, binary = sys.argv[1], sys.argv[2]
    parts = {"runtime": 0, "model code": 0, "the rest": 0}
    text = open(mapfile, encoding="utf-8", errors="replace").read()
    # Only what was kept: the part after "Linker script and memory map".
    text = text.split("Linker script and memory map", 1)[-1]
    output = None
    pending = None  # an input section whose name filled its line
    for line in text.splitlines():
        m = re.match(r"^(\.\S+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+", line)
        if m:  # an output section
            output = m.group(1)
            continue
        m = re.match(r"^ (\.\S+)$", line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^ (\.\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if not m or (m.group(1) is None and pending is None):
            pending = None
            continue
        name = m.group(1) or pending
        pending = None
        size, origin = int(m.group(3), 16), m.group(4)
        if output is None or not re.match(r"^\.(text|rodata|data|init_array|fini_array|eh_frame|gcc_except)", output):
            continue
        if name.startswith(".bss") or name.startswith(".tbss"):
            continue
        if re.search(r"libllmc_runtime(_nomsg)?\.a", origin):
            parts["runtime"] += size
        elif re.search(r"lib[^/]*\.a\(llmc_model_", origin):
            parts["model code"] += size
        else:
            parts["the rest"] += size
    total = os.path.getsize(binary)
    print(f"{os.path.basename(binary)}: {total} bytes stripped; text + rodata + data: "
          + ", ".join(f"{k} {v}" for k, v in parts.items()))


if __name__ == "__main__":
    main()
