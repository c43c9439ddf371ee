#!/usr/bin/env python3
"""Writes a tiny Llama-architecture GGUF file with the reference writer.

Usage: make_gguf.py OUT.gguf [--bad-type TENSOR] [--tiny]

The file (deterministic: fixed seed) holds llama.* hyper-parameters, a
tokenizer.ggml.* vocabulary (string / f32 / i32 arrays), a few scalars of
every other GGUF value type, and F32 / F16 / BF16 / Q8_0 / Q4_0 tensors quantized
with gguf.quants.quantize. test/gguf/read-gguf.test reads it back with
llmc-gguf-dump and cross-checks against gguf.GGUFReader (check_dump.py).

--tiny writes 32-wide tensors (a ~3 KB file, a fuzzing seed:
compiler/frontend/fuzz/GGUFFuzz.cpp).

--bad-type TENSOR patches that tensor's ggml type to 99 after writing, to
check the reader's error on an otherwise valid gguf-py file.
"""
import argparse
import struct

import numpy as np
import gguf
from gguf.constants import GGMLQuantizationType as Q


def write(path, tiny):
    rng = np.random.default_rng(0)
    n = 32 if tiny else 64  # embedding width
    f = 32 if tiny else 128  # feed-forward width
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("llmc-tiny")
    w.add_context_length(128)
    w.add_embedding_length(n)
    w.add_block_count(1)
    w.add_feed_forward_length(f)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_rope_dimension_count(16)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(8)
    w.add_file_type(7)  # LLAMA_FTYPE_MOSTLY_Q8_0
    w.add_quantization_version(2)

    tokens = ["<|begin_of_text|>", "<|end_of_text|>", "a", "b", "ab", "\u0120a",
              "\u00e9t\u00e9", "\n"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 1, 1, 1, 1, 1, 6])
    w.add_token_scores([0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.5])
    w.add_token_merges(["a b", "\u0120 a"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_add_bos_token(True)

    # The remaining value types.
    w.add_uint8("llmc.test.u8", 250)
    w.add_int8("llmc.test.i8", -100)
    w.add_uint16("llmc.test.u16", 65000)
    w.add_int16("llmc.test.i16", -32000)
    w.add_int32("llmc.test.i32", -123456)
    w.add_uint64("llmc.test.u64", 1 << 40)
    w.add_int64("llmc.test.i64", -(1 << 40))
    w.add_float64("llmc.test.f64", 0.125)
    w.add_key_value("llmc.test.u64s", [1, 2, 1 << 63], gguf.GGUFValueType.ARRAY,
                    sub_type=gguf.GGUFValueType.UINT64)
    w.add_key_value("llmc.test.bools", [True, False], gguf.GGUFValueType.ARRAY,
                    sub_type=gguf.GGUFValueType.BOOL)

    emb = rng.standard_normal((8, n), dtype=np.float32)  # ggml dims [n, 8]
    w.add_tensor("token_embd.weight", emb)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(n, dtype=np.float32))
    wq = rng.standard_normal((2 if tiny else n, n), dtype=np.float32)
    w.add_tensor("blk.0.attn_q.weight", gguf.quants.quantize(wq, Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    wk = rng.standard_normal((2 if tiny else 32, n), dtype=np.float32)
    w.add_tensor("blk.0.attn_k.weight", gguf.quants.quantize(wk, Q.Q4_0),
                 raw_dtype=Q.Q4_0)
    up = rng.standard_normal((2 if tiny else f, n), dtype=np.float32)
    w.add_tensor("blk.0.ffn_up.weight", up.astype(np.float16))
    down = rng.standard_normal((2 if tiny else n, f), dtype=np.float32)
    w.add_tensor("blk.0.ffn_down.weight", gguf.quants.quantize(down, Q.BF16),
                 raw_dtype=Q.BF16)
    w.add_tensor("output_norm.weight", np.ones(n, dtype=np.float32))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def patch_type(path, name):
    """Sets the ggml type of tensor `name` to 99 in place."""
    data = bytearray(open(path, "rb").read())
    key = struct.pack("<Q", len(name)) + name.encode()
    at = data.find(key)
    assert at >= 0, name
    at += len(key)
    (n_dims,) = struct.unpack_from("<I", data, at)
    at += 4 + 8 * n_dims
    struct.pack_into("<I", data, at, 99)
    open(path, "wb").write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bad-type", metavar="TENSOR")
    ap.add_argument("--tiny", action="store_true")
    args = ap.parse_args()
    write(args.out, args.tiny)
    if args.bad_type:
        patch_type(args.out, args.bad_type)


if __name__ == "__main__":
    main()
