#!/usr/bin/env python3
"""Makes the hf-llama example the way users make checkpoints: transformers' LlamaForCausalLM with Llama
3.1's rope_scaling (rope_type "llama3"), tied embeddings and bos/eos, trained briefly on the license texts
of /usr/share/common-licenses, with a byte-level BPE tokenizer trained by the `tokenizers` library
(Llama 3 style: Split by the Llama 3 regex, ByteLevel bytes, <|begin_of_text|> prepended), saved with
save_pretrained in bfloat16 and sharded (model.safetensors.index.json + 2 shards).

Reference outputs (reference.safetensors, committed so tests need no Python):
  tokens I64 [T]        a prompt (bos + text from the validation split)
  logits F32 [T, V]     transformers' logits for it, float32 forward of the bf16 weights (eager attention)
  greedy I64 [G]        transformers' greedy continuation (generate, do_sample=False)
  val_tokens I64 [N]    held-out tokens; __metadata__ val_tokens_loss (windows of CONTEXT, as tiny-llama)
  calib.safetensors     tokens I64 [16 x CONTEXT] from the training split
  rope_inv_freq F32     transformers' llama3-scaled inverse frequencies (checked by a test)

Run (a venv with torch 2.x, transformers, tokenizers, safetensors from the machine's offline wheels):
    python3 -m venv /tmp/hfvenv
    /tmp/hfvenv/bin/pip install --no-index --find-links /opt/wheels --find-links /opt/pypi/files torch transformers tokenizers safetensors numpy
    /tmp/hfvenv/bin/python examples/hf-llama/make.py
"""

import json
import math
import os
import time

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
LICENSES = "/usr/share/common-licenses"
CONTEXT = 128
VOCAB = 384
STEPS = int(os.environ.get("HF_LLAMA_STEPS", "1500"))
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def documents() -> list[str]:
    names = sorted(f for f in os.listdir(LICENSES) if not os.path.islink(os.path.join(LICENSES, f)))
    return [open(os.path.join(LICENSES, n), encoding="utf-8").read() for n in names]


def train_tokenizer(docs: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[BOS, EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(docs, trainer)
    bos = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)])
    return tok


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    t0 = time.time()
    docs = documents()
    tok = train_tokenizer(docs)
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    ids: list[int] = []
    for d in docs:
        ids.extend(tok.encode(d).ids)  # bos + text
        ids.append(eos)
    data = torch.tensor(ids, dtype=torch.int64)
    n_val = int(len(data) * 0.05)
    train, val = data[:-n_val], data[-n_val:]
    print(f"tokenizer {tok.get_vocab_size()} tokens; {len(data)} tokens of text (train {len(train)}, val {len(val)})")

    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=CONTEXT,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=bos, eos_token_id=eos,
        # Llama 3.1's scaling with an original context of 32: with head_dim 16 and theta 10000 one pair is
        # above the high-frequency cut, one in the smoothed band and six are slowed by the factor.
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    gen = torch.Generator().manual_seed(0)
    for step in range(STEPS):
        lr = 3e-3 * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - CONTEXT - 1, (16,), generator=gen)
        batch = torch.stack([train[s : s + CONTEXT] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:4d} loss {loss.item():.4f} {time.time() - t0:6.1f} s", flush=True)

    # Users publish bf16: round the weights once, then every reference number comes from those weights.
    model = model.to(torch.bfloat16)
    model.save_pretrained(HERE, max_shard_size="150KB", safe_serialization=True)
    tok.save(os.path.join(HERE, "tokenizer.json"))
    model = LlamaForCausalLM.from_pretrained(HERE, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()

    def window_loss(tokens: torch.Tensor) -> float:
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(tokens) - 1, CONTEXT):
                w = tokens[i : i + CONTEXT]
                if len(w) < 2:
                    break
                logits = model(input_ids=w[None, :-1]).logits[0]
                total += torch.nn.functional.cross_entropy(logits, w[1:], reduction="sum").item()
                count += len(w) - 1
        return total / count

    val_tokens = val[: 16 * CONTEXT].clone()
    val_loss = window_loss(val_tokens)
    text = tok.decode(val[16 * CONTEXT : 16 * CONTEXT + 200].tolist())
    line = text[text.index("\n") + 1 :].lstrip()
    prompt = torch.tensor(tok.encode(line[:60]).ids[:24], dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids=prompt[None]).logits[0]
        out = model.generate(prompt[None], max_new_tokens=40, do_sample=False, pad_token_id=eos)[0, len(prompt) :]
    print(f"val loss {val_loss:.4f} nats/token; prompt {tok.decode(prompt.tolist())!r} -> {tok.decode(out.tolist())!r}")
    inv_freq = model.model.rotary_emb.inv_freq.float().numpy()
    save_file(
        {
            "tokens": np.ascontiguousarray(prompt.numpy()),
            "logits": np.ascontiguousarray(logits.numpy().astype(np.float32)),
            "greedy": np.ascontiguousarray(out.numpy()),
            "val_tokens": np.ascontiguousarray(val_tokens.numpy()),
            "rope_inv_freq": np.ascontiguousarray(inv_freq.astype(np.float32)),
        },
        os.path.join(HERE, "reference.safetensors"),
        metadata={"val_tokens_loss": f"{val_loss:.6f}", "torch": torch.__version__, "prompt": tok.decode(prompt.tolist())},
    )
    tr = train.numpy()
    step = (len(tr) - CONTEXT) // 16
    calib = np.concatenate([tr[i * step : i * step + CONTEXT] for i in range(16)])
    save_file({"tokens": np.ascontiguousarray(calib)}, os.path.join(HERE, "calib.safetensors"), metadata={"windows": "16", "window": str(CONTEXT)})
    print(f"wrote {HERE} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
