#!/usr/bin/env python3
"""Prints A - B of the weight bytes a decode token reads, from two
`llmc inspect` outputs (the `read: ... N of weights` line)."""
import re
import sys


def weights(path):
    m = re.search(r"read:\s+\d+ bytes: (\d+) of weights", open(path).read())
    if not m:
        sys.exit(f"{path}: no 'read: ... of weights' line")
    return int(m.group(1))


print(weights(sys.argv[1]) - weights(sys.argv[2]))
