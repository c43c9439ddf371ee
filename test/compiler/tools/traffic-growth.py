"""Checks how `llmc inspect`'s bytes per decode token grow with the position:
    traffic-growth.py AT_P0.txt AT_P1.txt P1 BYTES_PER_POSITION
Prints the growth, and fails unless it is P1 x BYTES_PER_POSITION (the
expected rate is derived by hand from the model shape in the calling test)."""
import re
import sys


def total(path):
    with open(path) as f:
        m = re.search(r"per token: +\d+ dispatches move (\d+) bytes", f.read())
    if not m:
        sys.exit(f"{path}: no 'per token' line")
    return int(m.group(1))


p0, p1, pos, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
grew = total(p1) - total(p0)
print(f"grew by {grew} bytes = {pos} x {grew // pos if pos else 0}")
sys.exit(0 if grew == pos * rate else 1)
