"""Compiled (ONNX Runtime) against scikit-learn on the benchmark's iris bundles, read as ratios.

    python tests/benchmarks/server/make_bundles.py /work/shared/bench $PEERBENCH/bundles
    python tests/benchmarks/frameworks/bench_compiled.py $PEERBENCH/bundles

Predict: median µs of `self.artifacts.model.predict(rows)` on the loaded bundle (the compiled one
through OnnxModel: dtype cast, shape check, one session.run), 1 and 64 rows, same process.
Load: a fresh interpreter that loads the bundle and predicts one row, wall seconds and peak RSS
(VmHWM), median of 5 runs, the two kinds interleaved so machine load hits both alike.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROW = [5.1, 3.5, 1.4, 0.2]
RUNS = 5
CALLS = 300
# Peak RSS from VmHWM: ru_maxrss survives execve, so a child would inherit this (larger) process's peak.
LOAD = ("import sys, time; t = time.monotonic(); import bento; svc = bento.load(sys.argv[1]); "
        "svc.artifacts.model.predict([%r]); wall = time.monotonic() - t; "
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]; "
        "print(wall, int(hwm) / 1024)" % ROW)


def predict_us(model, rows) -> float:
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        model.predict(rows)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def fresh_load(bundle: str) -> tuple:
    out = subprocess.run([sys.executable, "-c", LOAD, bundle], capture_output=True, text=True, check=True, timeout=300)
    wall, rss = out.stdout.split()
    return float(wall), float(rss)


def main(root: str) -> None:
    import numpy as np

    import bento

    print(f"{'bundle':<16} {'1 row µs':>9} {'64 rows µs':>11} {'load+1 s':>9} {'peak MiB':>9}")
    for model in ("svc", "rf"):
        loads = {kind: [] for kind in ("", "_onnx")}
        for _ in range(RUNS):
            for kind in loads:
                loads[kind].append(fresh_load(f"{root}/iris_{model}{kind}"))
        for kind, runs in loads.items():
            loaded = bento.load(f"{root}/iris_{model}{kind}").artifacts.model
            one, many = np.asarray([ROW]), np.tile(ROW, (64, 1))
            print(f"iris_{model}{kind:<11} {predict_us(loaded, one):9.0f} {predict_us(loaded, many):11.0f} "
                  f"{statistics.median(r[0] for r in runs):9.2f} {statistics.median(r[1] for r in runs):9.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
