"""Benchmark (not a test): how fast a `local` deployment comes back after `kill -9` of its server.
Prints, over --repeat kills, the time until the supervisor has started a new server (detected)
and until /readyz answers 200 again and a prediction succeeds (recovered): median and max.

    python tests/benchmarks/bench_deployment_restart.py [--repeat 10]

Uses a throwaway BENTO_HOME with the quickstart's IrisClassifier (SVC); needs bento-server.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def bento(*args: str, env: dict) -> str:
    out = subprocess.run([str(BIN / "bento"), *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"bento {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def until(predicate, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout} s")
        time.sleep(0.005)
    return time.monotonic()


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as home:
        env = {**os.environ, "BENTO_HOME": home}
        subprocess.run([sys.executable, "train.py"], cwd=ROOT / "docs" / "quickstart", env=env, check=True,
                       capture_output=True)
        rec = json.loads(bento("deployment", "create", "iris", "--bento", "IrisClassifier:latest",
                               "--platform", "local", "-o", "json", env=env))
        state_file = Path(home) / "deployments" / "iris" / "state.json"
        server_pid = lambda: json.loads(state_file.read_text())["server_pid"]  # noqa: E731
        detected, recovered = [], []
        try:
            for _ in range(args.repeat):
                old = server_pid()
                killed = time.monotonic()
                os.kill(old, signal.SIGKILL)
                detected.append(until(lambda: server_pid() != old) - killed)
                recovered.append(until(lambda: ready(rec["endpoint"])) - killed)
                req = urllib.request.Request(rec["endpoint"] + "/predict", data=b"[[5.1, 3.5, 1.4, 0.2]]",
                                             headers={"Content-Type": "application/json"})
                assert json.loads(urllib.request.urlopen(req, timeout=10).read()) == [0]
                time.sleep(0.5)
        finally:
            bento("deployment", "delete", "iris", env=env)
    print(f"kill -9 of the server of a local deployment ({platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.repeat} kills)")
    for what, times in (("detected (new server started)", detected), ("recovered (/readyz 200)", recovered)):
        print(f"  {what:32s} median {statistics.median(times):6.3f} s   max {max(times):6.3f} s")


if __name__ == "__main__":
    main()
