"""Reader (and writer) for the golden logits files in test/goldens/*.bin.

Layout (all little-endian, no padding):
    offset  size               field
    0       8                  magic  b"LLMCGOLD"
    8       4   u32            version (= 1)
    12      4   u32            vocab
    16      4   u32            n_prompt
    20      4   u32            n_steps
    24      4*n_prompt  i32    prompt[n_prompt]          token ids fed as the prompt
    ...     4*n_steps   i32    tokens[n_steps]           greedy tokens, tokens[s] = argmax(logits[s])
    ...     4*n_steps*vocab f32 logits[n_steps][vocab]  logits[0]: after the prompt (last position);
                                                        logits[s]: after feeding tokens[s-1]

Usage:
    from golden import load
    g = load("test/goldens/llama3-gqa.short.bin")
    g.prompt, g.tokens   # numpy int32 arrays
    g.logits             # numpy float32 array [n_steps, vocab]
"""

import struct
from collections import namedtuple

import numpy as np

MAGIC = b"LLMCGOLD"
VERSION = 1
_HEADER = struct.Struct("<8sIIII")

Golden = namedtuple("Golden", "vocab prompt tokens logits")


def loads(data):
    magic, version, vocab, n_prompt, n_steps = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise ValueError("not a golden file (bad magic %r)" % (magic,))
    if version != VERSION:
        raise ValueError("unsupported golden version %d" % version)
    want = _HEADER.size + 4 * (n_prompt + n_steps + n_steps * vocab)
    if len(data) != want:
        raise ValueError("golden file is %d bytes, expected %d" % (len(data), want))
    off = _HEADER.size
    prompt = np.frombuffer(data, "<i4", n_prompt, off).astype(np.int32)
    off += 4 * n_prompt
    tokens = np.frombuffer(data, "<i4", n_steps, off).astype(np.int32)
    off += 4 * n_steps
    logits = np.frombuffer(data, "<f4", n_steps * vocab, off).astype(np.float32)
    return Golden(vocab, prompt, tokens, logits.reshape(n_steps, vocab))


def load(path):
    with open(path, "rb") as f:
        return loads(f.read())


def dumps(prompt, tokens, logits):
    logits = np.asarray(logits, dtype=np.float32)
    n_steps, vocab = logits.shape
    assert len(tokens) == n_steps
    return (_HEADER.pack(MAGIC, VERSION, vocab, len(prompt), n_steps)
            + np.asarray(prompt, dtype="<i4").tobytes()
            + np.asarray(tokens, dtype="<i4").tobytes()
            + logits.astype("<f4").tobytes())


def save(path, prompt, tokens, logits):
    with open(path, "wb") as f:
        f.write(dumps(prompt, tokens, logits))
