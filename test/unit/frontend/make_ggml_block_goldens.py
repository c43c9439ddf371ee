#!/usr/bin/env python3
"""Writes ggml_blocks.bin: random blocks of every ggml format llmc decodes,
with their values as the `gguf` package dequantizes them (the reference
GGMLBlocksTest.cpp compares compiler/frontend/GGMLBlocks.cpp against, bit for
bit).

Usage: make_ggml_block_goldens.py OUT.bin   (numpy and gguf >= 0.10.0)

Blocks are random bytes, except the f16 scale fields, which are set to finite
values (normal ones of both signs, a subnormal, zero) so every value compares.
File layout, little-endian, per format: u32 ggml type, u32 block count,
u32 bytes per block, u32 elements per block, the blocks, then the values as
f32. The file ends with a u32 0xFFFFFFFF.
"""
import struct
import sys

import numpy as np
from gguf import quants
from gguf.constants import GGMLQuantizationType as Q

# Byte offsets of each format's f16 fields (ggml-common.h).
HALF_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.IQ4_NL: [0], Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2],
    Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
BLOCKS = 16


def main(out):
    rng = np.random.default_rng(20261127)
    specials = np.array([6e-6, -3e-5, 0.0, 1.5, -0.75], dtype=np.float16)
    with open(out, "wb") as f:
        for qtype, fields in HALF_FIELDS.items():
            elems, nbytes = quants.GGML_QUANT_SIZES[qtype]
            raw = rng.integers(0, 256, size=(BLOCKS, nbytes), dtype=np.uint8)
            for i in range(BLOCKS):
                for off in fields:
                    v = (specials[i % len(specials)] if i < len(specials)
                         else np.float16(rng.normal() * 0.02))
                    raw[i, off:off + 2] = np.frombuffer(np.float16(v).tobytes(), np.uint8)
            values = quants.dequantize(raw.reshape(-1), qtype).astype(np.float32)
            assert values.size == BLOCKS * elems and np.isfinite(values).all()
            f.write(struct.pack("<4I", int(qtype), BLOCKS, nbytes, elems))
            f.write(raw.tobytes())
            f.write(values.astype("<f4").tobytes())
        f.write(struct.pack("<I", 0xFFFFFFFF))


if __name__ == "__main__":
    main(sys.argv[1])
