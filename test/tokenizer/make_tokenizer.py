#!/usr/bin/env python3
"""Trains the small Llama 3-style test tokenizer and records its goldens.

Usage:
    python3 test/tokenizer/make_tokenizer.py [--corpus KJV.txt] [--out-dir test/tokenizer]

Needs PyPI `tokenizers` (the version used is in README.md).  The training text is the
King James Bible from the Debian package `bible-kjv-text` (public domain), dumped as
plain text by the `bible` program of the package `bible-kjv`:

    apt-get install bible-kjv bible-kjv-text
    bible -l80 gen1:1-rev22:21 > kjv.txt  # 4,298,239 bytes, md5 f6da5ed3dff9e3ebfbb4fe1fcf5bd5ea

Without --corpus the script runs that `bible` command itself.  The training text is the
KJV followed by the golden inputs of corpus.json (TRAIN_EXTRA_REPEAT times each), so
that the vocabulary has merges inside multi-byte UTF-8 sequences (CJK, Cyrillic,
Arabic, emoji) and not only byte tokens for them.

What it writes (into --out-dir):
  tokenizer.json          byte-level BPE exactly in the shape of Llama 3's: the Llama 3
                          Split regex + ByteLevel(use_regex=false) pre-tokenizer, no
                          normalizer, ByteLevel decoder, BPE with ignore_merges=true, every
                          byte a token (ByteLevel.alphabet()), BPE_VOCAB tokens (the last
                          two, EXTRA_VOCAB, with no merge: reachable only through
                          ignore_merges), then the special tokens after them (Llama 3.1's
                          layout of the first 16 of its 256 specials), all special=true.
                          Merges are written as "left right" strings like Meta's file.
  tokenizer_config.json   bos_token, eos_token (<|eot_id|> as in the Instruct models), the
                          Llama 3 Instruct chat_template, added_tokens_decoder.
  generation_config.json  bos_token_id, eos_token_id [<|end_of_text|>, <|eot_id|>].
  corpus.json             the golden inputs (a list of strings).
  goldens.json            for every input: the pre-tokenization pieces, the ids with
                          special tokens parsed, the ids with them as plain text, and the
                          decoded text (see README.md for the exact definitions).
"""

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BPE_VOCAB = 3000          # byte alphabet (256) + merges + EXTRA_VOCAB
# Tokens added to the trained vocabulary with no merge that produces them (tiktoken-converted
# vocabularies such as Llama 3's have tokens that merges by rank do not reach): only
# ignore_merges (a pre-token that is itself a token is emitted whole) can produce them.
EXTRA_VOCAB = [" tokenizer", "Llama"]
TRAIN_EXTRA_REPEAT = 20   # each golden input appended this many times to the training text

# Llama 3.1's first 16 special tokens, in its order (ids 128000.. there, BPE_VOCAB.. here).
SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_3|>",
    "<|reserved_special_token_4|>",
    "<|reserved_special_token_5|>",
    "<|reserved_special_token_6|>",
    "<|reserved_special_token_7|>",
]

# Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template (the "\n\n" are real
# newlines there too: JSON escapes).
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}")

KJV_PARAGRAPH = (
    "In the beginning God created the heaven and the earth. And the earth was without "
    "form, and void; and darkness was upon the face of the deep. And the Spirit of God "
    "moved upon the face of the waters. And God said, Let there be light: and there was "
    "light. And God saw the light, that it was good: and God divided the light from the "
    "darkness. And God called the light Day, and the darkness he called Night. And the "
    "evening and the morning were the first day.")

# The golden inputs.  (Lone surrogates cannot be encoded in UTF-8: not here.)
INPUTS = [
    # empty, whitespace only
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\n\n\n",
    " \t\n x",
    "\r\n",
    "a\r\nb\r\n\r\nc",
    # plain words
    "Hello",
    "Hello world",
    " Hello world",
    "hello, world!",
    "And God said, Let there be light: and there was light.",
    # contractions, any case
    "I'M",
    "I'm",
    "you'Re",
    "YOU'RE",
    "don't",
    "DON'T",
    "'S'",
    "'s",
    "it's they've we'll I'd she'LL",
    "''ll'",
    "l'l",
    # digits
    "1234567",
    "3.14159",
    "x=100000",
    "0",
    "12",
    "123",
    "1234",
    "a1b22c333d4444",
    "٣٤٥ ١٢٣٤",            # Arabic-Indic digits (\p{N})
    "²³ ½ Ⅻ",               # other \p{N}
    # whitespace runs and trailing spaces
    "a  b   c",
    "hi   ",
    "hi \n",
    "  leading",
    "a \t b",
    "x\n\n  y",
    "end.\n",
    "   \n   \n",
    # punctuation runs
    "!!!???...",
    "--->",
    "(a)[b]{c}",
    " ...",
    "a,b;c:d",
    "\"quoted\" 'single'",
    "@#$%^&*",
    "foo.bar/baz?q=1&r=2#frag",
    "....\n\n",
    # non-Latin scripts, emoji, combining marks
    "日本語のテキスト",
    "日本語 のテキスト。",
    "中文分词测试",
    "한국어 텍스트",
    "مرحبا بالعالم",
    "Привет, мир!",
    "Ελληνικά γράμματα",
    "עברית",
    "हिन्दी",
    "👋🏽 family: 👨‍👩‍👧",
    "🙂🙂🙂",
    "e\u0301",
    "cafe\u0301 naïve",
    "\u00a0nbsp\u00a0",
    "zero\u200bwidth",
    "\u3000ideographic space",
    # code
    "def f(x):\n    return x**2  # sq",
    "int main(void) {\n\treturn 0;\n}\n",
    "if (a && b || !c) { x += 1; }",
    "<html><body>Hi</body></html>",
    "{\"key\": [1, 2, 3]}",
    # special tokens inside text
    "<|begin_of_text|>Hello<|eot_id|>",
    "a<|start_header_id|>user<|end_header_id|>\n\nhi",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
    "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy is the sky "
    "blue?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|eot_id|><|eot_id|>",
    "<|eot_id",
    "<|not_a_token|>",
    "x<|python_tag|>print(1)<|eom_id|>",
    " <|end_of_text|> ",
    "<|reserved_special_token_7|>",
    "<<|eot_id|>>",
    # long inputs
    KJV_PARAGRAPH,
    "supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "a" * 300,
    " " * 100,
    "ab" * 150,
    "1" * 50,
    "!" * 64,
    # mixed scripts
    "Hello世界Привет",
    "naïve日本abc123",
    "Ωmega Δelta 3×4=12",
    "The café — “smart quotes” … and ‘apostrophes’",
    "x²+y²=z²",
    "tab\tseparated\tvalues",
    "CamelCaseWordsAndACRONYMS",
    "snake_case_identifier",
    "email@example.com",
    "https://example.com/path?x=1",
    # EXTRA_VOCAB: whole tokens only through ignore_merges
    "the tokenizer",
    "Llama 3 tokenizer tokenizers Llamas",
    " tokenizer",
    # whitespace the regex engines may disagree on (\s, \p{L}, \p{N} edges)
    "a\x0bb\x0cc",
    "x\x1cy\x1dz\x1e\x1f!",
    "x\x85y",
    "line\u2028sep\u2029para",
    "thin\u2009space\u202fnarrow",
    "\x00nul\x01",
    "\x7f\x80",
]


def bytes_to_unicode():
    """GPT-2's byte -> printable unicode character table (what ByteLevel uses)."""
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


def kjv_text(path):
    if path:
        with open(path, "rb") as f:
            return f.read().decode("utf-8")
    try:
        out = subprocess.run(["bible", "-l80", "gen1:1-rev22:21"], check=True,
                             capture_output=True).stdout
    except FileNotFoundError:
        sys.exit("make_tokenizer.py: no --corpus and no `bible` program: "
                 "apt-get install bible-kjv bible-kjv-text (Debian), or pass --corpus")
    return out.decode("utf-8")


def train(corpus_text):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB - len(EXTRA_VOCAB), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[])
    # (Not the inputs with EXTRA_VOCAB words: those must not become merges.)
    extra = "".join((s + "\n") * TRAIN_EXTRA_REPEAT for s in INPUTS
                    if s and not any(w.strip() in s for w in EXTRA_VOCAB))
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "train.txt")
        with open(p, "w", encoding="utf-8") as f:
            f.write(corpus_text)
            f.write(extra)
        tok.train([p], trainer)
    assert tok.get_vocab_size(with_added_tokens=False) == BPE_VOCAB - len(EXTRA_VOCAB)
    j = json.loads(tok.to_str())
    b2u = bytes_to_unicode()
    for w in EXTRA_VOCAB:
        key = "".join(b2u[b] for b in w.encode("utf-8"))
        assert key not in j["model"]["vocab"], w
        j["model"]["vocab"][key] = len(j["model"]["vocab"])
    tok = Tokenizer.from_str(json.dumps(j))
    assert tok.get_vocab_size(with_added_tokens=False) == BPE_VOCAB, tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=False,
                                       rstrip=False, single_word=False) for s in SPECIALS])
    bot = SPECIALS[0]
    bot_id = tok.token_to_id(bot)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single=f"{bot}:0 $A:0", pair=f"{bot}:0 $A:0 {bot}:1 $B:1",
                                      special_tokens=[(bot, bot_id)]),
    ])
    # Reload from JSON, forcing the model fields to exactly Llama 3's values.
    j = json.loads(tok.to_str())
    m = j["model"]
    m.update(dropout=None, unk_token=None, continuing_subword_prefix=None,
             end_of_word_suffix=None, fuse_unk=False, byte_fallback=False, ignore_merges=True)
    return j


def check_shape(j):
    """Asserts the tokenizer.json has Llama 3's structure (what the importer accepts)."""
    assert j["normalizer"] is None
    pt = j["pre_tokenizer"]
    assert pt["type"] == "Sequence" and len(pt["pretokenizers"]) == 2, pt
    sp, bl = pt["pretokenizers"]
    assert sp == {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated",
                  "invert": False}, sp
    assert bl == {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": False}, bl
    assert j["decoder"]["type"] == "ByteLevel", j["decoder"]
    m = j["model"]
    assert m["type"] == "BPE" and m["ignore_merges"] is True and m["byte_fallback"] is False
    b2u = bytes_to_unicode()
    for b in range(256):
        assert b2u[b] in m["vocab"], b
    ids = sorted(m["vocab"].values())
    assert ids == list(range(BPE_VOCAB))
    added = j["added_tokens"]
    assert [a["content"] for a in added] == SPECIALS
    assert [a["id"] for a in added] == list(range(BPE_VOCAB, BPE_VOCAB + len(SPECIALS)))
    assert all(a["special"] for a in added)


def tokenizer_config(j):
    added = {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip",
                                             "single_word", "special")}
             for a in j["added_tokens"]}
    return {
        "added_tokens_decoder": added,
        "bos_token": "<|begin_of_text|>",
        "chat_template": LLAMA3_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": True,
        "eos_token": "<|eot_id|>",
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def generation_config(tok):
    return {
        "bos_token_id": tok.token_to_id("<|begin_of_text|>"),
        "eos_token_id": [tok.token_to_id("<|end_of_text|>"), tok.token_to_id("<|eot_id|>")],
        "do_sample": True,
        "temperature": 0.6,
        "top_p": 0.9,
    }


def plain_text_tokenizer(j):
    """The same tokenizer with no added tokens: "<|eot_id|>" in the text is BPE-encoded as
    ordinary text.  (`tokenizers` has no encode flag for this; HF transformers'
    split_special_tokens=True does the equivalent for special tokens.)"""
    k = copy.deepcopy(j)
    k["added_tokens"] = []
    k["post_processor"] = None
    return Tokenizer.from_str(json.dumps(k))


def write_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def goldens(tok, plain):
    out = []
    for text in INPUTS:
        enc = tok.encode(text, add_special_tokens=False)
        enc_plain = plain.encode(text, add_special_tokens=False)
        pieces = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        # The pieces above are after ByteLevel (GPT-2 characters); also give the raw text
        # pieces, i.e. what the Split regex alone produces.
        split_only = pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False)
        raw_pieces = [p for p, _ in split_only.pre_tokenize_str(text)]
        assert "".join(raw_pieces) == text
        out.append({
            "text": text,
            "pieces": raw_pieces,
            "pieces_bytelevel": pieces,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "ids_no_special": enc_plain.ids,
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True),
        })
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", help="KJV text (bible -l80 gen1:1-rev22:21); default: run bible")
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args(argv[1:])
    text = kjv_text(a.corpus)
    print(f"corpus: {len(text.encode('utf-8'))} bytes, md5 "
          f"{hashlib.md5(text.encode('utf-8')).hexdigest()}")
    j = train(text)
    check_shape(j)
    tok = Tokenizer.from_str(json.dumps(j))
    plain = plain_text_tokenizer(j)
    os.makedirs(a.out_dir, exist_ok=True)
    # Merges as "left right" strings, as in Meta's Llama 3 tokenizer.json (tokenizers >=
    # 0.20 writes [left, right] pairs; it reads both; the importer's tests cover both).
    out = json.loads(tok.to_str())
    out["model"]["merges"] = [f"{l} {r}" for l, r in out["model"]["merges"]]
    write_json(os.path.join(a.out_dir, "tokenizer.json"), out)
    # Reload what was written: the goldens must come from the committed file.
    tok = Tokenizer.from_file(os.path.join(a.out_dir, "tokenizer.json"))
    check_shape(json.loads(tok.to_str()))
    write_json(os.path.join(a.out_dir, "tokenizer_config.json"), tokenizer_config(j))
    write_json(os.path.join(a.out_dir, "generation_config.json"), generation_config(tok))
    write_json(os.path.join(a.out_dir, "corpus.json"), INPUTS)
    g = goldens(tok, plain)
    write_json(os.path.join(a.out_dir, "goldens.json"),
               {"tokenizers_version": tokenizers.__version__,
                "vocab_size": tok.get_vocab_size(with_added_tokens=True),
                "cases": g}, indent=1)
    for c in g:
        assert c["decoded"] == c["text"], c
    print(f"tokenizers {tokenizers.__version__}: vocab {tok.get_vocab_size()} "
          f"({BPE_VOCAB} BPE + {len(SPECIALS)} special), {len(g)} golden inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
