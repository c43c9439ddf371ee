#!/usr/bin/env python3
"""Train the bundled example model, examples/kjv-llama: a ~3.9M-parameter Llama 3
architecture model (Hugging Face LlamaForCausalLM) on the King James Bible.

Corpus: the KJV from Debian 12's `bible-kjv-text` 4.38, dumped as text by the `bible`
program of `bible-kjv` 4.38, exactly as test/tokenizer/README.md describes:

    apt-get install bible-kjv bible-kjv-text
    bible -l80 gen1:1-rev22:21 > kjv.txt     # 4,298,239 bytes, md5 f6da5ed3dff9e3ebfbb4fe1fcf5bd5ea

With --corpus PATH the script reads that file.  Without it, it runs the `bible` command
itself; only if `bible` is not installed does it run `apt-get install -y bible-kjv
bible-kjv-text` (needs root; pass --corpus otherwise).

Split: the last 5.0% of the text by bytes, Colossians 1:1 through Revelation 22:21 (the
last 18 books of the New Testament, 216,747 bytes), is held out and written to
OUT/heldout.txt; Genesis through Philippians is the training text.  (The tokenizer in
test/tokenizer/ was trained on the whole KJV, held-out books included; only the model
never sees them.)

Tokens: test/tokenizer/tokenizer.json (3016 tokens) via the `tokenizers` package; the
training text and the held-out text are each encoded as one string, no special tokens.

Training: CPU, one thread (torch.set_num_threads(1)) by default, fixed seeds, bf16 autocast
for the matmuls (fp32 master weights and optimizer state; --fp32 turns autocast off).
Each sequence is <|begin_of_text|> followed by 255 tokens from a uniformly random offset of
the training tokens; the loss covers all 255 next-token predictions.  AdamW (betas 0.9/0.95,
weight decay 0.1 on matrices), linear warmup then cosine decay to 10% of the peak rate,
gradient clipping at 1.0.

Evaluation: held-out loss = mean next-token cross-entropy (nats per token of this
tokenizer) over every held-out token exactly once, in non-overlapping windows of 255 tokens
each preceded by <|begin_of_text|>, computed in fp32; perplexity = exp(loss); bits per byte
= total nats / ln 2 / UTF-8 bytes of heldout.txt.  Train loss is the same measure over a
fixed set of 64 training windows.

Output (OUT, default examples/kjv-llama): config.json (classic Llama 3 layout: top-level
rope_theta, rope_scaling null, torch_dtype), model.safetensors (float32, tied embeddings),
generation_config.json / tokenizer.json / tokenizer_config.json copied from
test/tokenizer/, heldout.txt, train_log.json (losses, timings, versions, samples).

    nice -n 10 python3 examples/train/train_kjv.py [--corpus kjv.txt] [--out DIR]
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_DIR = os.path.join(REPO, "test", "tokenizer")
KJV_MD5 = "f6da5ed3dff9e3ebfbb4fe1fcf5bd5ea"
HELDOUT_FROM = "\nColossians 1\n"   # the held-out text starts at this book heading
BOS, EOS = 3000, [3001, 3009]
VOCAB = 3016
PROMPT = "And the LORD said unto Moses"


def log(*a):
    print(*a, flush=True)


def kjv_text(path):
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    if not shutil.which("bible"):
        log("train_kjv.py: no `bible` program; running apt-get install -y bible-kjv bible-kjv-text")
        r = subprocess.run(["apt-get", "install", "-y", "bible-kjv", "bible-kjv-text"])
        if r.returncode != 0 or not shutil.which("bible"):
            sys.exit("train_kjv.py: could not install bible-kjv / bible-kjv-text; install them "
                     "(Debian) or pass --corpus kjv.txt (bible -l80 gen1:1-rev22:21)")
    out = subprocess.run(["bible", "-l80", "gen1:1-rev22:21"], check=True,
                         stdout=subprocess.PIPE)
    return out.stdout.decode("utf-8")


def split(text):
    i = text.find(HELDOUT_FROM)
    if i < 0:
        sys.exit("train_kjv.py: corpus has no %r heading" % HELDOUT_FROM.strip())
    return text[:i + 1], text[i + 1:]


def make_config(LlamaConfig, seq):
    # max_position_embeddings = the training sequence length: the model has never seen a
    # position beyond it (tools that size their context from the config, such as
    # `llmc perplexity`'s default window, then stay inside what was trained).
    return LlamaConfig(
        vocab_size=VOCAB, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=4, head_dim=32,
        max_position_embeddings=seq, rms_norm_eps=1e-5, rope_theta=500000.0,
        tie_word_embeddings=True, bos_token_id=BOS, eos_token_id=EOS,
        hidden_act="silu", initializer_range=0.02, attention_bias=False, mlp_bias=False)


def windows(ids, n):
    """Non-overlapping windows of n tokens covering ids, each preceded by BOS."""
    out = []
    for s in range(0, len(ids), n):
        out.append([BOS] + ids[s:s + n])
    return out


@torch.no_grad()
def eval_loss(model, wins, batch=16):
    """Sum of next-token nats and token count over windows ([BOS] + tokens), fp32."""
    model.eval()
    total, count = 0.0, 0
    # Group windows by length (all full but possibly the last).
    for i in range(0, len(wins), batch):
        group = wins[i:i + batch]
        by_len = {}
        for w in group:
            by_len.setdefault(len(w), []).append(w)
        for _, ws in sorted(by_len.items()):
            x = torch.tensor(ws, dtype=torch.long)
            logits = model(input_ids=x).logits.float()
            total += F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                     x[:, 1:].reshape(-1), reduction="sum").item()
            count += x[:, 1:].numel()
    model.train()
    return total, count


def write_config(out_dir):
    """Rewrite config.json in the classic Llama 3 layout (as Meta's checkpoints on the
    Hugging Face hub): transformers 5 writes rope_parameters and dtype instead."""
    path = os.path.join(out_dir, "config.json")
    with open(path) as f:
        c = json.load(f)
    rp = c.pop("rope_parameters", None)
    if rp is not None:
        if rp.get("rope_type", "default") != "default":
            sys.exit("train_kjv.py: unexpected rope_parameters %r" % rp)
        c["rope_theta"] = rp["rope_theta"]
    c.setdefault("rope_scaling", None)
    if "dtype" in c:
        c["torch_dtype"] = c.pop("dtype")
    c.pop("pad_token_id", None)
    with open(path, "w") as f:
        json.dump(dict(sorted(c.items())), f, indent=2)
        f.write("\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", help="KJV text (bible -l80 gen1:1-rev22:21); default: run bible")
    ap.add_argument("--out", default=os.path.join(REPO, "examples", "kjv-llama"))
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256, help="sequence length incl. BOS")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    args = ap.parse_args(argv)

    import tokenizers
    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    text = kjv_text(args.corpus)
    md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
    if md5 != KJV_MD5:
        log("train_kjv.py: warning: corpus md5 %s, expected %s" % (md5, KJV_MD5))
    train_text, heldout_text = split(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout_text)
    log("corpus %d bytes (md5 %s); train %d bytes, held-out %d bytes (%.2f%%, from %s)"
        % (len(text.encode()), md5, len(train_text.encode()), len(heldout_text.encode()),
           100.0 * len(heldout_text.encode()) / len(text.encode()), HELDOUT_FROM.strip()))

    tok = Tokenizer.from_file(os.path.join(TOKENIZER_DIR, "tokenizer.json"))
    assert tok.get_vocab_size() == VOCAB
    train_ids = tok.encode(train_text, add_special_tokens=False).ids
    held_ids = tok.encode(heldout_text, add_special_tokens=False).ids
    log("tokens: train %d, held-out %d" % (len(train_ids), len(held_ids)))

    n = args.seq - 1
    held_wins = windows(held_ids, n)
    g_eval = torch.Generator().manual_seed(args.seed + 1)
    train_eval_wins = [[BOS] + train_ids[o:o + n] for o in
                       torch.randint(0, len(train_ids) - n, (64,), generator=g_eval).tolist()]
    held_bytes = len(heldout_text.encode("utf-8"))

    config = make_config(LlamaConfig, args.seq)
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    log("model: %d parameters (tied embeddings)" % n_params)

    decay = [p for nm, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for nm, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):  # step counts from 0
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        lo = args.lr * args.min_lr_frac
        return lo + 0.5 * (args.lr - lo) * (1 + math.cos(math.pi * p))

    history = []

    def evaluate(step, train_loss_running):
        te = time.time()
        hs, hc = eval_loss(model, held_wins)
        ts, tc = eval_loss(model, train_eval_wins)
        rec = {"step": step, "train_loss": ts / tc, "heldout_loss": hs / hc,
               "heldout_ppl": math.exp(hs / hc), "heldout_bpb": hs / math.log(2) / held_bytes,
               "train_loss_running": train_loss_running,
               "elapsed_s": round(time.time() - t_train, 1)}
        history.append(rec)
        log("eval step %4d: train loss %.4f | held-out loss %.4f ppl %.2f bpb %.4f  (%.1fs)"
            % (step, rec["train_loss"], rec["heldout_loss"], rec["heldout_ppl"],
               rec["heldout_bpb"], time.time() - te))
        return rec

    g = torch.Generator().manual_seed(args.seed)
    bos_col = torch.full((args.batch, 1), BOS, dtype=torch.long)
    ar = torch.arange(n)
    train_t = torch.tensor(train_ids, dtype=torch.long)
    t_train = time.time()
    evaluate(0, None)
    running, t_last = None, time.time()
    model.train()
    for step in range(args.steps):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        offs = torch.randint(0, len(train_ids) - n, (args.batch,), generator=g)
        x = torch.cat([bos_col, train_t[offs[:, None] + ar]], dim=1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
            logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, VOCAB), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        li = loss.item()
        running = li if running is None else 0.98 * running + 0.02 * li
        if (step + 1) % 50 == 0:
            dt = time.time() - t_last
            t_last = time.time()
            log("step %4d/%d loss %.4f (avg %.4f) lr %.2e  %.0f tok/s  elapsed %.0fs"
                % (step + 1, args.steps, li, running, lr_at(step),
                   50 * args.batch * args.seq / dt, time.time() - t_train))
        if (step + 1) % args.eval_every == 0 and step + 1 != args.steps:
            evaluate(step + 1, running)
    train_s = time.time() - t_train
    final = evaluate(args.steps, running)

    # Save: float32 safetensors, classic config, tokenizer files from test/tokenizer.
    model.eval()
    model.save_pretrained(args.out, safe_serialization=True)
    write_config(args.out)
    for fn in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER_DIR, fn), os.path.join(args.out, fn))

    # Reload from disk (checks the checkpoint) and generate.
    model = LlamaForCausalLM.from_pretrained(args.out, dtype=torch.float32)
    model.eval()
    hf_tok = AutoTokenizer.from_pretrained(args.out)
    enc = hf_tok(PROMPT, return_tensors="pt")
    samples = {"prompt": PROMPT, "prompt_ids": enc.input_ids[0].tolist()}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=120, do_sample=False)
        samples["greedy"] = hf_tok.decode(out[0], skip_special_tokens=True)
        samples["greedy_ids"] = out[0].tolist()
        torch.manual_seed(args.seed)
        out = model.generate(**enc, max_new_tokens=120, do_sample=True,
                             temperature=0.8, top_p=0.9)
        samples["sampled_t0.8_p0.9_seed%d" % args.seed] = hf_tok.decode(out[0], skip_special_tokens=True)
    re_s, re_c = eval_loss(model, held_wins)
    assert abs(re_s / re_c - final["heldout_loss"]) < 1e-4, "reloaded model differs"
    for k in ("greedy", "sampled_t0.8_p0.9_seed%d" % args.seed):
        log("--- %s ---\n%s" % (k, samples[k]))

    logrec = {
        "args": vars(args) | {"out": os.path.relpath(args.out, REPO)},
        "corpus": {"md5": md5, "bytes": len(text.encode()), "train_bytes": len(train_text.encode()),
                   "heldout_bytes": held_bytes, "heldout_from": HELDOUT_FROM.strip(),
                   "train_tokens": len(train_ids), "heldout_tokens": len(held_ids)},
        "parameters": n_params,
        "train_seconds": round(train_s, 1),
        "total_seconds": round(time.time() - t_start, 1),
        "tokens_seen": args.steps * args.batch * args.seq,
        "final": final,
        "history": history,
        "samples": samples,
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
    }
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(logrec, f, indent=1)
        f.write("\n")
    log("done: train %.0fs, total %.0fs; weights %d bytes"
        % (train_s, time.time() - t_start,
           os.path.getsize(os.path.join(args.out, "model.safetensors"))))


if __name__ == "__main__":
    main(sys.argv[1:])
