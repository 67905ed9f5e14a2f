#!/usr/bin/env python3
"""Trains the tiny-llama example: a character-level Llama 3-architecture model, saved as Hugging Face saves one.

Run it with a venv that sees Debian's torch (python3-torch 1.13) and has the reference safetensors writer:

    /usr/bin/python3 -m venv --system-site-packages /tmp/lvenv
    /tmp/lvenv/bin/pip install --no-index --find-links /opt/pypi/files safetensors
    /tmp/lvenv/bin/python examples/tiny-llama/train.py

The model is written in plain torch and computes exactly what transformers' LlamaForCausalLM computes
(modeling_llama.py): RMSNorm in float32 with the weight multiplied after normalizing, RoPE with the
half-split pairing (rotate_half) and positions 0.., grouped-query attention (query head h reads KV head
h // (heads / kv_heads), as repeat_kv expands them), causal softmax with scale 1/sqrt(head_dim), SwiGLU
MLP down(silu(gate(x)) * up(x)), no biases, a final RMSNorm and an untied lm_head.

Data: the regular files (symlinks skipped: they repeat other files) of /usr/share/common-licenses,
concatenated in sorted name order; the last 5 % is the validation split.

Outputs (next to this script; they are committed, tests never train):
    config.json              a Hugging Face LlamaConfig (model_type llama, architectures [LlamaForCausalLM])
    model.safetensors        model.embed_tokens.weight, model.layers.N.*, model.norm.weight, lm_head.weight (F32)
    tokenizer.json           {"type": "char", "vocab": [...]}: token id = index of the character in vocab
    reference.safetensors    tokens I64 [T] (a prompt from the validation text), logits F32 [T, vocab]
                             (torch's logits for it), greedy I64 [G] (torch's greedy continuation of tokens),
                             val_tokens I64 [N] (the start of the validation split); its __metadata__
                             holds the losses this run printed (val_tokens_loss, val_loss, train_loss)

Losses are in nats per character. "val_tokens loss" is the protocol the TypeScript test repeats: cut
val_tokens into windows of CONTEXT tokens, run each window from position 0 and score the prediction of
tokens 1..CONTEXT-1 of the window; the mean over all of them.

Seeded (torch.manual_seed(0)) and single-threaded (torch.set_num_threads(1): on these 2-core machines
it is faster than 2 threads), so a rerun on the same torch build gives the same bytes.
"""

import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
LICENSES = "/usr/share/common-licenses"

# Model (HF config names).
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 16
INTERMEDIATE = 176
CONTEXT = 128
RMS_EPS = 1e-5
# 10000 rather than Llama 3's 500000: with head_dim 16 and a context of 128, theta 500000 leaves most
# RoPE pairs turning by less than a degree over the whole context, i.e. unused.
ROPE_THETA = 10000.0

# Training.
STEPS = int(os.environ.get("TINY_LLAMA_STEPS", "800"))
BATCH = 16
LR = 3e-3
WARMUP = 50
WEIGHT_DECAY = 0.01
VAL_FRACTION = 0.05
VAL_TOKENS = 16 * CONTEXT
PROMPT_LEN = 32
GREEDY_NEW = 64


def rms_norm(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """LlamaRMSNorm: normalize in float32, then multiply by the weight."""
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + RMS_EPS)
    return weight * h.to(x.dtype)


def rope_tables(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [n, HEAD_DIM] for positions 0..n-1, computed as LlamaRotaryEmbedding does (float32)."""
    inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.int64).float() / HEAD_DIM))
    freqs = torch.arange(n, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj = torch.nn.Linear(HIDDEN, HEADS * HEAD_DIM, bias=False)
        self.k_proj = torch.nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
        self.v_proj = torch.nn.Linear(HIDDEN, KV_HEADS * HEAD_DIM, bias=False)
        self.o_proj = torch.nn.Linear(HEADS * HEAD_DIM, HIDDEN, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: KV head j serves query heads j*rep .. j*rep+rep-1.
        rep = HEADS // KV_HEADS
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        w = torch.matmul(q, k.transpose(2, 3)) * HEAD_DIM**-0.5 + mask
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, t, HEADS * HEAD_DIM)
        return self.o_proj(out)


class Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate_proj = torch.nn.Linear(HIDDEN, INTERMEDIATE, bias=False)
        self.up_proj = torch.nn.Linear(HIDDEN, INTERMEDIATE, bias=False)
        self.down_proj = torch.nn.Linear(INTERMEDIATE, HIDDEN, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.self_attn = Attention()
        self.mlp = Mlp()
        self.input_layernorm = torch.nn.Parameter(torch.ones(HIDDEN))
        self.post_attention_layernorm = torch.nn.Parameter(torch.ones(HIDDEN))

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(rms_norm(x, self.input_layernorm), cos, sin, mask)
        return x + self.mlp(rms_norm(x, self.post_attention_layernorm))


class TinyLlama(torch.nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(vocab, HIDDEN)
        self.layers = torch.nn.ModuleList([DecoderLayer() for _ in range(LAYERS)])
        self.norm = torch.nn.Parameter(torch.ones(HIDDEN))
        self.lm_head = torch.nn.Linear(HIDDEN, vocab, bias=False)
        cos, sin = rope_tables(CONTEXT)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        # HF's initializer: normal(0, initializer_range) for every Linear and the embedding.
        for m in self.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        if t > CONTEXT:
            raise ValueError(f"{t} tokens is over the context of {CONTEXT}")
        mask = torch.full((t, t), float("-inf")).triu(1)
        cos, sin = self.cos[:t], self.sin[:t]
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(rms_norm(x, self.norm))

    def hf_state_dict(self) -> dict[str, np.ndarray]:
        """The weights under LlamaForCausalLM's names, as float32 numpy arrays."""
        out = {"model.embed_tokens.weight": self.embed_tokens.weight}
        for n, layer in enumerate(self.layers):
            p = f"model.layers.{n}."
            out[p + "input_layernorm.weight"] = layer.input_layernorm
            for proj in ("q", "k", "v", "o"):
                out[p + f"self_attn.{proj}_proj.weight"] = getattr(layer.self_attn, f"{proj}_proj").weight
            out[p + "post_attention_layernorm.weight"] = layer.post_attention_layernorm
            for proj in ("gate", "up", "down"):
                out[p + f"mlp.{proj}_proj.weight"] = getattr(layer.mlp, f"{proj}_proj").weight
        out["model.norm.weight"] = self.norm
        out["lm_head.weight"] = self.lm_head.weight
        return {k: np.ascontiguousarray(v.detach().numpy().astype(np.float32)) for k, v in out.items()}


def read_text() -> str:
    names = sorted(f for f in os.listdir(LICENSES) if not os.path.islink(os.path.join(LICENSES, f)))
    parts = []
    for name in names:
        with open(os.path.join(LICENSES, name), encoding="utf-8") as f:
            parts.append(f.read())
    return "".join(parts)


def window_loss(model: TinyLlama, tokens: torch.Tensor) -> float:
    """Mean loss over windows of CONTEXT tokens, each run from position 0, predicting tokens 1..n-1
    of the window (a short last window counts too)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(tokens) - 1, CONTEXT):
            w = tokens[i : i + CONTEXT]
            if len(w) < 2:
                break
            logits = model(w[None, :-1])[0]
            total += F.cross_entropy(logits, w[1:], reduction="sum").item()
            count += len(w) - 1
    return total / count


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    t0 = time.time()

    text = read_text()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.int64)
    n_val = int(len(data) * VAL_FRACTION)
    train, val = data[:-n_val], data[-n_val:]
    print(f"text {len(text)} chars, vocab {len(vocab)}, train {len(train)}, val {len(val)}")

    model = TinyLlama(len(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters {n_params}")

    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    gen = torch.Generator().manual_seed(0)
    t_train = time.time()
    for step in range(STEPS):
        lr = LR * min(1.0, (step + 1) / WARMUP) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - CONTEXT - 1, (BATCH,), generator=gen)
        batch = torch.stack([train[s : s + CONTEXT + 1] for s in starts.tolist()])
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {lr:.2e}  {time.time() - t_train:6.1f} s", flush=True)
        if os.environ.get("TINY_LLAMA_EVAL") and step % 200 == 199:
            model.eval()
            print(f"      val loss {window_loss(model, val):.4f}", flush=True)
            model.train()
    print(f"trained {STEPS} steps of {BATCH} x {CONTEXT} tokens in {time.time() - t_train:.1f} s")
    model.eval()

    train_loss = window_loss(model, train[: 64 * CONTEXT])
    val_loss = window_loss(model, val)
    val_tokens = val[:VAL_TOKENS].clone()
    val_tokens_loss = window_loss(model, val_tokens)
    print(f"train loss {train_loss:.4f} nats/char (first {64 * CONTEXT} train chars, windows of {CONTEXT})")
    print(f"val loss   {val_loss:.4f} nats/char (all {len(val)} val chars, windows of {CONTEXT})")
    print(f"val_tokens loss {val_tokens_loss:.4f} nats/char ({len(val_tokens)} tokens)")

    # The prompt: PROMPT_LEN chars from the start of the first line after val_tokens.
    val_text = text[-n_val:]
    start = val_text.index("\n", VAL_TOKENS) + 1
    while val_text[start] in " \n":
        start += 1
    prompt = val[start : start + PROMPT_LEN].clone()
    with torch.no_grad():
        logits = model(prompt[None])[0]
        seq = prompt.clone()
        for _ in range(GREEDY_NEW):
            nxt = model(seq[None])[0, -1].argmax()
            seq = torch.cat([seq, nxt[None]])
    greedy = seq[PROMPT_LEN:].clone()
    decode = lambda ts: "".join(vocab[i] for i in ts.tolist())  # noqa: E731
    print(f"prompt {decode(prompt)!r}")
    print(f"greedy {decode(greedy)!r}")

    save_file(model.hf_state_dict(), os.path.join(HERE, "model.safetensors"), metadata={"format": "pt"})
    save_file(
        {
            "tokens": np.ascontiguousarray(prompt.numpy()),
            "logits": np.ascontiguousarray(logits.numpy().astype(np.float32)),
            "greedy": np.ascontiguousarray(greedy.numpy()),
            "val_tokens": np.ascontiguousarray(val_tokens.numpy()),
        },
        os.path.join(HERE, "reference.safetensors"),
        metadata={
            "val_tokens_loss": f"{val_tokens_loss:.6f}",
            "val_loss": f"{val_loss:.6f}",
            "train_loss": f"{train_loss:.6f}",
            "torch": torch.__version__,
        },
    )
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": None,
        "eos_token_id": None,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": CONTEXT,
        "mlp_bias": False,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": RMS_EPS,
        "rope_scaling": None,
        "rope_theta": ROPE_THETA,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": len(vocab),
    }
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(HERE, "tokenizer.json"), "w") as f:
        json.dump({"type": "char", "vocab": vocab}, f)
        f.write("\n")
    print(f"wrote outputs to {HERE} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
