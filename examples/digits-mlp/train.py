#!/usr/bin/env python3
"""Trains the digits-mlp example (64 -> 32 -> 10, ReLU) on sklearn's 8x8 digits and writes its files.

Run it with a venv that sees Debian's torch/sklearn/numpy and has the reference safetensors writer:

    /usr/bin/python3 -m venv --system-site-packages /tmp/dvenv
    /tmp/dvenv/bin/pip install --no-index --find-links /opt/pypi/files safetensors
    /tmp/dvenv/bin/python examples/digits-mlp/train.py

Outputs (next to this script; they are committed, tests never train):
    model.safetensors          fc1.weight [32,64], fc1.bias [32], fc2.weight [10,32], fc2.bias [10] (F32)
    config.json                {"model_type": "mlp", "layers": [...], "activations": [...], ...}
    test.safetensors           x F32 [360,64] (raw pixels 0..16), y I64 [360]
    calib.safetensors          x F32 [256,64], a seeded sample of the TRAINING split (for activation scales)
    float_logits.safetensors   logits F32 [360,10], torch's float logits of the test set

Inputs are the raw pixel values 0..16 as float32 with no normalization inside the model, so the integer
input quantization is a single per-tensor scale. Everything is seeded and single-threaded, so a rerun on
the same torch build gives the same bytes. Takes a few seconds.
"""

import json
import os
import time

import numpy as np
import torch
from safetensors.numpy import save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 300
BATCH = 64
CALIB_N = 256


class Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 32)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def accuracy(model: Mlp, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    t0 = time.time()

    digits = load_digits()
    x_all = digits.data.astype(np.float32)  # [1797, 64], values 0..16
    y_all = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x_all, y_all, test_size=360, random_state=0, stratify=y_all
    )

    model = Mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(0)
    for _ in range(EPOCHS):
        perm = torch.randperm(xt.shape[0], generator=gen)
        for i in range(0, xt.shape[0], BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()

    xe = torch.from_numpy(x_test)
    ye = torch.from_numpy(y_test)
    print(f"train accuracy {accuracy(model, xt, yt):.4f}  ({len(y_train)} samples)")
    print(f"test accuracy  {accuracy(model, xe, ye):.4f}  ({len(y_test)} samples)")

    tensors = {k: v.detach().numpy().astype(np.float32).copy() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(HERE, "model.safetensors"),
              metadata={"format": "pt", "source": "sklearn digits"})

    config = {
        "model_type": "mlp",
        "layers": ["fc1", "fc2"],
        "activations": ["relu", "none"],
        "input_shape": [64],
        "num_classes": 10,
    }
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    save_file({"x": np.ascontiguousarray(x_test), "y": np.ascontiguousarray(y_test)},
              os.path.join(HERE, "test.safetensors"))

    rng = np.random.default_rng(0)
    calib_idx = np.sort(rng.choice(x_train.shape[0], size=CALIB_N, replace=False))
    save_file({"x": np.ascontiguousarray(x_train[calib_idx])}, os.path.join(HERE, "calib.safetensors"))

    with torch.no_grad():
        logits = model(xe).numpy().astype(np.float32)
    save_file({"logits": np.ascontiguousarray(logits)}, os.path.join(HERE, "float_logits.safetensors"))
    print(f"wrote outputs to {HERE} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
