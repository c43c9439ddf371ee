#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (scripts/fuzz.sh).

usage: make_seeds.py FIXTURES_DIR   (the build's fixtures: build/fixtures)

test/fuzz/<corpus>/ gets small valid inputs, so the fuzzers start past the
first checks of each format:
  config/          the fixtures' config.json files (transformers 4 and 5 forms)
  tokenizer-json/  the llama3-tok fixture's tokenizer.json cut to its first
                   300 tokens and merges among them, and its special tokens
  gguf/            make_gguf.py --tiny (tensors and every value type), and a
                   GGUF holding that small vocabulary as tokenizer.ggml.*
  safetensors/     two small checkpoints (f32 and bf16, a few tensors)
  text/            prompts for the runtime's tokenizer: prose, numbers,
                   code, whitespace runs, non-Latin scripts, special tokens
The artifact and metadata fuzzers are seeded by scripts/fuzz.sh with
artifacts built by this checkout (their format changes with it).
"""
import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def small_tokenizer(fixtures):
    t = json.load(open(os.path.join(fixtures, "llama3-tok", "tokenizer.json")))
    vocab = {k: v for k, v in t["model"]["vocab"].items() if v < 300}
    merges = []
    for m in t["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    t["model"]["vocab"] = vocab
    t["model"]["merges"] = merges
    for i, a in enumerate(t["added_tokens"]):
        a["id"] = 300 + i
    t["post_processor"] = None
    return t


def write_safetensors(path, tensors):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    fixtures = sys.argv[1]
    out = {d: os.path.join(HERE, d)
           for d in ("config", "tokenizer-json", "gguf", "safetensors", "text")}
    for d in out.values():
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for name in sorted(os.listdir(fixtures)):
        cfg = os.path.join(fixtures, name, "config.json")
        if os.path.isfile(cfg):
            shutil.copy(cfg, os.path.join(out["config"], name + ".json"))

    tok = small_tokenizer(fixtures)
    with open(os.path.join(out["tokenizer-json"], "small.json"), "w") as f:
        json.dump(tok, f)

    subprocess.run([sys.executable, os.path.join(ROOT, "test", "gguf", "make_gguf.py"),
                    os.path.join(out["gguf"], "tiny.gguf"), "--tiny"], check=True,
                   stdout=subprocess.DEVNULL)
    import gguf
    w = gguf.GGUFWriter(os.path.join(out["gguf"], "tokenizer.gguf"), "llama")
    ids = sorted((v, k) for k, v in tok["model"]["vocab"].items())
    tokens = [k for _, k in ids] + [a["content"] for a in tok["added_tokens"]]
    types = [1] * len(ids) + [3 if a["special"] else 4 for a in tok["added_tokens"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]])
    w.add_bos_token_id(300)
    w.add_eos_token_id(301)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    f32 = struct.pack("<8f", *[0.5 * i for i in range(8)])
    bf16 = b"".join(struct.pack("<f", 0.25 * i)[2:] for i in range(8))
    write_safetensors(os.path.join(out["safetensors"], "f32.safetensors"),
                      {"model.norm.weight": ("F32", [8], f32),
                       "model.embed_tokens.weight": ("F32", [2, 4], f32)})
    write_safetensors(os.path.join(out["safetensors"], "bf16.safetensors"),
                      {"lm_head.weight": ("BF16", [2, 4], bf16)})
    texts = {
        "prose.txt": "In the beginning God created the heaven and the earth. It's 2026!\n",
        "numbers.txt": "1234567 3.14159 -42 0x1F 1,000,000\n",
        "code.txt": "int main(void) {\n\treturn x->y[3] >= 0 ? 1 : -1;  // ok\n}\n",
        "spaces.txt": "a  b   c\t\t\n\n\r\n    end   ",
        "scripts.txt": "\u00e9t\u00e9 \u4f60\u597d\u4e16\u754c \u043f\u0440\u0438\u0432\u0435\u0442 \U0001f642\U0001f680 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "special.txt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|eot_id",
    }
    for name, text in texts.items():
        with open(os.path.join(out["text"], name), "w", encoding="utf-8") as f:
            f.write(text)
    for d in out.values():
        print(d, len(os.listdir(d)), "seeds")


if __name__ == "__main__":
    main()
