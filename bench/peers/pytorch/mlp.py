#!/usr/bin/python3
"""PyTorch's side of bench MlpJacobianBench: the 784-512-512-512-10 ReLU MLP at batch 128 (fixed weights,
derivatives with respect to the input), timed as Lipa times it:
  mlp_forward     f(x) without autograd;
  mlp_jvp         J v by forward-mode AD (torch.autograd.forward_ad; primal and tangent together: PyTorch has no
                  reusable linearization, Lipa applies one built once at x);
  mlp_vjp         J^T u through a graph kept from one forward pass at x (as Lipa's pullback);
  mlp_hvp         H v of L(x) = cross_entropy(f(x), y) by double backward, from x each time (as Lipa);
  mlp_power_step  J v and J^T u, one Jacobian power-iteration step.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/peers/pytorch/mlp.py [--json] [--seconds S]
"""
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

from timing import measure, options, report

WIDTHS = [784, 512, 512, 512, 10]
BATCH = 128


def main():
    args = options(__doc__)
    ws, bs = [], []
    for i in range(len(WIDTHS) - 1):
        bound = (6.0 / WIDTHS[i]) ** 0.5
        ws.append((torch.rand(WIDTHS[i + 1], WIDTHS[i]) * 2 - 1) * bound)
        bs.append((torch.rand(WIDTHS[i + 1]) * 2 - 1) * 0.01)

    def f(h):
        for i in range(len(ws)):
            h = F.linear(h, ws[i], bs[i])
            if i < len(ws) - 1:
                h = F.relu(h)
        return h

    x = torch.rand(BATCH, WIDTHS[0]) * 2 - 1
    v = torch.rand(BATCH, WIDTHS[0]) * 2 - 1
    u = torch.rand(BATCH, WIDTHS[-1]) * 2 - 1
    y = torch.randint(0, WIDTHS[-1], (BATCH,))

    def forward():
        with torch.no_grad():
            return f(x)

    def jvp():
        with fwAD.dual_level():
            return fwAD.unpack_dual(f(fwAD.make_dual(x, v))).tangent

    xg = x.clone().requires_grad_(True)
    out = f(xg)  # the forward pass at x, kept for every pullback

    def vjp():
        return torch.autograd.grad(out, xg, u, retain_graph=True)[0]

    def hvp():
        xh = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(f(xh), y), xh, create_graph=True)
        return torch.autograd.grad(g, xh, v)[0]

    def power_step():
        return jvp(), vjp()

    for name, fn in [("mlp_forward", forward), ("mlp_jvp", jvp), ("mlp_vjp", vjp), ("mlp_hvp", hvp),
                     ("mlp_power_step", power_step)]:
        report(args, name, measure(fn, args.seconds))


if __name__ == "__main__":
    main()
