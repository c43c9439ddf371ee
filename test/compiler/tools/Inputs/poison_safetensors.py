#!/usr/bin/env python3
"""Writes a non-finite value into one tensor of a safetensors file, in place.

usage: poison_safetensors.py FILE TENSOR INDEX nan|inf

INDEX counts elements of TENSOR in row-major order. Only the standard
library: the header is 8 bytes of little-endian length, then JSON.
"""
import json
import struct
import sys

BITS = {  # (nan, inf) bit patterns per dtype
    "F32": (b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f"),
    "F16": (b"\x00\x7e", b"\x00\x7c"),
    "BF16": (b"\xc0\x7f", b"\x80\x7f"),
}


def main():
    path, name, index, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        t = header[name]
        value = BITS[t["dtype"]][0 if kind == "nan" else 1]
        f.seek(8 + n + t["data_offsets"][0] + index * len(value))
        f.write(value)
    print(f"{name}[{index}] = {kind} ({t['dtype']})")


if __name__ == "__main__":
    main()
