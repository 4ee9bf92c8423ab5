#!/usr/bin/env python3
"""PyTorch's side of bench GpuAnalysisBench, on the same GPU: the report's heavy stages.

Workloads (the same functions as Lipa's: weights, inputs and labels from the counter-based generator below,
which GpuAnalysisBench.uniform repeats bit for bit):
  - the MNIST MLP 784-256-256-10 (ReLU) on a batch of 1,000, cross-entropy (mean): one Hessian-vector product
    with respect to all 269,322 parameters; the top 5 eigenvalues by magnitude by Lanczos with 30 steps, full
    reorthogonalization (twice, as Lipa's) and no early stop, then the 5 residuals ||H y - theta y|| measured
    (35 products); Hutchinson's trace with 50 Rademacher probes (50 products);
  - the CIFAR ResNet-20 (Lipa's models ResNet: width 16, 3 basic blocks per stage, batch norm, 1x1 projection
    shortcuts with batch norm where the shape changes, global average pooling, linear head; 272,474
    parameters) on 128 images 3x32x32, batch norm in evaluation mode (running statistics, as Lipa's
    ParameterLoss traces it): the same with 20 Lanczos steps (25 products) and 20 probes;
  - the MLP's 2-D loss landscape: 11 x 11 points in [-1, 1]^2 along two filter-normalized Gaussian directions
    (biases left out, Li et al. 2018), each point the loss and accuracy over the batch (121 forward passes).

Every Hessian-vector product is timed three ways, PyTorch's figure being the fastest: torch.func (jvp of grad,
forward-over-reverse, Lipa's method: the whole computation from the parameters each time), classic double
backward (torch.autograd.grad with create_graph=True, recomputing the gradient graph each time) and double
backward on a gradient graph built once and retained (PyHessian's way: only the second backward per product).
Lanczos and Hutchinson run on flat float64 vectors on the device (Lipa's run on the heap in float64) with
float32 products. f32 throughout without TF32, cuDNN's autotuner on (Lipa measures cuDNN's algorithms once
too). Each figure is the median over batches of the mean time per call; every call ends with a read to the
host (.item()), which waits for the device.

    python3 bench/peers/pytorch/gpu_analysis.py [--json] [--seconds S] [--only mlp|resnet|landscape]
    python3 bench/peers/pytorch/gpu_analysis.py --device cpu --tiny      # a check where there is no GPU
"""
import argparse
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from torch.func import functional_call, grad, jvp
except ImportError:  # PyTorch < 2.0 (Debian's 1.13): the same transforms in functorch
    from functorch import grad, jvp
    from torch.nn.utils.stateless import functional_call

MLP_WIDTHS = [784, 256, 256, 10]
CLASSES = 10
TOP_K = 5
FULL = dict(mlp_batch=1000, mlp_steps=30, mlp_probes=50, resnet_batch=128, resnet_steps=20, resnet_probes=20, grid=11)
TINY = dict(mlp_batch=50, mlp_steps=8, mlp_probes=4, resnet_batch=4, resnet_steps=6, resnet_probes=3, grid=3)


def uniform(name, n):
    """n numbers in [0, 1): the top 53 bits of SplitMix64 at (hash(name) << 32) + i, hash being Java's
    String.hashCode as an unsigned 32-bit number (GpuAnalysisBench.uniform)."""
    h = 0
    for ch in name:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(h << 32) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def fill(model):
    """Weights of rank >= 2 and linear biases uniform in +-1/sqrt(fan-in) from uniform(name); batch norm's
    parameters keep 1 and 0 (GpuAnalysisBench.fill)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            w = p if p.dim() >= 2 else params.get(name[:-4] + "weight") if name.endswith(".bias") else None
            if w is None or w.dim() < 2:
                continue
            bound = 1 / math.sqrt(w.numel() / w.shape[0])
            values = ((2 * uniform(name, p.numel()) - 1) * bound).astype(np.float32)
            p.copy_(torch.from_numpy(values).view_as(p))


def mlp():
    layers = []
    for i in range(len(MLP_WIDTHS) - 1):
        layers.append(nn.Linear(MLP_WIDTHS[i], MLP_WIDTHS[i + 1]))
        if i < len(MLP_WIDTHS) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)  # parameter names 0.weight, 0.bias, 2.weight, ... as Lipa's Sequential.mlp


class BasicBlock(nn.Module):
    """Lipa's ResNet.BasicBlock with Norm.BATCH and shortcuts: conv-bn-relu-conv-bn, plus the input or its 1x1
    strided projection with batch norm, then relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """Lipa's models ResNet(channels 3, classes 10, width 16, blocks 3, Norm.BATCH, shortcuts): ResNet-20."""

    def __init__(self, channels=3, classes=CLASSES, width=16, blocks=3):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for stage in range(3):
            cout = width << stage
            seq = []
            for b in range(blocks):
                seq.append(BasicBlock(cin, cout, 2 if b == 0 and stage > 0 else 1))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*seq))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(h.mean((2, 3)))


def measure(fn, seconds, sync):
    """The median over batches of the mean time per call (gpu.py's measure, with fewer warm-up calls for
    calls of a second or more)."""
    fn()  # first call: autotuning, caches
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    per = time.perf_counter() - t0
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min(seconds / 4, 3 * per):
        fn()
        calls += 1
    sync()
    if calls:
        per = (time.perf_counter() - t0) / calls
    batch = max(1, int(seconds / 10 / per))
    means, end = [], time.perf_counter() + seconds
    while len(means) < 3 or time.perf_counter() < end:
        b0 = time.perf_counter()
        for _ in range(batch):
            fn()
        sync()
        means.append((time.perf_counter() - b0) / batch)
    return statistics.median(means)


class Problem:
    """A model's mean cross-entropy on one batch as a function of its parameters, with Hessian-vector products
    three ways and flat float64 vectors for the spectral methods."""

    def __init__(self, model, x, y, ce):
        self.model, self.x, self.y, self.ce = model, x, y, ce
        self.names = [n for n, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.shapes = [p.shape for p in self.params]
        self.sizes = [p.numel() for p in self.params]
        self.n = sum(self.sizes)
        self.detached = {n: p.detach() for n, p in zip(self.names, self.params)}
        self.retained = None

    def loss(self):
        with torch.no_grad():
            return self.ce(self.model(self.x), self.y).item()

    def _loss_of(self, p):
        return self.ce(functional_call(self.model, p, (self.x,)), self.y)

    def hvp_func(self, v):
        tangents = dict(zip(self.names, v))
        out = jvp(grad(self._loss_of), (self.detached,), (tangents,))[1]
        return [out[n] for n in self.names]

    def hvp_autograd(self, v):
        g = torch.autograd.grad(self.ce(self.model(self.x), self.y), self.params, create_graph=True)
        return list(torch.autograd.grad(g, self.params, grad_outputs=v))

    def hvp_retained(self, v):
        if self.retained is None:
            self.retained = torch.autograd.grad(self.ce(self.model(self.x), self.y), self.params, create_graph=True)
        return list(torch.autograd.grad(self.retained, self.params, grad_outputs=v, retain_graph=True))

    def split(self, flat):
        return [t.view(s) for t, s in zip(torch.split(flat.float(), self.sizes), self.shapes)]

    def flat(self, parts):
        return torch.cat([t.reshape(-1) for t in parts]).double()


def lanczos(hvp, n, steps, k, gen, device):
    """Lipa's SymmetricLanczos without early stop: steps products with full reorthogonalization (twice), a
    fresh orthogonal start on breakdown, the k Ritz values largest in magnitude, then their residuals measured
    with k more products. Returns (values, residuals, products)."""
    q = torch.zeros(steps, n, dtype=torch.float64, device=device)
    alpha, beta = [], []
    w, scale = None, 0.0

    def fresh(j):
        v = torch.randn(n, dtype=torch.float64, device=device, generator=gen)
        for _ in range(2):
            v -= q[:j].T @ (q[:j] @ v)
        return v / v.norm()

    for j in range(steps):
        if j == 0:
            v = fresh(0)
        else:
            b = w.norm().item()
            if b <= 1e-10 * scale:
                v, b = fresh(j), 0.0
            else:
                v = w / b
            beta.append(b)
        q[j] = v
        aq = hvp(v)
        scale = max(scale, aq.norm().item())
        a = torch.dot(aq, v).item()
        alpha.append(a)
        aq -= a * v
        if j > 0:
            aq -= beta[j - 1] * q[j - 1]
        for _ in range(2):
            aq -= q[:j + 1].T @ (q[:j + 1] @ aq)
        w = aq
    t = torch.diag(torch.tensor(alpha, dtype=torch.float64))
    if steps > 1:
        off = torch.tensor(beta, dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    theta, s = torch.linalg.eigh(t)
    order = torch.argsort(theta.abs(), descending=True)[:k]
    values, residuals = [], []
    for i in order.tolist():
        y = q.T @ s[:, i].to(device)
        y /= y.norm()
        residuals.append((hvp(y) - theta[i].item() * y).norm().item())
        values.append(theta[i].item())
    return values, residuals, steps + k


def hutchinson(hvp, n, probes, gen, device):
    """The mean of z.Hz over Rademacher probes, with its standard error."""
    s = []
    for _ in range(probes):
        z = torch.randint(0, 2, (n,), device=device, generator=gen).double() * 2 - 1
        s.append(torch.dot(hvp(z), z).item())
    return statistics.mean(s), statistics.stdev(s) / math.sqrt(len(s)) if len(s) > 1 else float("nan")


def filter_normalized(params, gen, device):
    """Li et al.'s direction: Gaussian, each filter (slice along dim 0) of a weight of rank >= 2 scaled to the
    weight's filter norm; zero on biases and batch norm (Lipa's Directions.BiasPolicy.IGNORE)."""
    out = []
    for p in params:
        if p.dim() < 2:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, device=device, generator=gen)
        dn = d.reshape(p.shape[0], -1).norm(dim=1)
        wn = p.detach().reshape(p.shape[0], -1).norm(dim=1)
        scale = torch.where(dn == 0, torch.zeros_like(dn), wn / dn)
        out.append(d * scale.view(-1, *([1] * (p.dim() - 1))))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--seconds", type=float, default=2.0, help="measuring time per variant (default 2)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu, for a check without a GPU")
    p.add_argument("--tiny", action="store_true", help="small batches, steps and grid: a quick check of the script")
    p.add_argument("--explicit-ce", action="store_true",
                   help="cross-entropy from elementwise ops and sums (-mean(sum(onehot * log_softmax)), the log-softmax "
                        "from exp, sum and log) instead of F.cross_entropy: PyTorch 1.13's forward AD lacks the "
                        "nll_loss and log_softmax backward rules, so torch.func needs it there; not for timing")
    p.add_argument("--only", choices=["mlp", "resnet", "landscape"], action="append", help="run only these (repeatable)")
    args = p.parse_args()
    sizes = TINY if args.tiny else FULL
    only = set(args.only or ["mlp", "resnet", "landscape"])
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("gpu_analysis.py: --device cuda, but torch.cuda.is_available() is false; use --device cpu")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)

    def emit(row):
        row = {"source": "pytorch", **row}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(row.pop("figure") + ": " + ", ".join("%s %s" % (k, v) for k, v in row.items() if k != "source"), flush=True)

    emit({"figure": "_info", "version": torch.__version__, "cuda": torch.version.cuda,
          "cudnn": torch.backends.cudnn.version() if cuda else None,
          "device": torch.cuda.get_device_name() if cuda else "cpu", "sizes": sizes})

    def problem(kind):
        if kind == "mlp":
            model, batch, xshape = mlp(), sizes["mlp_batch"], (sizes["mlp_batch"], MLP_WIDTHS[0])
        else:
            model, batch, xshape = ResNet(), sizes["resnet_batch"], (sizes["resnet_batch"], 3, 32, 32)
        fill(model)
        model.to(dev).eval()
        x = torch.from_numpy(uniform("x", int(np.prod(xshape))).astype(np.float32)).view(xshape).to(dev)
        y = torch.from_numpy((uniform("y", batch) * CLASSES).astype(np.int64)).to(dev)
        return Problem(model, x, y, ce)

    if args.explicit_ce:
        def ce(logits, labels):
            shifted = logits - logits.max(-1, keepdim=True).values.detach()
            log_softmax = shifted - shifted.exp().sum(-1, keepdim=True).log()
            return -(F.one_hot(labels, CLASSES).to(logits.dtype) * log_softmax).sum(-1).mean()
    else:
        ce = F.cross_entropy

    variants = [("torch_func", "hvp_func"), ("autograd", "hvp_autograd"), ("autograd_retained", "hvp_retained")]

    def timed(figure, make, extra):
        """Times make(hvp) -> fn for each HVP variant; the row's ms is the fastest variant's."""
        row, best, last = {"figure": figure}, None, {}
        for label, method in variants:
            try:
                fn = make(getattr(prob, method))
                t = measure(lambda: last.update(result=fn()), args.seconds, sync)
                row[label + "_ms"] = t * 1e3
                best = t if best is None else min(best, t)
            except Exception as e:  # a transform PyTorch cannot do here: say so, time the others
                row[label + "_error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        row["ms"] = best * 1e3 if best is not None else None
        row.update(extra(last.get("result")))
        emit(row)

    for kind in ["mlp", "resnet"]:
        if kind not in only:
            continue
        prob = problem(kind)
        gen = torch.Generator(device=dev)
        emit({"figure": kind + "_setup", "parameters": prob.n, "batch": prob.x.shape[0], "loss": prob.loss()})
        v = prob.split(torch.randn(prob.n, dtype=torch.float64, device=dev, generator=gen.manual_seed(7)))
        timed(kind + "_hvp", lambda h: (lambda: h(v)[-1].reshape(-1)[0].item()), lambda r: {"hvps": 1})
        steps, probes = sizes[kind + "_steps"], sizes[kind + "_probes"]

        def flat_hvp(h):
            return lambda u: prob.flat(h(prob.split(u)))

        timed(kind + "_lanczos", lambda h: (lambda: lanczos(flat_hvp(h), prob.n, steps, TOP_K, gen.manual_seed(0), dev)),
              lambda r: {"hvps": r[2], "steps": steps, "top": r[0], "residuals": r[1]})
        timed(kind + "_hutchinson", lambda h: (lambda: hutchinson(flat_hvp(h), prob.n, probes, gen.manual_seed(0), dev)),
              lambda r: {"hvps": probes, "trace": r[0], "standard_error": r[1]})
        del prob

    if "landscape" in only:
        prob = problem("mlp")
        gen = torch.Generator(device=dev).manual_seed(7)
        center = [p.detach().clone() for p in prob.params]
        d1 = filter_normalized(prob.params, gen, dev)
        d2 = filter_normalized(prob.params, gen, dev)
        grid = torch.linspace(-1, 1, sizes["grid"]).tolist()

        def surface():
            loss = []
            with torch.no_grad():
                for b in grid:
                    row = []
                    for a in grid:
                        for q, c, e1, e2 in zip(prob.params, center, d1, d2):
                            q.copy_(c + a * e1 + b * e2)
                        logits = prob.model(prob.x)
                        l = prob.ce(logits, prob.y).item()
                        (logits.argmax(1) == prob.y).float().mean().item()  # the accuracy, as Lipa's Evaluation
                        row.append(l)
                    loss.append(row)
                for q, c in zip(prob.params, center):
                    q.copy_(c)
            return loss

        t = measure(surface, args.seconds, sync)
        s = surface()
        mid = len(grid) // 2
        emit({"figure": "mlp_landscape", "ms": t * 1e3, "forwards": len(grid) ** 2, "loss_center": s[mid][mid],
              "loss_min": min(map(min, s)), "loss_max": max(map(max, s))})


if __name__ == "__main__":
    main()
