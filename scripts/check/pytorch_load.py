#!/usr/bin/python3
"""Load a convprop checkpoint in PyTorch and print its predictions on the first MNIST test images.

Run by scripts/check/pytorch_load.ts, which compares these predictions with convprop's own; run it
with the Debian Python that has torch (NOT the pyenv `python3`):

    /usr/bin/python3 scripts/check/pytorch_load.py CHECKPOINT IMAGES_IDX COUNT

The file is read the way any safetensors reader reads it (8-byte little-endian header length,
JSON header, raw little-endian data), with numpy only, so this also shows the format is standard
(Debian has no python3-safetensors). The network is rebuilt as a torch.nn.Sequential from the
layer list in the metadata, its state dict loaded with strict=True (every name and shape must
match: batch norm's running_mean, running_var and its int64 num_batches_tracked too), and run in
eval mode (batch norm on its running statistics) on the images normalised with the checkpoint's
mean and std.
Prints one JSON object: {"probs": [[...10 floats...], ...], "torch": version}.
"""

import json
import struct
import sys

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}  # I64: a batch norm's num_batches_tracked


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def build(spec):
    layers = []
    for s in spec:
        t = s["type"]
        if t == "conv":
            layers.append(
                nn.Conv2d(
                    s["inChannels"],
                    s["outChannels"],
                    s.get("size", s.get("kernelSize")),  # convprop 0.1 wrote kernelSize
                    stride=s.get("stride", 1),
                    padding=s.get("padding", 0),  # a number, or "same" (stride 1)
                    dilation=s.get("dilation", 1),
                    groups=s.get("groups", 1),
                    bias=s.get("bias", True),
                )
            )
        elif t == "relu":
            layers.append(nn.ReLU())
        elif t == "maxpool":
            layers.append(
                nn.MaxPool2d(
                    s["size"], stride=s.get("stride", s["size"]), padding=s.get("padding", 0)
                )
            )
        elif t == "avgpool":
            layers.append(
                nn.AvgPool2d(
                    s["size"],
                    stride=s.get("stride", s["size"]),
                    padding=s.get("padding", 0),
                    count_include_pad=s.get("countIncludePad", True),
                )
            )
        elif t == "globalavgpool":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif t == "flatten":
            layers.append(nn.Flatten())
        elif t == "fc":
            layers.append(nn.Linear(s["inFeatures"], s["outFeatures"]))
        elif t == "dropout":
            layers.append(nn.Dropout(s["p"]))
        elif t == "convTranspose":
            layers.append(
                nn.ConvTranspose2d(
                    s["inChannels"],
                    s["outChannels"],
                    s["size"],
                    stride=s.get("stride", 1),
                    padding=s.get("padding", 0),
                    output_padding=s.get("outputPadding", 0),
                    groups=s.get("groups", 1),
                    bias=s.get("bias", True),
                    dilation=s.get("dilation", 1),
                )
            )
        elif t in ("batchnorm2d", "batchnorm1d"):
            bn = nn.BatchNorm2d if t == "batchnorm2d" else nn.BatchNorm1d
            layers.append(bn(s["features"], eps=s.get("eps", 1e-5), momentum=s.get("momentum", 0.1)))
        else:
            raise SystemExit(f"unknown layer type {t!r}")
    return nn.Sequential(*layers)


def read_images(path, count):
    with open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x00000803:
        raise SystemExit(f"{path}: not an IDX uint8 3-D file (magic {magic:#010x})")
    pixels = np.frombuffer(raw[16 : 16 + count * rows * cols], dtype=np.uint8)
    return pixels.reshape(count, 1, rows, cols)


def main():
    path, images_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tensors, meta = read_safetensors(path)
    model = build(json.loads(meta["convprop.layers"]))
    model.load_state_dict(tensors, strict=True)
    model.eval()
    norm = json.loads(meta["convprop.normalization"])
    x = (read_images(images_path, count).astype(np.float32) / 255 - norm["mean"]) / norm["std"]
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(x.astype(np.float32))), dim=1)
    print(json.dumps({"probs": probs.tolist(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
