#!/usr/bin/env python3
"""Compares two runs of `lipa report` (report.json), typically --device cpu against --device gpu, figure by
figure, each against a stated tolerance, and prints one line per figure and the stage times side by side.

Same seeds give the same initial weights and batches on both devices, so what is computed before training
(Lipschitz bounds at initialization, gradient flow at initialization) must agree to float32 rounding; training
then runs ~900 steps in float32 on two different kernel libraries, whose last-bit differences grow, so what is
measured on the trained network agrees to a tolerance that says so.

    scripts/compare-reports.py cpu/report.json gpu/report.json     # exit 1 if a figure is outside its tolerance
"""
import json
import math
import sys


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def main():
    a = json.load(open(sys.argv[1]))
    b = json.load(open(sys.argv[2]))
    rows, failed = [], 0

    def check(name, x, y, tol, kind="rel"):
        nonlocal failed
        d = rel(x, y) if kind == "rel" else abs(x - y)
        ok = d <= tol and not (math.isnan(x) or math.isnan(y))
        failed += not ok
        rows.append(f"{'ok  ' if ok else 'FAIL'} {name}: {x:.6g} vs {y:.6g}, {kind} difference {d:.2e} (tolerance {tol:g})")

    la, lb = a["training"]["step_losses"], b["training"]["step_losses"]
    for i in (0, 1, 9):
        check(f"training loss, step {i + 1}", la[i], lb[i], 1e-4)
    check("training loss, mean of the last 100 steps", sum(la[-100:]) / 100, sum(lb[-100:]) / 100, 0.05)
    check("test accuracy after the last epoch (points)", 100 * a["training"]["epochs"][-1]["testAccuracy"],
          100 * b["training"]["epochs"][-1]["testAccuracy"], 0.5, "abs")
    for when, tol in (("initialization", 1e-4), ("trained", 0.03)):
        for bound in ("lowerBound", "upperBound"):
            check(f"Lipschitz {bound} at {when}", a["lipschitz"][when][bound], b["lipschitz"][when][bound], tol)
    ha, hb = a["hessian"], b["hessian"]
    for k in range(len(ha["top"]["eigenvalues"])):
        check(f"Hessian eigenvalue {k + 1} (trained)", ha["top"]["eigenvalues"][k], hb["top"]["eigenvalues"][k], 0.1)
    check("Hessian trace (trained; Hutchinson)", ha["trace"]["mean"], hb["trace"]["mean"], 0.15)
    sa, sb = a["landscape"]["surface_2d"]["loss"], b["landscape"]["surface_2d"]["loss"]
    diffs = sorted(rel(x, y) for ra, rb in zip(sa, sb) for x, y in zip(ra, rb))
    check("2-D landscape loss, median over the grid (trained)", 0, diffs[len(diffs) // 2], 0.1, "abs")
    ia, ib = a["landscape"]["interpolation"]["loss"], b["landscape"]["interpolation"]["loss"]
    check("interpolation loss at alpha = 0 (initial weights)", ia[len(ia) // 4], ib[len(ib) // 4], 1e-4)
    for ea, eb in zip(a["gradient_flow"]["results"], b["gradient_flow"]["results"]):
        if ea["depth"] == max(e["depth"] for e in a["gradient_flow"]["results"]):
            check(f"gradient flow {ea['variant']} {ea['init']} depth {ea['depth']}: signal spread", ea["signalSpread"],
                  eb["signalSpread"], 1e-3)
    print("\n".join(rows))
    print(f"{len(rows) - failed} of {len(rows)} figures within tolerance")
    print(f"{'stage':<20} {'run 1 (s)':>10} {'run 2 (s)':>10} {'ratio 1/2':>10}")
    sa_, sb_ = a.get("stage_seconds", {}), b.get("stage_seconds", {})
    for k in sa_:
        x, y = sa_[k], sb_.get(k, float("nan"))
        print(f"{k:<20} {x:>10.2f} {y:>10.2f} {x / y if y else float('nan'):>10.2f}")
    print(f"{'total':<20} {a['seconds']:>10.2f} {b['seconds']:>10.2f} {a['seconds'] / b['seconds']:>10.2f}")
    print(f"run 1: {a.get('backend')}; run 2: {b.get('backend')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
