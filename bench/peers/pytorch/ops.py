#!/usr/bin/python3
"""PyTorch's side of the op-throughput figures (bench OpBench, native/bench/ops.c): matmul 64, 256, 1024,
2048 and 128x784x512; convolution (batch 32, 64 -> 64 channels, 3x3, 32x32, padding 1) forward,
backward-data and backward-weights (the kernels autograd calls: aten.convolution_backward); layer norm (with
scale and shift) and softmax on 128x4096. Inputs as in Lipa, outputs preallocated where PyTorch allows.

Run with Debian's python3 and python3-torch, threads matched to Lipa's, OpenMP not spinning:
    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/peers/pytorch/ops.py [--json] [--seconds S]
"""
import torch
import torch.nn.functional as F

from timing import info, measure, options, report


def conv_backward(g, x, w, data):
    mask = [data, not data, False]
    try:
        return torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)
    except (AttributeError, RuntimeError):  # older PyTorch: the public wrappers
        return torch.nn.grad.conv2d_input(x.shape, w, g, padding=1) if data else torch.nn.grad.conv2d_weight(x, w.shape, g, padding=1)


def main():
    args = options(__doc__)
    if args.json:
        import json
        print(json.dumps(info()), flush=True)
    with torch.no_grad():
        for name, (m, k, n) in {"matmul64": (64, 64, 64), "matmul256": (256, 256, 256), "matmul1024": (1024, 1024, 1024),
                                "matmul2048": (2048, 2048, 2048), "matmul128x784x512": (128, 784, 512)}.items():
            a, b, c = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1, torch.empty(m, n)
            report(args, name, measure(lambda: torch.mm(a, b, out=c), args.seconds))
        x = torch.rand(32, 64, 32, 32) * 2 - 1
        w = torch.rand(64, 64, 3, 3) * 2 - 1
        g = torch.rand(32, 64, 32, 32) * 2 - 1
        report(args, "conv_fwd", measure(lambda: F.conv2d(x, w, padding=1), args.seconds))
        report(args, "conv_bwd_data", measure(lambda: conv_backward(g, x, w, True), args.seconds))
        report(args, "conv_bwd_weights", measure(lambda: conv_backward(g, x, w, False), args.seconds))
        r = torch.rand(128, 4096) * 2 - 1
        gamma, beta = torch.rand(4096), torch.rand(4096)
        report(args, "layer_norm", measure(lambda: F.layer_norm(r, (4096,), gamma, beta, 1e-5), args.seconds))
        report(args, "softmax", measure(lambda: torch.softmax(r, 1), args.seconds))


if __name__ == "__main__":
    main()
