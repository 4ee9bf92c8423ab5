"""Shared by the PyTorch peer scripts: command-line options, thread settings, a timing loop like the C
baselines' (median over batches of the mean time per call) and JSON-lines output for bench/suite.sh's
results writer: {"source": "pytorch", "figure": ..., "ms": ...}."""
import argparse
import json
import os
import statistics
import time

import torch


def options(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print JSON lines for the results writer")
    p.add_argument("--seconds", type=float, default=10.0, help="measurement time per figure (default 10)")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))))
    torch.manual_seed(1)
    return args


def info():
    """The settings quoted beside PyTorch's numbers."""
    return {"source": "pytorch", "figure": "_info", "version": torch.__version__, "threads": torch.get_num_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "unset"),
            "mkldnn": torch.backends.mkldnn.is_available(), "python": os.path.realpath(os.sys.executable)}


def measure(fn, seconds):
    """Median over batches of the mean seconds per call of fn(), after a warmup of a quarter of the time."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        t = time.perf_counter()
        if t - t0 >= seconds / 4 and calls >= 3:
            break
    per = (t - t0) / calls
    batch = max(1, int(seconds / 10 / per))
    means, end = [], time.perf_counter() + seconds
    while len(means) < 3 or time.perf_counter() < end:
        b0 = time.perf_counter()
        for _ in range(batch):
            fn()
        means.append((time.perf_counter() - b0) / batch)
    return statistics.median(means)


def report(args, figure, seconds):
    if args.json:
        print(json.dumps({"source": "pytorch", "figure": figure, "ms": seconds * 1e3}), flush=True)
    else:
        print(f"{figure}: {seconds * 1e3:.4f} ms", flush=True)
