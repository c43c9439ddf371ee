#!/usr/bin/env python3
"""Checks the ids `llmc chat --verbose-prompt` fed the model (its stderr:
"start ids:" then one "message ids:" line per message) against a form of
goldens.json; prints "FORM: the same N ids" or where they first differ."""
import json
import sys

err, goldens, form = sys.argv[1:4]
ids = []
for line in open(err):
    for tag in ("start ids:", "message ids:"):
        if tag in line:
            ids += [int(t) for t in line.split(tag, 1)[1].split()]
want = json.load(open(goldens))["forms"][form]["ids"]
if ids == want:
    print(f"{form}: the same {len(ids)} ids")
else:
    k = next((i for i, (a, b) in enumerate(zip(ids, want)) if a != b), min(len(ids), len(want)))
    print(f"{form}: differ at {k}: llmc {ids[k:k + 8]}, transformers {want[k:k + 8]} "
          f"({len(ids)} vs {len(want)} ids)")
