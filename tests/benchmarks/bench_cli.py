"""Benchmark of the offline path (not a test): import time, cold `bento run`, and `bento run`
over a 1,000,000-row CSV (rows/s, peak RSS). Prints a table; medians over --repeat runs.

    python tests/benchmarks/bench_cli.py [--rows 1000000] [--repeat 5]

Uses a throwaway BENTO_HOME with the quickstart's IrisClassifier (SVC) trained into it.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def timed(cmd: list, env: dict, stdout=subprocess.DEVNULL) -> tuple:
    """Wall seconds and the child's peak RSS in MB (via wait4 rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="bento-bench-")
    env = {**os.environ, "BENTO_HOME": home}
    try:
        subprocess.run([sys.executable, "train.py"], cwd=ROOT / "docs" / "quickstart", env=env, check=True,
                       stdout=subprocess.DEVNULL)
        rows = []
        imports = [timed([sys.executable, "-c", "import bento"], env)[0] for _ in range(args.repeat)]
        rows.append(("python -c 'import bento'", f"{statistics.median(imports) * 1000:.0f} ms", ""))
        heavy = subprocess.run([sys.executable, "-c", "import bento, sys; print(sorted(m for m in "
                                "('pandas','numpy','sklearn','falcon','tensorflow') if m in sys.modules))"],
                               env=env, capture_output=True, text=True).stdout.strip()
        rows.append(("heavy modules imported by `import bento`", heavy, ""))
        cmd = [str(BIN / "bento"), "run", "IrisClassifier:latest", "predict", "--input", "[[5.1,3.5,1.4,0.2]]"]
        colds = [timed(cmd, env) for _ in range(args.repeat)]
        rows.append(("cold `bento run ... --input` (1 row)", f"{statistics.median(c[0] for c in colds) * 1000:.0f} ms",
                     f"peak RSS {statistics.median(c[1] for c in colds):.0f} MB"))
        csv = Path(home) / "big.csv"
        import numpy as np

        data = np.random.default_rng(0).uniform(0.1, 7.9, size=(args.rows, 4)).round(1)
        with open(csv, "w") as f:
            f.write("sl,sw,pl,pw\n")
            np.savetxt(f, data, fmt="%.1f", delimiter=",")
        big = [timed([str(BIN / "bento"), "run", "IrisClassifier:latest", "predict", "--input-file", str(csv),
                      "--output", "csv", "-q"], env) for _ in range(max(1, args.repeat // 2))]
        wall = statistics.median(b[0] for b in big)
        rows.append((f"`bento run` over a {args.rows:,}-row CSV", f"{args.rows / wall:,.0f} rows/s",
                     f"{wall:.1f} s, peak RSS {max(b[1] for b in big):.0f} MB"))
        print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
        width = max(len(r[0]) for r in rows)
        for name, value, extra in rows:
            print(f"{name.ljust(width)}  {value:>14}  {extra}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
