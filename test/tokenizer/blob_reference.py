#!/usr/bin/env python3
"""Reference reader and encoder of the llmc tokenizer blob (runtime/include/llmc_tokenizer_format.h).

Checks the blob that the compiler writes (compiler/frontend/Tokenizer.cpp, via the
test tool llmc-tokenizer-blob) independently of the C runtime:

  1. every table is in bounds, aligned and ordered as the format says;
  2. the blob agrees with tokenizer.json (token bytes = the GPT-2 byte-level key decoded,
     merge ranks = positions in model.merges, specials = added_tokens, bos/eos/eot);
  3. encoding every golden input FROM THE BLOB ALONE (added-token matching, the Llama 3
     regex via the PyPI `regex` module, byte-level BPE by merge rank honouring
     ignore_merges) reproduces goldens.json: ids with special tokens parsed, ids with
     them as plain text, the decoded text, and the regex pieces.

Usage:
  python3 test/tokenizer/blob_reference.py --tool build/bin/llmc-tokenizer-blob \\
      [--model-dir test/tokenizer] [--goldens test/tokenizer/goldens.json]
  python3 test/tokenizer/blob_reference.py --blob tok.bin ...     # an existing blob

Needs Python 3 and `regex` (pip install regex); no `tokenizers`.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import regex

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

MAGIC = b"LLMCTOK\0"
VERSION = 1
PRETOKENIZER_LLAMA3 = 1
OPT_IGNORE_MERGES = 1
FLAG_SPECIAL, FLAG_ADDED, FLAG_UNUSED = 1, 2, 4

HEADER_FIELDS = ("version vocab_size num_merges num_special num_sorted pretokenizer options "
                 "bos_id eos_id eot_id chat_template strings_offset strings_size tokens_offset "
                 "sorted_offset merges_offset specials_offset byte_tokens_offset").split()
HEADER_FMT = "<8s7I3i8I4I"
assert struct.calcsize(HEADER_FMT) == 96


class Blob:
    """A parsed, bounds-checked blob."""

    def __init__(self, data):
        if len(data) < 96:
            raise ValueError("blob shorter than its header")
        vals = struct.unpack_from(HEADER_FMT, data, 0)
        if vals[0] != MAGIC:
            raise ValueError(f"bad magic {vals[0]!r}")
        self.h = dict(zip(HEADER_FIELDS, vals[1:1 + len(HEADER_FIELDS)]))
        self.reserved = vals[1 + len(HEADER_FIELDS):]
        h = self.h
        if h["version"] != VERSION:
            raise ValueError(f"version {h['version']}")
        n = h["vocab_size"]

        def table(off_key, count, size):
            off = h[off_key]
            if off % 4 or off + count * size > len(data):
                raise ValueError(f"{off_key} {off} (+{count}x{size}) out of bounds / unaligned")
            return off

        so, ss = h["strings_offset"], h["strings_size"]
        if so + ss > len(data):
            raise ValueError("strings out of bounds")
        strings = data[so:so + ss]
        to = table("tokens_offset", n, 12)
        self.tokens = []  # (bytes, flags)
        for i in range(n):
            off, ln, flags = struct.unpack_from("<3I", data, to + 12 * i)
            if off + ln > ss:
                raise ValueError(f"token {i}: string [{off}, {off + ln}) outside strings")
            self.tokens.append((bytes(strings[off:off + ln]), flags))
        sto = table("sorted_offset", h["num_sorted"], 4)
        if h["num_sorted"] > n:
            raise ValueError("num_sorted > vocab_size")
        self.sorted = list(struct.unpack_from(f"<{h['num_sorted']}I", data, sto))
        mo = table("merges_offset", h["num_merges"], 16)
        self.merges = [struct.unpack_from("<4I", data, mo + 16 * i) for i in range(h["num_merges"])]
        spo = table("specials_offset", h["num_special"], 4)
        self.specials = list(struct.unpack_from(f"<{h['num_special']}I", data, spo))
        bo = table("byte_tokens_offset", 256, 4)
        self.byte_tokens = list(struct.unpack_from("<256I", data, bo))
        self.data = data

    def check_invariants(self):
        h, n = self.h, self.h["vocab_size"]
        assert h["pretokenizer"] == PRETOKENIZER_LLAMA3, h
        assert all(r == 0 for r in self.reserved), self.reserved
        for i, (b, f) in enumerate(self.tokens):
            assert (f & FLAG_UNUSED) == 0 or (len(b) == 0 and f == FLAG_UNUSED), (i, b, f)
            assert (f & FLAG_UNUSED) or len(b) > 0, (i, f)
            assert not (f & FLAG_SPECIAL) or (f & FLAG_ADDED), (i, f)
        # sorted: ids of non-special used tokens, strictly increasing bytes
        for k, i in enumerate(self.sorted):
            assert i < n and not self.tokens[i][1] & (FLAG_SPECIAL | FLAG_UNUSED), (k, i)
            if k:
                assert self.tokens[self.sorted[k - 1]][0] < self.tokens[i][0], k
        assert len(set(self.sorted)) == len(self.sorted)
        # merges: sorted by (left, right), ranks distinct, result = left + right
        ranks = set()
        for k, (l, r, rank, res) in enumerate(self.merges):
            assert max(l, r, res) < n, k
            if k:
                assert self.merges[k - 1][:2] < (l, r), k
            assert rank not in ranks
            ranks.add(rank)
            assert self.tokens[res][0] == self.tokens[l][0] + self.tokens[r][0], k
        # specials: added tokens, by length descending
        for k, i in enumerate(self.specials):
            assert i < n and self.tokens[i][1] & FLAG_ADDED, (k, i)
            if k:
                assert len(self.tokens[self.specials[k - 1]][0]) >= len(self.tokens[i][0]), k
        assert set(self.specials) == {i for i, (_, f) in enumerate(self.tokens) if f & FLAG_ADDED}
        for b, i in enumerate(self.byte_tokens):
            assert i < n and self.tokens[i][0] == bytes([b]), (b, i)
        for k in ("bos_id", "eos_id", "eot_id"):
            assert -1 <= h[k] < n, (k, h[k])


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def check_against_tokenizer_json(blob, model_dir):
    """The blob says what tokenizer.json (and the configs) say."""
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    u2b = {c: b for b, c in bytes_to_unicode().items()}
    vocab = j["model"]["vocab"]
    added = j.get("added_tokens") or []
    n = max(list(vocab.values()) + [a["id"] for a in added]) + 1
    assert blob.h["vocab_size"] == n, (blob.h["vocab_size"], n)
    key_of = {}
    for key, i in vocab.items():
        assert blob.tokens[i][0] == bytes(u2b[c] for c in key), (key, i)
        key_of[i] = key
    for a in added:
        b, f = blob.tokens[a["id"]]
        assert b == a["content"].encode("utf-8"), a
        assert f == FLAG_ADDED | (FLAG_SPECIAL if a["special"] else 0), (a, f)
    used = set(vocab.values()) | {a["id"] for a in added}
    for i in range(n):
        if i not in used:
            assert blob.tokens[i] == (b"", FLAG_UNUSED), i
    want = {}
    for rank, m in enumerate(j["model"]["merges"]):
        l, r = m.split(" ") if isinstance(m, str) else m
        want[(vocab[l], vocab[r])] = (rank, vocab[l + r])
    got = {(l, r): (rank, res) for l, r, rank, res in blob.merges}
    assert got == want
    assert bool(blob.h["options"] & OPT_IGNORE_MERGES) == bool(j["model"].get("ignore_merges"))
    ids = {a["content"]: a["id"] for a in added}
    assert blob.h["eot_id"] == ids.get("<|eot_id|>", -1)
    cfg_path = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.exists(cfg_path):
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
        bos = cfg.get("bos_token")
        if isinstance(bos, dict):
            bos = bos["content"]
        if bos is not None:
            assert blob.h["bos_id"] == ids[bos], (blob.h["bos_id"], bos)
    return j


class Encoder:
    """Encodes and decodes from the blob alone."""

    def __init__(self, blob):
        self.blob = blob
        self.vocab = {blob.tokens[i][0]: i for i in blob.sorted}
        self.ranks = {(l, r): (rank, res) for l, r, rank, res in blob.merges}
        self.specials = [(blob.tokens[i][0].decode("utf-8"), i, blob.tokens[i][1])
                         for i in blob.specials]
        self.ignore_merges = bool(blob.h["options"] & OPT_IGNORE_MERGES)
        self.pattern = regex.compile(LLAMA3_PATTERN)

    def split_added(self, text, parse_special):
        """[(segment, None) | (None, id)]: added tokens matched leftmost-longest (specials
        only when parse_special; non-special added tokens always, as in HF)."""
        cands = [(s, i) for s, i, f in self.specials if parse_special or not f & FLAG_SPECIAL]
        out, start, pos = [], 0, 0
        while pos < len(text):
            for s, i in cands:  # longest first
                if text.startswith(s, pos):
                    if start < pos:
                        out.append((text[start:pos], None))
                    out.append((None, i))
                    pos += len(s)
                    start = pos
                    break
            else:
                pos += 1
        if start < len(text):
            out.append((text[start:], None))
        return out

    def pieces(self, text):
        """The Split(regex, Isolated) pieces: matches and the gaps between them."""
        out, last = [], 0
        for m in self.pattern.finditer(text):
            if m.start() > last:
                out.append(text[last:m.start()])
            if m.end() > m.start():
                out.append(m.group())
            last = m.end()
        if last < len(text):
            out.append(text[last:])
        return out

    def bpe(self, piece, ignore_merges=None):
        data = piece.encode("utf-8")
        if ignore_merges is None:
            ignore_merges = self.ignore_merges
        if ignore_merges and data in self.vocab:
            return [self.vocab[data]]
        syms = [self.blob.byte_tokens[b] for b in data]
        while len(syms) > 1:
            best = None
            for k in range(len(syms) - 1):
                m = self.ranks.get((syms[k], syms[k + 1]))
                if m and (best is None or m[0] < best[0]):
                    best = (m[0], k, m[1])
            if best is None:
                break
            _, k, res = best
            syms[k:k + 2] = [res]
        return syms

    def encode(self, text, parse_special=True, ignore_merges=None):
        ids = []
        for seg, sid in self.split_added(text, parse_special):
            if sid is not None:
                ids.append(sid)
                continue
            for p in self.pieces(seg):
                ids.extend(self.bpe(p, ignore_merges))
        return ids

    def decode(self, ids, skip_special=False):
        out = b"".join(self.blob.tokens[i][0] for i in ids
                       if not (skip_special and self.blob.tokens[i][1] & FLAG_SPECIAL))
        return out.decode("utf-8", errors="replace")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--tool", help="llmc-tokenizer-blob executable (writes the blob)")
    g.add_argument("--blob", help="an existing blob file")
    ap.add_argument("--model-dir", default=here)
    ap.add_argument("--goldens", default=os.path.join(here, "goldens.json"))
    a = ap.parse_args(argv[1:])

    if a.tool:
        with tempfile.TemporaryDirectory() as td:
            out = os.path.join(td, "tokenizer.blob")
            subprocess.run([a.tool, a.model_dir, out], check=True)
            with open(out, "rb") as f:
                data = f.read()
    else:
        with open(a.blob, "rb") as f:
            data = f.read()

    blob = Blob(data)
    blob.check_invariants()
    check_against_tokenizer_json(blob, a.model_dir)
    enc = Encoder(blob)
    with open(a.goldens, encoding="utf-8") as f:
        goldens = json.load(f)
    failures = 0
    differs_without_ignore_merges = 0
    for c in goldens["cases"]:
        text = c["text"]
        got = {
            "pieces": enc.pieces(text),
            "ids": enc.encode(text, parse_special=True),
            "ids_no_special": enc.encode(text, parse_special=False),
            "decoded": enc.decode(c["ids"]),
            "decoded_skip_special": enc.decode(c["ids"], skip_special=True),
        }
        for k, v in got.items():
            if v != c[k]:
                failures += 1
                print(f"MISMATCH {k} for {text!r}:\n  golden {c[k]!r}\n  blob   {v!r}")
        if enc.encode(text, ignore_merges=not enc.ignore_merges) != c["ids"]:
            differs_without_ignore_merges += 1
    n = len(goldens["cases"])
    print(f"blob_reference: {len(data)} bytes, vocab {blob.h['vocab_size']}, "
          f"{blob.h['num_merges']} merges, {blob.h['num_special']} specials; "
          f"{n} golden inputs, {failures} mismatches; ignore_merges changes "
          f"{differs_without_ignore_merges} of them")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
