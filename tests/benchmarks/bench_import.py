"""Benchmark (not a test) of what importing Bento costs in a user's jobs, not only in
`import bento`: defining and calling a service, defining, saving and loading one, `bento --help`.

    python tests/benchmarks/bench_import.py [--repeat 15] [--vs /path/to/other/venv/bin/python]

With --vs, every job also runs under that interpreter (a venv with another version of bento,
bento-adapters and bento-server installed), interleaved A B A B so a drift of the machine's speed
hits both; the table gives both medians and the median of the pairwise ratios.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICE = '''
from bento import BentoService, api, artifacts
from bento.artifacts import JSONArtifact
from bento_adapters import JsonInput


@artifacts([JSONArtifact("table")])
class Lookup(BentoService):
    @api(input=JsonInput(), batch=False)
    def get(self, doc):
        return self.artifacts.table.get(doc["k"])
'''

DEFINE = '''
from lookup_svc import Lookup
svc = Lookup().pack("table", {"a": 1})
assert svc.get({"k": "a"}) == 1
'''

SAVE_LOAD = DEFINE + '''
import bento
assert bento.load(svc.save()).get({"k": "a"}) == 1
'''

JOBS = {
    "python -c 'import bento'": lambda py: [py, "-c", "import bento"],
    "define and call a service": lambda py: [py, "define.py"],
    "define, call, save, load, call": lambda py: [py, "save_load.py"],
    "bento --help": lambda py: [str(Path(py).parent / "bento"), "--help"],
}


def wall(cmd: list, cwd: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--vs", help="a second Python interpreter to run every job under, side by side")
    args = ap.parse_args()
    pythons = [sys.executable] + ([args.vs] if args.vs else [])
    with tempfile.TemporaryDirectory(prefix="bento-bench-import-") as work:
        for name, text in (("lookup_svc.py", SERVICE), ("define.py", DEFINE), ("save_load.py", SAVE_LOAD)):
            Path(work, name).write_text(text)
        env = {**os.environ, "BENTO_HOME": os.path.join(work, "home")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users have cached bytecode
        print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"medians of {args.repeat} runs after one warm-up, process wall time")
        header = ["job", "A (this bento)"] + (["B (--vs)", "A/B"] if args.vs else [])
        print(" | ".join(header))
        for job, make in JOBS.items():
            times: list[list[float]] = [[] for _ in pythons]
            for _ in range(args.repeat + 1):
                for i, py in enumerate(pythons):
                    times[i].append(wall(make(py), work, env))
            times = [t[1:] for t in times]
            cells = [job] + [f"{statistics.median(t) * 1000:.0f} ms" for t in times]
            if args.vs:
                cells.append(f"{statistics.median(a / b for a, b in zip(*times)):.2f}")
            print(" | ".join(cells))


if __name__ == "__main__":
    main()
