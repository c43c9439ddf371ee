#!/usr/bin/env python3
"""Goldens for quantized builds, from an independent reference.

llmc's `q8` scheme is ggml's Q8_0 (groups of 32, f16 scale, codes
round(x / (amax/127))) and its symmetric `q4_g32` is ggml's Q4_0 (groups of
32, f16 scale d = max/-8, codes floor(x/d + 8.5) clamped to 15, element j and
j+16 sharing a byte). So the reference for a quantized build is Hugging Face
`transformers` (float32) run on weights quantized and dequantized by the PyPI
`gguf` package (its numpy implementation of ggml's formats), with the same
policy as llmc's presets:

  preset q8:      every linear, the embedding and the lm_head in Q8_0
  preset q4_g32:  linears in Q4_0, the embedding and the lm_head in Q8_0
  q4_g32q6:       linears in Q4_0, the embedding and the lm_head in llmc's
                  6-bit `q6` (`--quant-override embed=q6,lm_head=q6`)
  q4_1:           linears in Q4_1 (scale and min), the embedding and the
                  lm_head in Q8_0: a GGUF file of those formats kept by llmc
                  (test/gguf/fixture_to_gguf.py --type q4_1), unfolded
  norms stay f32 in all.

`q6` has no ggml counterpart: it is Q4_0's rule with 6 bits (groups of 32,
f16 scale d = max/-32 where max is the element of largest magnitude, codes
floor(x * (1/d) + 32.5) clamped to 0..63, value (code - 32) * d), written
here in numpy from that definition (`quantize_q6`).

llmc's fused builds (the default; `llmc build --no-fuse` turns it off) fold
each RMSNorm's weight into the columns of the linears it feeds before
quantizing them (llm-fuse): q/k/v get input_layernorm's, gate/up
post_attention_layernorm's and an untied lm_head the final norm's. The
reference for those is the same model with the fold done in numpy (W * g,
float32, then the ggml quantization) and the norm weights set to 1.

The CPU target multiplies integer weights by activations quantized to int8
on the fly, as llama.cpp does (each linear's input row in blocks of 32,
scale d = amax / 127 in float32, codes round-half-even(x / d) via x * (1/d),
products summed exactly). Its reference (`.a8` goldens) is the same model
with every nn.Linear's input replaced by that quantize-dequantize, written
here from the scheme in torch, not from llmc's code.

Writes test/goldens/<fixture>.<preset>[.folded][.a8].short.bin (unfused /
fused; float / int8 activations), same layout as make_goldens.py.

Also kjv-llama.q6_k.a8.short.bin: the bundled example (the fixtures' rows
are too short for K-quants) as test/gguf/fixture_to_gguf.py --type q6_k
writes it (seeded random Q6_K blocks, Q8_0 where a row is not whole
super-blocks), the reference being transformers with int8 linear inputs on
the `gguf` package's dequantization of that file.
Needs torch, transformers, gguf.

    python3 test/goldens/make_quant_goldens.py [--check]
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gguf"))

import gen_fixtures  # noqa: E402
import golden  # noqa: E402
from make_goldens import N_STEPS, PROMPTS, greedy  # noqa: E402

FIXTURES = ["llama3-gqa", "llama32-bf16"]


def policy(preset):
    from gguf import GGMLQuantizationType as T
    linear = {"q8": T.Q8_0, "q4_g32": T.Q4_0, "q4_g32q6": T.Q4_0,
              "q4_1": T.Q4_1}[preset]
    head = "q6" if preset == "q4_g32q6" else T.Q8_0
    return {"linear": linear, "embed": head, "lm_head": head}


def quantize_q6(w):
    """llmc's q6 (see the docstring), quantized and dequantized, in float32
    arithmetic as the definition says."""
    g = w.reshape(-1, 32).astype(np.float32)
    pick = np.abs(g).argmax(axis=1)
    smax = g[np.arange(g.shape[0]), pick]
    d = (smax / np.float32(-32.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / d, np.float32(0.0)).astype(np.float32)
    t = (g * inv[:, None]).astype(np.float32) + np.float32(32.5)
    codes = np.clip(np.floor(t), 0, 63).astype(np.float32)
    dh = d.astype(np.float16).astype(np.float32)
    return ((codes - np.float32(32.0)) * dh[:, None]).reshape(w.shape).astype(np.float32)


def quantize_model(model, preset):
    import torch
    from gguf import quants
    kinds = policy(preset)
    done = set()
    for name, p in model.named_parameters():
        if p.dim() != 2 or id(p) in done:
            continue
        done.add(id(p))  # tied embeddings: one tensor, quantized once
        kind = ("embed" if "embed_tokens" in name else
                "lm_head" if name.startswith("lm_head") else "linear")
        w = p.detach().numpy().astype(np.float32)
        if kinds[kind] == "q6":
            deq = quantize_q6(w)
        else:
            q = quants.quantize(w, kinds[kind])
            deq = quants.dequantize(q, kinds[kind]).reshape(w.shape).astype(np.float32)
        with torch.no_grad():
            p.copy_(torch.from_numpy(deq))


def fold_norms(model):
    """Moves every RMSNorm weight into the linears it feeds, as llm-fuse
    does; a tied lm_head keeps the final norm (the embedding is shared)."""
    import torch
    tied = model.lm_head.weight is model.model.embed_tokens.weight
    pairs = []
    for layer in model.model.layers:
        a = layer.self_attn
        pairs.append((layer.input_layernorm, [a.q_proj, a.k_proj, a.v_proj]))
        m = layer.mlp
        pairs.append((layer.post_attention_layernorm, [m.gate_proj, m.up_proj]))
    if not tied:
        pairs.append((model.model.norm, [model.lm_head]))
    with torch.no_grad():
        for norm, linears in pairs:
            g = norm.weight.detach().numpy().astype(np.float32)
            for lin in linears:
                w = lin.weight.detach().numpy().astype(np.float32)
                lin.weight.copy_(torch.from_numpy(w * g[None, :]))
            norm.weight.fill_(1.0)


def quantize_activations(model):
    """Every linear's input through int8 blocks of 32 (see the docstring)."""
    import torch

    def hook(module, args):
        x = args[0]
        shape = x.shape
        blocks = x.reshape(*shape[:-1], shape[-1] // 32, 32).to(torch.float32)
        amax = blocks.abs().amax(dim=-1, keepdim=True)
        d = amax / torch.tensor(127.0, dtype=torch.float32)
        inv = torch.where(d != 0, torch.tensor(1.0) / d, torch.zeros_like(d))
        q = torch.round(blocks * inv)  # torch.round: half to even
        return ((q * d).reshape(shape),) + tuple(args[1:])

    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_pre_hook(hook)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing")
    args = ap.parse_args()
    import torch
    from transformers import LlamaForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        gen_fixtures.main(["gen_fixtures.py", tmp, "--only"] + FIXTURES)
        bad = 0
        for fixture in FIXTURES:
            # q6 runs on the CPU's integer-dot kernels alone: int8
            # activations only.
            # q4_1 is a kept GGUF file's: never folded.
            for preset, folded, a8 in [(p, f, a) for p in ("q8", "q4_g32", "q4_g32q6", "q4_1")
                                       for f in (False, True)
                                       for a in (False, True)
                                       if (a or p not in ("q4_g32q6", "q4_1")) and
                                       not (f and p == "q4_1")]:
                model = LlamaForCausalLM.from_pretrained(
                    os.path.join(tmp, fixture), torch_dtype=torch.float32,
                    attn_implementation="eager")
                model.eval()
                if folded:
                    fold_norms(model)
                quantize_model(model, preset)
                if a8:
                    quantize_activations(model)
                prompt = PROMPTS["short"]
                tokens, logits = greedy(model, prompt, N_STEPS)
                name = (f"{fixture}.{preset}{'.folded' if folded else ''}"
                        f"{'.a8' if a8 else ''}.short.bin")
                path = os.path.join(args.out, name)
                if args.check:
                    g = golden.load(path)
                    same = (list(g.tokens) == tokens and
                            np.abs(g.logits - logits).max() < 1e-5)
                    print(f"{os.path.basename(path)}: {'ok' if same else 'DIFFERS'}")
                    bad += not same
                else:
                    golden.save(path, prompt, tokens, logits)
                    print(f"wrote {path}: tokens {tokens[:8]}...")
        import fixture_to_gguf
        example = os.path.join(os.path.dirname(os.path.dirname(HERE)),
                               "examples", "kjv-llama")
        deq = os.path.join(tmp, "kjv-q6k")
        fixture_to_gguf.write(example, os.path.join(tmp, "kjv-q6k.gguf"), "q6_k",
                              None, dequantized=deq)
        model = LlamaForCausalLM.from_pretrained(
            deq, torch_dtype=torch.float32, attn_implementation="eager")
        model.eval()
        quantize_activations(model)
        prompt = PROMPTS["short"]
        tokens, logits = greedy(model, prompt, N_STEPS)
        path = os.path.join(args.out, "kjv-llama.q6_k.a8.short.bin")
        if args.check:
            g = golden.load(path)
            same = list(g.tokens) == tokens and np.abs(g.logits - logits).max() < 1e-5
            print(f"{os.path.basename(path)}: {'ok' if same else 'DIFFERS'}")
            bad += not same
        else:
            golden.save(path, prompt, tokens, logits)
            print(f"wrote {path}: tokens {tokens[:8]}...")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
