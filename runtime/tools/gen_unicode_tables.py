#!/usr/bin/env python3
"""Generates runtime/src/unicode_tables.h: the character classes the Llama 3
pre-tokenizer regex needs (\\p{L}, \\p{N}, \\s), as one sorted table of
segments for a binary search in runtime/src/tokenizer.c.

    python3 runtime/tools/gen_unicode_tables.py [--source tokenizers|unicodedata] [-o OUT]

Sources:
  unicodedata  Python's unicodedata: L = Lu Ll Lt Lm Lo, N = Nd Nl No, and
               White_Space from PropList.txt (hard-coded below, checked against
               Zs/Zl/Zp). Its Unicode version is the Python's (14.0 on
               Python 3.11).
  tokenizers   (default, what the committed header uses) the same, plus the
               classes exactly as Hugging Face `tokenizers` sees them: every
               code point is run through its regex engine (Oniguruma, with a
               newer Unicode than Python 3.11's) with \\p{L}, \\p{N} and \\s.
               The generator checks that the engine's sets only *add* code
               points unassigned in unicodedata's version (new characters),
               never drop or move one, and records both versions and the
               difference in the header.

The table: entries are (first_code_point << 2) | class, sorted by code point;
an entry's class holds up to the next entry's code point. Classes: 0 other,
1 letter, 2 number, 3 white space. Code points < 0x80 use a separate 128-byte
table. Output is deterministic for a given source.
"""
import argparse
import sys
import unicodedata

OTHER, LETTER, NUMBER, SPACE = 0, 1, 2, 3

# Unicode PropList.txt White_Space (stable since Unicode 6.3).
WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0),
               (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
               (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]

MAX_CP = 0x10FFFF


def classes_unicodedata():
    cls = bytearray(MAX_CP + 1)
    for cp in range(MAX_CP + 1):
        cat = unicodedata.category(chr(cp))
        if cat[0] == "L" and cat in ("Lu", "Ll", "Lt", "Lm", "Lo"):
            cls[cp] = LETTER
        elif cat in ("Nd", "Nl", "No"):
            cls[cp] = NUMBER
    ws = set()
    for a, b in WHITE_SPACE:
        for cp in range(a, b + 1):
            ws.add(cp)
            assert cls[cp] == OTHER
            cls[cp] = SPACE
    # White_Space == Zs + Zl + Zp + U+0009..U+000D + U+0085 (as Oniguruma
    # defines \s for Unicode); check the hard-coded list agrees.
    zs = {cp for cp in range(MAX_CP + 1)
          if unicodedata.category(chr(cp)) in ("Zs", "Zl", "Zp")}
    assert ws == zs | set(range(0x09, 0x0E)) | {0x85}, "White_Space list out of date"
    return cls


def engine_set(pattern):
    """Code points the tokenizers regex engine matches with `pattern`."""
    from tokenizers import pre_tokenizers, Regex
    split = pre_tokenizers.Split(Regex(pattern), "removed")
    out = set()
    cps = [cp for cp in range(MAX_CP + 1) if not 0xD800 <= cp <= 0xDFFF]
    for k in range(0, len(cps), 65536):
        chunk = cps[k:k + 65536]
        kept = set()
        for piece, _ in split.pre_tokenize_str("".join(map(chr, chunk))):
            kept.update(map(ord, piece))
        out.update(cp for cp in chunk if cp not in kept)
    return out


def classes_tokenizers(base):
    import tokenizers
    cls = bytearray(base)
    added = {LETTER: 0, NUMBER: 0, SPACE: 0}
    for c, pat in ((LETTER, r"\p{L}"), (NUMBER, r"\p{N}"), (SPACE, r"\s")):
        got = engine_set(pat)
        want = {cp for cp in range(MAX_CP + 1) if base[cp] == c}
        missing = want - got
        if missing:
            sys.exit("tokenizers' engine lacks %d code points unicodedata has in "
                     "class %d (e.g. U+%04X); refusing to mix" % (len(missing), c, min(missing)))
        for cp in sorted(got - want):
            if unicodedata.category(chr(cp)) != "Cn":
                sys.exit("U+%04X is assigned in unicodedata (%s) but the engine "
                         "classes it differently" % (cp, unicodedata.category(chr(cp))))
            if cls[cp] != OTHER:
                sys.exit("U+%04X in two classes" % cp)
            cls[cp] = c
            added[c] += 1
    return cls, tokenizers.__version__, added


def segments(cls, lo):
    segs = []
    prev = None
    for cp in range(lo, MAX_CP + 1):
        if cls[cp] != prev:
            segs.append((cp, cls[cp]))
            prev = cls[cp]
    return segs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", choices=("tokenizers", "unicodedata"), default="tokenizers")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args()

    cls = classes_unicodedata()
    provenance = ["Python unicodedata %s (L = Lu Ll Lt Lm Lo, N = Nd Nl No, White_Space)"
                  % unicodedata.unidata_version]
    if args.source == "tokenizers":
        cls, tver, added = classes_tokenizers(cls)
        provenance.append(
            "plus the code points Hugging Face tokenizers %s's regex engine (Oniguruma)" % tver)
        provenance.append(
            "matches and unicodedata %s leaves unassigned: %d letters, %d numbers, %d spaces"
            % (unicodedata.unidata_version, added[LETTER], added[NUMBER], added[SPACE]))

    ascii_cls = [cls[cp] for cp in range(0x80)]
    segs = segments(cls, 0x80)

    lines = []
    w = lines.append
    w("/* Generated by runtime/tools/gen_unicode_tables.py --source %s; do not edit. */" % args.source)
    w("/* Character classes of the Llama 3 pre-tokenizer regex (\\p{L}, \\p{N}, \\s).")
    for p in provenance:
        w(" * " + p)
    w(" * Residual risk: code points the tokenizers engine's Unicode and this table")
    w(" * disagree on (characters newer than both) pre-tokenize differently. */")
    w("#ifndef LLMC_UNICODE_TABLES_H")
    w("#define LLMC_UNICODE_TABLES_H")
    w("")
    w("#include <stdint.h>")
    w("")
    w('#define LLMC_UNICODE_SOURCE "%s"' % args.source)
    w('#define LLMC_UNICODE_UNIDATA_VERSION "%s"' % unicodedata.unidata_version)
    w("enum { LLMC_UC_OTHER = 0, LLMC_UC_LETTER = 1, LLMC_UC_NUMBER = 2, LLMC_UC_SPACE = 3 };")
    w("")
    w("/* Class of each code point below 0x80. */")
    w("static const uint8_t llmc_uc_ascii[128] = {")
    for k in range(0, 128, 32):
        w("  " + ",".join(str(c) for c in ascii_cls[k:k + 32]) + ",")
    w("};")
    w("")
    w("/* (first code point << 2) | class, sorted; from U+0080 to U+10FFFF. */")
    w("#define LLMC_UC_NSEGS %du" % len(segs))
    w("static const uint32_t llmc_uc_segs[LLMC_UC_NSEGS] = {")
    vals = ["0x%x" % ((cp << 2) | c) for cp, c in segs]
    for k in range(0, len(vals), 8):
        w("  " + ",".join(vals[k:k + 8]) + ",")
    w("};")
    w("")
    w("#endif /* LLMC_UNICODE_TABLES_H */")
    text = "\n".join(lines) + "\n"
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
