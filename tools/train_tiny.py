#!/usr/bin/python3
"""Trains r1-tiny, the small reasoning model bundled as models/r1-tiny.gguf.

r1-tiny adds and subtracts integers of up to four digits asked in plain English ("What is 1234 + 5678?", "Subtract
78 from 503.") and thinks first, in the DeepSeek-R1 format: the prompt is what the official R1 template renders
for one user turn (ending in "<｜Assistant｜><think>\\n"), the thought works column by column with carries and
borrows, then "</think>", the answer and "<｜end▁of▁sentence｜>". tools/tiny/data.py shows the format.

Run (from the repository root, after building r1 and r1-convert):

    /usr/bin/python3 tools/train_tiny.py --r1 build/r1

It needs Debian's PyTorch (python3-torch, 1.13), which is what /usr/bin/python3 has; with Debian's OpenBLAS
(libopenblas0-pthread) installed, torch's matrix products use it instead of the reference BLAS (netlib), which is
several times slower. Time: 4,500 steps of about 0.45 s on one core of an unshared machine (about 34 minutes);
the bundled model took 55 minutes on a 2-core machine shared with compile jobs (models/README.md has the figures).
Everything is deterministic: fixed seeds for the data, the tokenizer and torch, one thread, so a run on the same
machine reproduces the same weights.

What it writes:
- WORK_DIR (default build/r1-tiny-hf): a Hugging Face model folder: model.safetensors (F32), config.json
  (Qwen2ForCausalLM), tokenizer.json (byte-level BPE trained here), tokenizer_config.json (with the official R1
  chat template, tools/tiny/r1-distill.jinja), generation_config.json;
- models/r1-tiny.gguf: that folder converted by `r1 convert` (--type, default f32);
- models/r1-tiny-heldout.tsv: the 200 test problems (prompt TAB answer) that training never saw.

Options: --steps, --batch, --seed, --out, --work-dir, --type, --r1, --no-convert (train and export only).
"""

import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny"))
# One BLAS / OpenMP thread unless asked otherwise (set before torch starts its pools): the matrices are tiny and
# extra threads only wait for each other, all the more on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import bpe  # noqa: E402
import data  # noqa: E402
from model import Qwen2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE_PATH = os.path.join(ROOT, "tools", "tiny", "r1-distill.jinja")

# Added tokens in the order of the R1-Distill-Qwen vocabulary (eos, User, Assistant, bos, think, /think); the
# `special` flag as in its tokenizer.json (<think> and </think> are not special: they become USER_DEFINED).
SPECIALS = [data.EOS, data.USER, data.ASSISTANT, data.BOS, data.THINK_OPEN, data.THINK_CLOSE]
SPECIAL_FLAGS = {data.EOS: True, data.USER: True, data.ASSISTANT: True, data.BOS: True,
                 data.THINK_OPEN: False, data.THINK_CLOSE: False}

MODEL = {
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
}

TRAIN_SEED = 1
VALID_SEED, TEST_SEED = 2, 3
BUDGET_ZERO_FRACTION = 0.1  # examples that answer straight after the closing text r1 inserts at budget 0


def build_tokenizer(seed):
    rng = random.Random(seed)
    texts = []
    for _ in range(3000):
        a, op, b, p = data.random_problem(rng)
        texts.append(data.question(a, op, b, p))
        texts.append(data.thought(a, op, b) + "\n\n" + data.answer(a, op, b))
    vocab, merges = bpe.train(texts, vocab_size=256 + 160, min_count=2)
    return bpe.Tokenizer(vocab, merges, SPECIALS)


def example(tok, a, op, b, phrase, budget_zero):
    """(ids, loss mask): the prompt is masked; so is the closing text r1 inserts for a budget of zero."""
    prompt = tok.encode(data.prompt_text(data.question(a, op, b, phrase)))
    if budget_zero:
        forced = tok.encode(data.BUDGET_CLOSE)
        target = tok.encode(data.answer(a, op, b) + data.EOS)
        return prompt + forced + target, [0] * (len(prompt) + len(forced)) + [1] * len(target)
    target = tok.encode(data.completion_text(a, op, b))
    return prompt + target, [0] * len(prompt) + [1] * len(target)


def batch(tok, rng, size, pad_id):
    rows = []
    while len(rows) < size:
        a, op, b, p = data.random_problem(rng)
        if data.split_of(a, op, b) != "train":
            continue
        rows.append(example(tok, a, op, b, p, rng.random() < BUDGET_ZERO_FRACTION))
    T = max(len(ids) for ids, _ in rows)
    ids = torch.full((size, T), pad_id, dtype=torch.long)
    mask = torch.zeros((size, T), dtype=torch.bool)
    for i, (x, m) in enumerate(rows):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


@torch.no_grad()
def greedy(model, tok, prompts, max_new=160):
    """Greedy completions of several prompts at once (left-padded), stopping at EOS."""
    eos = tok.specials[data.EOS]
    seqs = [tok.encode(p) for p in prompts]
    done = [False] * len(seqs)
    outs = [[] for _ in seqs]
    for _ in range(max_new):
        T = max(len(s) for s in seqs)
        pad = torch.tensor([T - len(s) for s in seqs])
        ids = torch.tensor([[eos] * (T - len(s)) + s for s in seqs])
        nxt = model(ids, pad)[:, -1].argmax(-1).tolist()
        for i, t in enumerate(nxt):
            if done[i]:
                continue
            if t == eos:
                done[i] = True
            else:
                outs[i].append(t)
                seqs[i].append(t)
        if all(done):
            break
    return [tok.decode(o) for o in outs]


def final_answer(text):
    return text.split(data.THINK_CLOSE)[-1].strip()


def evaluate(model, tok, problems, budget_zero=False):
    model.eval()
    correct = 0
    for i in range(0, len(problems), 50):
        chunk = problems[i:i + 50]
        prompts = [data.prompt_text(data.question(a, op, b, p)) + (data.BUDGET_CLOSE if budget_zero else "")
                   for a, op, b, p in chunk]
        for (a, op, b, p), text in zip(chunk, greedy(model, tok, prompts)):
            correct += final_answer(text) == data.answer(a, op, b)
    model.train()
    return correct / len(problems)


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def export(model, tok, cfg, folder):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_act": "silu",
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "max_position_embeddings": 512,
        "max_window_layers": cfg["num_hidden_layers"],
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "sliding_window": 512,
        "use_sliding_window": False,
        "tie_word_embeddings": False,
        "vocab_size": cfg["vocab_size"],
        "bos_token_id": tok.specials[data.BOS],
        "eos_token_id": tok.specials[data.EOS],
        "torch_dtype": "float32",
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": True,
    }
    with open(TEMPLATE_PATH, encoding="utf-8") as f:
        template = f.read()

    def added(text):
        return {"__type": "AddedToken", "content": text, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False}

    tokenizer_config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": added(data.BOS),
        "eos_token": added(data.EOS),
        "pad_token": added(data.EOS),
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "legacy": True,
        "model_max_length": 512,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizerFast",
        "chat_template": template,
    }
    generation = {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"],
                  "do_sample": False}
    files = {"config.json": config, "tokenizer.json": bpe.tokenizer_json(tok, SPECIAL_FLAGS),
             "tokenizer_config.json": tokenizer_config, "generation_config.json": generation}
    for name, obj in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.write("\n")


def train(model, tok, cfg, args, valid, started):
    """AdamW, linear warmup over the first 1/30 of the steps, then a cosine down to 5 % of the peak; every batch
    is fresh training problems from random.Random(TRAIN_SEED). Saves WORK_DIR/checkpoint.pt at each evaluation."""
    steps, peak_lr, seed = args.steps, args.lr, TRAIN_SEED
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=peak_lr, betas=(0.9, 0.98))
    rng = random.Random(seed)
    warmup = max(1, steps // 30)
    pad_id = tok.specials[data.EOS]
    model.train()
    for step in range(1, steps + 1):
        lr = peak_lr * (step / warmup if step <= warmup else
                        0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, mask = batch(tok, rng, args.batch, pad_id)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits[mask[:, 1:]], ids[:, 1:][mask[:, 1:]])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == 1:
            print("step %5d  loss %.4f  lr %.2e  %.0f s" % (step, loss.item(), lr, time.time() - started), flush=True)
        if step % args.eval_every == 0 or step == steps:
            print("step %5d  validation accuracy %.3f" % (step, evaluate(model, tok, valid)), flush=True)
            os.makedirs(args.work_dir, exist_ok=True)
            torch.save({"step": step, "config": cfg, "model": model.state_dict()},
                       os.path.join(args.work_dir, "checkpoint.pt"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=4500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0, help="torch seed (initial weights)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for a model this small)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "r1-tiny.gguf"))
    ap.add_argument("--heldout", default=os.path.join(ROOT, "models", "r1-tiny-heldout.tsv"))
    ap.add_argument("--work-dir", default=os.path.join(ROOT, "build", "r1-tiny-hf"))
    ap.add_argument("--type", default="f32", choices=["f32", "f16", "bf16", "q8_0"])
    ap.add_argument("--r1", default=os.path.join(ROOT, "build", "r1"), help="the r1 program (for r1 convert)")
    ap.add_argument("--no-convert", action="store_true")
    ap.add_argument("--eval-every", type=int, default=1500)
    ap.add_argument("--from-checkpoint", help="skip training: export the weights of a checkpoint.pt")
    ap.add_argument("--hidden", type=int, default=MODEL["hidden_size"])
    ap.add_argument("--ff", type=int, default=MODEL["intermediate_size"])
    ap.add_argument("--layers", type=int, default=MODEL["num_hidden_layers"])
    ap.add_argument("--heads", type=int, default=MODEL["num_attention_heads"])
    ap.add_argument("--kv-heads", type=int, default=MODEL["num_key_value_heads"])
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()

    tok = build_tokenizer(TRAIN_SEED)
    n_tokens = tok.n_tokens()
    cfg = dict(MODEL, hidden_size=args.hidden, intermediate_size=args.ff, num_hidden_layers=args.layers,
               num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
               vocab_size=(n_tokens + 15) // 16 * 16)  # padded rows become [PAD<id>] tokens in GGUF
    model = Qwen2(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print("vocabulary: %d tokens (%d merges, %d special), embedding rows %d; parameters: %d"
          % (n_tokens, len(tok.merges), len(SPECIALS), cfg["vocab_size"], n_params), flush=True)

    valid = data.problems(VALID_SEED, 100, "valid")
    if args.from_checkpoint:
        saved = torch.load(args.from_checkpoint)
        cfg = saved["config"]
        model = Qwen2(cfg)
        model.load_state_dict(saved["model"])
        args.steps = 0
        print("loaded %s (step %d)" % (args.from_checkpoint, saved["step"]), flush=True)
    train(model, tok, cfg, args, valid, started)
    train_seconds = time.time() - started
    print("trained %d steps in %.0f s" % (args.steps, train_seconds), flush=True)
    model.eval()
    print("validation accuracy with a thinking budget of 0: %.3f" % evaluate(model, tok, valid, True), flush=True)

    export(model, tok, cfg, args.work_dir)
    test = data.problems(TEST_SEED, 200, "test")
    with open(args.heldout, "w", encoding="utf-8") as f:
        for a, op, b, p in test:
            f.write("%s\t%s\n" % (data.question(a, op, b, p), data.answer(a, op, b)))
    print("wrote %s and %s" % (args.work_dir, args.heldout), flush=True)
    if not args.no_convert:
        cmd = [args.r1, "convert", args.work_dir, args.out, "--type", args.type, "--name", "R1 Tiny"]
        print("+ " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    print("total %.0f s" % (time.time() - started), flush=True)


if __name__ == "__main__":
    main()
