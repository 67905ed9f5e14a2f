#!/usr/bin/env python3
"""Trains the llama-h48 example: a second character-level Llama, of other shapes than tiny-llama, that
runs on the same base die (examples/grids/tiny-llama.ts) with only the two masks changed.

It reuses examples/tiny-llama/train.py (the same plain-torch model that computes what transformers'
LlamaForCausalLM computes, the same text and protocol) with other shapes and a tokenizer that has
special tokens:

    hidden 48 (not a multiple of the grid's 64 rows), 3 layers, 6 query heads on 2 KV heads of 8,
    SwiGLU 128, vocabulary 80 = the 78 most frequent characters of the text + <s> (bos, id 78) and
    </s> (eos, id 79); every license file is one document: <s> text </s>. Characters outside the 78
    are dropped from the text.

Run it as tiny-llama's README says (a venv with Debian's torch and the reference safetensors writer):

    /tmp/lvenv/bin/python examples/llama-h48/train.py

Outputs (next to this script, committed): config.json (bos_token_id 78, eos_token_id 79),
model.safetensors, tokenizer.json ({"type": "char", "vocab": [...], "special": ["<s>", "</s>"]}),
reference.safetensors (as tiny-llama's), calib.safetensors (16 windows of 128 tokens of the training
split).
"""

import collections
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tiny-llama"))
import train as base  # noqa: E402  (examples/tiny-llama/train.py)

base.HIDDEN = 48
base.LAYERS = 3
base.HEADS = 6
base.KV_HEADS = 2
base.HEAD_DIM = 8
base.INTERMEDIATE = 128
CONTEXT = base.CONTEXT
STEPS = int(os.environ.get("LLAMA_H48_STEPS", "600"))
CHARS = 78
BOS, EOS = "<s>", "</s>"
WINDOWS = 16


def documents() -> list[str]:
    names = sorted(f for f in os.listdir(base.LICENSES) if not os.path.islink(os.path.join(base.LICENSES, f)))
    out = []
    for name in names:
        with open(os.path.join(base.LICENSES, name), encoding="utf-8") as f:
            out.append(f.read())
    return out


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    t0 = time.time()
    docs = documents()
    counts = collections.Counter("".join(docs))
    # The 78 most frequent characters (ties by code point), sorted; then the two special tokens.
    keep = sorted(c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:CHARS])
    vocab = keep + [BOS, EOS]
    index = {c: i for i, c in enumerate(keep)}
    ids: list[int] = []
    for d in docs:
        ids.append(vocab.index(BOS))
        ids.extend(index[c] for c in d if c in index)
        ids.append(vocab.index(EOS))
    data = torch.tensor(ids, dtype=torch.int64)
    n_val = int(len(data) * base.VAL_FRACTION)
    train, val = data[:-n_val], data[-n_val:]
    print(f"{len(docs)} documents, vocab {len(vocab)}, train {len(train)}, val {len(val)}")

    model = base.TinyLlama(len(vocab))
    print(f"parameters {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.AdamW(model.parameters(), lr=base.LR, weight_decay=base.WEIGHT_DECAY)
    gen = torch.Generator().manual_seed(0)
    t_train = time.time()
    for step in range(STEPS):
        lr = base.LR * min(1.0, (step + 1) / base.WARMUP) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / STEPS)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - CONTEXT - 1, (base.BATCH,), generator=gen)
        batch = torch.stack([train[s : s + CONTEXT + 1] for s in starts.tolist()])
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {lr:.2e}  {time.time() - t_train:6.1f} s", flush=True)
    model.eval()

    val_tokens = val[: base.VAL_TOKENS].clone()
    val_tokens_loss = base.window_loss(model, val_tokens)
    val_loss = base.window_loss(model, val)
    train_loss = base.window_loss(model, train[: 64 * CONTEXT])
    print(f"val_tokens loss {val_tokens_loss:.4f}, val loss {val_loss:.4f}, train loss {train_loss:.4f} nats/token")

    # The prompt: <s> (as the flow prefixes it) and 31 tokens of validation text from a line start.
    nl = vocab.index("\n")
    start = next(i for i in range(base.VAL_TOKENS, len(val)) if val[i - 1].item() == nl and vocab[val[i].item()] not in " \n")
    prompt = torch.cat([torch.tensor([vocab.index(BOS)]), val[start : start + 31]])
    with torch.no_grad():
        logits = model(prompt[None])[0]
        seq = prompt.clone()
        for _ in range(base.GREEDY_NEW):
            nxt = model(seq[None])[0, -1].argmax()
            seq = torch.cat([seq, nxt[None]])
    greedy = seq[len(prompt) :].clone()
    decode = lambda ts: "".join(vocab[i] for i in ts.tolist())  # noqa: E731
    print(f"prompt {decode(prompt)!r}\ngreedy {decode(greedy)!r}")

    save_file(model.hf_state_dict(), os.path.join(HERE, "model.safetensors"), metadata={"format": "pt"})
    save_file(
        {
            "tokens": np.ascontiguousarray(prompt.numpy()),
            "logits": np.ascontiguousarray(logits.numpy().astype(np.float32)),
            "greedy": np.ascontiguousarray(greedy.numpy()),
            "val_tokens": np.ascontiguousarray(val_tokens.numpy()),
        },
        os.path.join(HERE, "reference.safetensors"),
        metadata={"val_tokens_loss": f"{val_tokens_loss:.6f}", "val_loss": f"{val_loss:.6f}", "train_loss": f"{train_loss:.6f}", "torch": torch.__version__},
    )
    tr = train.numpy()
    step = (len(tr) - CONTEXT) // WINDOWS
    calib = np.concatenate([tr[i * step : i * step + CONTEXT] for i in range(WINDOWS)])
    save_file({"tokens": np.ascontiguousarray(calib)}, os.path.join(HERE, "calib.safetensors"), metadata={"windows": str(WINDOWS), "window": str(CONTEXT)})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": vocab.index(BOS),
        "eos_token_id": vocab.index(EOS),
        "head_dim": base.HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": base.HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": base.INTERMEDIATE,
        "max_position_embeddings": CONTEXT,
        "mlp_bias": False,
        "num_attention_heads": base.HEADS,
        "num_hidden_layers": base.LAYERS,
        "num_key_value_heads": base.KV_HEADS,
        "rms_norm_eps": base.RMS_EPS,
        "rope_scaling": None,
        "rope_theta": base.ROPE_THETA,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": len(vocab),
    }
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(HERE, "tokenizer.json"), "w") as f:
        json.dump({"type": "char", "vocab": vocab, "special": [BOS, EOS]}, f)
        f.write("\n")
    print(f"wrote outputs to {HERE} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
