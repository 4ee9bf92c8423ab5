#!/usr/bin/python3
"""One training step (forward, backward, Adam) at batch 128 on MNIST-shaped data, as bench/TrainStepBench
times it in Lipa: the 784-256-256-10 MLP, a ResNet-8 (width 16, CIFAR-style) and a ViT (dim 64, 4 blocks).

Run with Debian's python3 and python3-torch, threads matched to Lipa's and OpenMP not spinning:
    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/peers/pytorch/train_step.py [--json] [--seconds S]
With --json it prints JSON lines (figures train_mlp, train_resnet8, train_vit; median ms) for bench/suite.sh.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
from lipa_torch import ResNet, ViT, mlp  # noqa: E402
from timing import info, options  # noqa: E402


def time_step(name, model, x, y, seconds=10, as_json=False):
    opt = torch.optim.Adam(model.parameters(), 1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    if as_json:
        print(json.dumps({"source": "pytorch", "figure": "train_" + name, "ms": 1e3 * statistics.median(times)}), flush=True)
        return
    print(f"{name}: {1e3 * statistics.mean(times):.3f} ms mean, {1e3 * statistics.median(times):.3f} ms median, "
          f"{1e3 * min(times):.3f} ms best over {len(times)} steps")


if __name__ == "__main__":
    args = options(__doc__)
    if args.json:
        print(json.dumps(info()), flush=True)
    else:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    y = torch.randint(0, 10, (128,))
    time_step("mlp", mlp(784, 256, 256, 10), torch.randn(128, 784), y, args.seconds, args.json)
    time_step("resnet8", ResNet(), torch.randn(128, 1, 28, 28), y, args.seconds, args.json)
    time_step("vit", ViT(), torch.randn(128, 1, 28, 28), y, args.seconds, args.json)
