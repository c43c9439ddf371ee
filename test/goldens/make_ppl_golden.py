#!/usr/bin/env python3
"""Reference perplexity of the bundled example model, from transformers.

Scores examples/kjv-llama/heldout.txt exactly as `llmc perplexity` does (and
llama.cpp's llama-perplexity): tokens from HF `tokenizers` (no special-token
parsing, no BOS added), non-overlapping windows of CTX tokens whose first
token is replaced by BOS, and only positions CTX/2 .. CTX-2 of each window
scored (each predicting the next token). LlamaForCausalLM in float32.

Writes test/goldens/kjv-llama.ppl.json. Needs torch, transformers, tokenizers.

    python3 test/goldens/make_ppl_golden.py [--ctx 128] [--windows 8]
"""
import argparse
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "examples", "kjv-llama"))
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--out", default=os.path.join(HERE, "kjv-llama.ppl.json"))
    args = ap.parse_args()
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM

    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    text = open(os.path.join(args.model, "heldout.txt"), encoding="utf-8").read()
    ids = tok.encode(text, add_special_tokens=False).ids
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    model = LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32,
                                             attn_implementation="eager")
    model.eval()
    first, nll = args.ctx // 2, []
    with torch.no_grad():
        for i in range(args.windows):
            w = ids[i * args.ctx:(i + 1) * args.ctx]
            w[0] = cfg["bos_token_id"]
            logits = model(input_ids=torch.tensor([w])).logits[0].double()
            lp = torch.log_softmax(logits, dim=-1).numpy()
            for p in range(first, args.ctx - 1):
                nll.append(-lp[p, w[p + 1]])
    nll = np.array(nll)
    ppl = math.exp(nll.mean())
    out = dict(ctx=args.ctx, windows=args.windows, tokens=len(nll), ppl=ppl,
               text="examples/kjv-llama/heldout.txt",
               versions=dict(torch=torch.__version__,
                             transformers=__import__("transformers").__version__))
    json.dump(out, open(args.out, "w"), indent=2)
    print(f"wrote {args.out}: ppl {ppl:.6f} over {len(nll)} tokens")


if __name__ == "__main__":
    main()
