#!/usr/bin/python3
"""Moves weights between PyTorch and Lipa through NumPy .npz files, for Lipa's interop tests.

    interop.py export MODEL FILE   builds MODEL (mlp, resnet, vit) in PyTorch with non-trivial batch-norm
                                   statistics and writes state.<name> for its state_dict, x, and y = model(x)
                                   in evaluation mode
    interop.py check MODEL FILE    loads state.<name> and x written by Lipa, runs the PyTorch twin in
                                   evaluation mode and exits 0 when its output matches y (max |diff| <= 1e-4)
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lipa_torch  # noqa: E402


def build(name):
    if name == "mlp":
        return lipa_torch.mlp(784, 32, 16, 10), (4, 784)
    if name == "resnet":
        return lipa_torch.ResNet(width=4, blocks=1), (3, 1, 12, 12)
    if name == "vit":
        return lipa_torch.ViT(dim=16, depth=2, heads=2, patch=7), (3, 1, 28, 28)
    raise SystemExit(f"unknown model {name}")


def main(mode, name, path):
    torch.manual_seed(5)
    model, shape = build(name)
    if mode == "export":
        with torch.no_grad():
            for p in model.parameters():  # away from the initial values, so a mix-up of names shows
                p.add_(0.1 * torch.randn_like(p))
            model.train()
            for _ in range(3):
                model(torch.randn(*shape) * 2 + 0.5)  # batch-norm running statistics move
        model.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        arrays = {"state." + k: v.numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        np.savez(path, x=x.numpy(), y=y.numpy(), **arrays)
        return 0
    data = np.load(path)
    state = {k[len("state."):]: torch.from_numpy(data[k]) for k in data.files if k.startswith("state.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        print(f"missing {missing}, unexpected {unexpected}")
        return 1
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(data["x"])).numpy()
    diff = float(np.max(np.abs(y - data["y"])))
    print(f"max |torch - lipa| = {diff:.3g}")
    return 0 if diff <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
