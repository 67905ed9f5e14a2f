#!/usr/bin/env python3
"""Writes calib.safetensors: the calibration text of the integer model (tokens I64 [16 x 128]).

16 windows of CONTEXT characters taken at evenly spaced offsets of the TRAINING split (the same text and
split as train.py), so calibration never sees the validation text the quantization cost is measured on.
Run with a python that has numpy and safetensors (see README.md); the output is committed.
"""
import os

import numpy as np
from safetensors.numpy import save_file

import train

WINDOWS = 16


def main() -> None:
    text = train.read_text()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = np.array([index[c] for c in text], dtype=np.int64)
    n_val = int(len(data) * train.VAL_FRACTION)
    tr = data[:-n_val]
    step = (len(tr) - train.CONTEXT) // WINDOWS
    tokens = np.concatenate([tr[i * step : i * step + train.CONTEXT] for i in range(WINDOWS)])
    save_file({"tokens": np.ascontiguousarray(tokens)}, os.path.join(train.HERE, "calib.safetensors"),
              metadata={"windows": str(WINDOWS), "window": str(train.CONTEXT)})
    print(f"calib.safetensors: {len(tokens)} tokens from the training split")


if __name__ == "__main__":
    main()
