#!/usr/bin/env python3
"""PyTorch's side of bench GpuBench, on the same NVIDIA GPU: matmul 4096 (f32 without and with TF32, bf16);
the 784-512-512-512-10 ReLU MLP at batch 128 (forward; JVP, VJP, HVP and one power-iteration step, both with
torch.func and with classic autograd, the faster of the two being PyTorch's figure); and one Adam step of the
784-256-256-10 MLP at batch 128 (as train_step.py, also with the fused and foreach Adam). Each figure is the
median over batches of the mean time per call, the device synchronized at the end of every batch and, as in
Lipa's benchmark, by one read of a result element per call.

    python3 bench/peers/pytorch/gpu.py [--json] [--seconds S]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

WIDTHS = [784, 512, 512, 512, 10]
TRAIN = [784, 256, 256, 10]
BATCH = 128


def measure(fn, seconds):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 4 or calls < 3:
        fn()
        calls += 1
    torch.cuda.synchronize()
    per = (time.perf_counter() - t0) / calls
    batch = max(1, int(seconds / 10 / per))
    means, end = [], time.perf_counter() + seconds
    while len(means) < 3 or time.perf_counter() < end:
        b0 = time.perf_counter()
        for _ in range(batch):
            fn()
        torch.cuda.synchronize()
        means.append((time.perf_counter() - b0) / batch)
    return statistics.median(means)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", action="store_true")
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(1)
    results = []

    def report(figure, seconds, **extra):
        row = {"source": "pytorch", "figure": figure, "ms": seconds * 1e3, **extra}
        results.append(row)
        print(json.dumps(row) if args.json else f"{figure}: {seconds * 1e3:.4f} ms {extra or ''}", flush=True)

    print(json.dumps({"source": "pytorch", "figure": "_info", "version": torch.__version__, "cuda": torch.version.cuda,
                      "cudnn": torch.backends.cudnn.version(), "device": torch.cuda.get_device_name()}), flush=True)
    n = 4096
    a = torch.rand(n, n, device=dev) * 2 - 1
    b = torch.rand(n, n, device=dev) * 2 - 1
    for figure, tf32, dtype in [("matmul4096_f32", False, torch.float32), ("matmul4096_f32_tf32", True, torch.float32),
                                ("matmul4096_bf16", False, torch.bfloat16)]:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        x, y = a.to(dtype), b.to(dtype)
        s = measure(lambda: torch.matmul(x, y), args.seconds)
        report(figure, s, tflops=2 * n ** 3 / s / 1e12)
    torch.backends.cuda.matmul.allow_tf32 = False

    ws, bs = [], []
    for i in range(len(WIDTHS) - 1):
        bound = (6.0 / WIDTHS[i]) ** 0.5
        ws.append((torch.rand(WIDTHS[i + 1], WIDTHS[i], device=dev) * 2 - 1) * bound)
        bs.append((torch.rand(WIDTHS[i + 1], device=dev) * 2 - 1) * 0.01)

    def f(h):
        for i in range(len(ws)):
            h = F.linear(h, ws[i], bs[i])
            if i < len(ws) - 1:
                h = F.relu(h)
        return h

    x = torch.rand(BATCH, WIDTHS[0], device=dev) * 2 - 1
    v = torch.rand(BATCH, WIDTHS[0], device=dev) * 2 - 1
    u = torch.rand(BATCH, WIDTHS[-1], device=dev) * 2 - 1
    y = torch.randint(0, WIDTHS[-1], (BATCH,), device=dev)
    loss = lambda h: F.cross_entropy(f(h), y)

    def forward():
        with torch.no_grad():
            return f(x)[0, 0].item()

    report("mlp_forward", measure(forward, args.seconds))

    # torch.func: jvp recomputes the primal; vjp's pullback is made once at x, as Lipa's
    from torch.func import grad, jvp, vjp
    _, pullback = vjp(f, x)
    func = {
        "mlp_jvp": lambda: jvp(f, (x,), (v,))[1][0, 0].item(),
        "mlp_vjp": lambda: pullback(u)[0][0, 0].item(),
        "mlp_hvp": lambda: jvp(grad(loss), (x,), (v,))[1][0, 0].item(),
        "mlp_power_step": lambda: jvp(f, (x,), (v,))[1][0, 0].item() + pullback(u)[0][0, 0].item(),
    }
    import torch.autograd.forward_ad as fwAD
    xg = x.clone().requires_grad_(True)
    out = f(xg)

    def ad_jvp():
        with fwAD.dual_level():
            return fwAD.unpack_dual(f(fwAD.make_dual(x, v))).tangent[0, 0].item()

    def ad_vjp():
        return torch.autograd.grad(out, xg, u, retain_graph=True)[0][0, 0].item()

    def ad_hvp():
        xh = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(xh), xh, create_graph=True)
        return torch.autograd.grad(g, xh, v)[0][0, 0].item()

    classic = {"mlp_jvp": ad_jvp, "mlp_vjp": ad_vjp, "mlp_hvp": ad_hvp, "mlp_power_step": lambda: ad_jvp() + ad_vjp()}
    for figure in func:
        tf = measure(func[figure], args.seconds)
        ta = measure(classic[figure], args.seconds)
        report(figure, min(tf, ta), torch_func_ms=tf * 1e3, autograd_ms=ta * 1e3)

    layers = []
    for i in range(len(TRAIN) - 1):
        layers.append(torch.nn.Linear(TRAIN[i], TRAIN[i + 1]))
        if i < len(TRAIN) - 2:
            layers.append(torch.nn.ReLU())
    xt = torch.rand(BATCH, TRAIN[0], device=dev)
    yt = torch.randint(0, TRAIN[-1], (BATCH,), device=dev)
    times = {}
    for variant, kw in [("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True})]:
        model = torch.nn.Sequential(*layers).to(dev)
        opt = torch.optim.Adam(model.parameters(), 1e-4, **kw)

        def step():
            opt.zero_grad(set_to_none=True)
            l = F.cross_entropy(model(xt), yt)
            l.backward()
            opt.step()
            return l.item()

        times[variant] = measure(step, args.seconds)
    report("train_mlp", min(times.values()), **{k + "_ms": t * 1e3 for k, t in times.items()})


if __name__ == "__main__":
    main()
