#!/usr/bin/env python3
"""Cross-checks llmc-gguf-dump's output against gguf-py's GGUFReader.

Usage: check_dump.py FILE.gguf DUMP.txt

Compares version, alignment, data section offset, every metadata key (order
and type) and every tensor (order, ggml type, dims, absolute offset, byte
size). Prints one OK line, or the mismatches and exits 1.
"""
import re
import sys

from gguf import GGUFReader
from gguf.constants import GGUFValueType as V

NAMES = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16",
         V.UINT32: "u32", V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool",
         V.STRING: "string", V.ARRAY: "array", V.UINT64: "u64",
         V.INT64: "i64", V.FLOAT64: "f64"}


def parse_dump(text):
    header, keys, tensors = {}, [], []
    section = None
    for line in text.splitlines():
        if not line.startswith("  "):
            k, v = line.split(": ", 1)
            header[k] = int(v)
            section = k
        elif section == "metadata":
            m = re.match(r"  (\S+): (array of \S+ \[\d+\]|\S+) = ", line)
            key, typ = m.group(1), m.group(2)
            typ = re.sub(r" \[\d+\]$", "", typ)
            keys.append((key, typ))
        elif section == "tensors":
            m = re.match(r"  (\S+): (\S+) \[([\d, ]+)\] offset=(\d+) size=(\d+)$",
                         line)
            tensors.append((m.group(1), m.group(2),
                            [int(d) for d in m.group(3).split(", ")],
                            int(m.group(4)), int(m.group(5))))
    return header, keys, tensors


def main():
    path, dump = sys.argv[1], sys.argv[2]
    header, keys, tensors = parse_dump(open(dump).read())
    r = GGUFReader(path)
    errors = []

    def expect(what, ours, theirs):
        if ours != theirs:
            errors.append(f"{what}: llmc-gguf-dump says {ours!r}, "
                          f"GGUFReader says {theirs!r}")

    expect("version", header["version"], int(r.fields["GGUF.version"].parts[0][0]))
    expect("alignment", header["alignment"], int(r.alignment))
    expect("data_offset", header["data_offset"], int(r.data_offset))
    theirs = []
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        t = NAMES[field.types[0]]
        if field.types[0] == V.ARRAY:
            t = "array of " + NAMES[field.types[1]]
        theirs.append((name, t))
    expect("metadata", keys, theirs)
    expect("tensor count", len(tensors), len(r.tensors))
    for ours, t in zip(tensors, r.tensors):
        expect(f"tensor {t.name}",
               ours, (t.name, t.tensor_type.name, [int(d) for d in t.shape],
                      int(t.data_offset), int(t.n_bytes)))
    if errors:
        print("\n".join(errors))
        return 1
    print(f"OK: {len(keys)} keys and {len(tensors)} tensors match "
          f"gguf.GGUFReader")
    return 0


if __name__ == "__main__":
    sys.exit(main())
