"""Hostile-client soak: honest clients keep /predict busy while attackers take turns.

Honest: wrk, 32 keep-alive connections, POST /predict (iris SVC, one row). In turns, each for
--phase seconds after a quiet phase: 2,000 idle connections (re-opened as the server closes
them), 300 slow readers (each pipelines 18 requests for the 1 MB Swagger UI bundle and reads
nothing; re-opened as closed), 4 PNGs a second just under Pillow's bomb limit (9400x9400 RGBA),
1 CSV of 100,000 columns a second. Per phase: honest goodput (2xx/s) as a share of the quiet
phase's, honest p99, probe latency max (main port and probe port, a new connection per probe),
server RSS max (the serving process(es)), temp-file bytes max, errors by kind.

Loopback only, stdlib + wrk (apt-get install wrk), bounded at 10 minutes:

    python tests/benchmarks/server/hostile_soak.py --workers 1 --phase 30 --json out.json
"""
from __future__ import annotations

import argparse
import collections
import errno
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HOST = "127.0.0.1"
_TCP_CLOSE, _TCP_CLOSE_WAIT = 7, 8  # tcpi_state of TCP_INFO
LIMIT_SECONDS = 600
ROW = b"[[5.1, 3.5, 1.4, 0.2]]"

SERVICE = '''
from bento import BentoService, api, artifacts
from bento_adapters import DataframeInput, ImageInput
from bento_artifacts_sklearn import SklearnModelArtifact

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@artifacts([SklearnModelArtifact("model")])
class SoakIris(BentoService):
    @api(input=DataframeInput(columns=COLUMNS, dtype="float64"), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df.to_numpy())

    @api(input=ImageInput(), batch=False)
    def shape(self, image):
        return list(image.shape)
'''


def make_bundle(root: str) -> str:
    sys.path.insert(0, root)
    with open(os.path.join(root, "soak_service.py"), "w") as f:
        f.write(textwrap.dedent(SERVICE))
    from sklearn import svm
    from sklearn.datasets import load_iris
    from soak_service import SoakIris

    x, y = load_iris(return_X_y=True)
    svc = SoakIris()
    svc.pack("model", svm.SVC(gamma="scale").fit(x, y))
    return svc.save_to_dir(os.path.join(root, "SoakIris"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- measuring the server


def serving_pids(pid: int) -> list:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()] or [pid]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def temp_bytes(pid: int) -> int:
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").endswith("(deleted)"):
                total += os.stat(f"/proc/{pid}/fd/{fd}").st_size
        except OSError:
            pass
    return total


def probe(port: int, path: str) -> float:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=5) as r:
            r.read()
    except (OSError, urllib.error.URLError):
        return float("inf")
    return time.monotonic() - started


class Watch(threading.Thread):
    """Probes both ports and samples RSS and temp files every 0.2 s."""

    def __init__(self, server_pid: int, port: int, probe_port: int) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.port, self.probe_port = server_pid, port, probe_port
        self.done = threading.Event()
        self.probe_main, self.probe_own, self.rss, self.temp = [], [], [], []

    def run(self) -> None:
        paths = ("/healthz", "/readyz")
        while not self.done.is_set():
            path = paths[len(self.probe_main) % 2]
            self.probe_main.append(probe(self.port, path))
            self.probe_own.append(probe(self.probe_port, path))
            try:
                pids = serving_pids(self.server_pid)
                self.rss.append(max(rss_mib(p) for p in pids))
                self.temp.append(sum(temp_bytes(p) for p in pids))
            except OSError:
                pass
            self.done.wait(0.2)


# ---------------------------------------------------------------- the attackers


class Hangers(threading.Thread):
    """`n` connections that each send `payload` and never read, re-opened as the server closes them."""

    def __init__(self, port: int, n: int, payload: bytes) -> None:
        super().__init__(daemon=True)
        self.port, self.n, self.payload = port, n, payload
        self.done = threading.Event()
        self.counts: collections.Counter = collections.Counter()
        self.silent: list = []  # slow readers that have sent their requests
        self._next_reap = 0.0

    def _open(self, selector: selectors.BaseSelector) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        if s.connect_ex((HOST, self.port)) not in (0, errno.EINPROGRESS):
            s.close()
            self.counts["connect failed"] += 1
            return
        selector.register(s, selectors.EVENT_WRITE)

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        for _ in range(self.n):
            self._open(selector)
        while not self.done.is_set():
            for key, events in selector.select(0.2):
                s = key.fileobj
                if events & selectors.EVENT_WRITE:  # connected (or failed)
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        selector.unregister(s)
                        s.close()
                        self.counts["connect failed"] += 1
                        self._open(selector)
                        continue
                    self.counts["opened"] += 1
                    if self.payload:  # a slow reader: sends, then is never read from
                        selector.unregister(s)
                        try:
                            s.send(self.payload)
                        except OSError:
                            pass
                        self.silent.append(s)
                    else:  # idle: readable only once the server has closed it
                        selector.modify(s, selectors.EVENT_READ)
                else:
                    selector.unregister(s)
                    s.close()
                    self.counts["closed by the server"] += 1
                    self._open(selector)
            self._reap(selector)
        for s in [key.fileobj for key in selector.get_map().values()] + self.silent:
            s.close()
        selector.close()

    def _reap(self, selector: selectors.BaseSelector) -> None:
        """Once a second, re-open the slow readers the server has closed (TCP state CLOSE_WAIT)."""
        now = time.monotonic()
        if now < self._next_reap:
            return
        self._next_reap = now + 1
        alive = []
        for s in self.silent:
            if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] in (_TCP_CLOSE, _TCP_CLOSE_WAIT):
                s.close()
                self.counts["closed by the server"] += 1
                self._open(selector)
            else:
                alive.append(s)
        self.silent = alive


class Poster(threading.Thread):
    """`rate` POSTs a second of `body` to `path`; counts the outcomes."""

    def __init__(self, port: int, path: str, body: bytes, ctype: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.url, self.body, self.ctype, self.rate = f"http://{HOST}:{port}{path}", body, ctype, rate
        self.done = threading.Event()
        self.counts: collections.Counter = collections.Counter()
        self.seconds: list = []

    def one(self) -> None:
        started = time.monotonic()
        request = urllib.request.Request(self.url, data=self.body, headers={"Content-Type": self.ctype})
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                r.read()
                self.counts[r.status] += 1
        except urllib.error.HTTPError as e:
            self.counts[e.code] += 1
        except OSError as e:
            self.counts[type(e).__name__] += 1
        self.seconds.append(time.monotonic() - started)

    def run(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            while not self.done.wait(1 / self.rate):
                pool.submit(self.one)


def near_pillow_limit_png() -> bytes:
    from bento_adapters.testing import uniform_png

    return uniform_png(9400, 9400)


def wide_csv() -> bytes:
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"] + [f"x{i}" for i in range(99_996)]
    return (",".join(columns) + "\n" + ",".join(["1.0"] * len(columns)) + "\n").encode()


# ---------------------------------------------------------------- honest clients


def wrk(port: int, seconds: int, cpu: str) -> dict:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.method = "POST"\nwrk.body = \'{ROW.decode()}\'\n'
                 'wrk.headers["Content-Type"] = "application/json"\n')
    script.close()
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", script.name,
           f"http://{HOST}:{port}/predict"]
    out = subprocess.run((["taskset", "-c", cpu] if cpu else []) + cmd, capture_output=True, text=True).stdout
    os.unlink(script.name)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {"goodput": (total - non2xx) / seconds, "p99_ms": float(p99.group(1)) * scale[p99.group(2)],
            "non2xx": non2xx, "socket_errors": dict(zip(("connect", "read", "write", "timeout"),
                                                        map(int, errors.groups()))) if errors else {}}


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phase", type=int, default=30, help="seconds per phase")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    phases = ["quiet", "2,000 idle", "300 slow readers", "4 near-limit images/s", "1 wide CSV/s"]
    if len(phases) * (args.phase + 10) > LIMIT_SECONDS:
        parser.error(f"{len(phases)} phases of {args.phase} s would run past {LIMIT_SECONDS} s")
    deadline = time.monotonic() + LIMIT_SECONDS
    root = tempfile.mkdtemp(prefix="bento-soak-")
    bundle = make_bundle(root)
    image, csv_body = near_pillow_limit_png(), wide_csv()
    port, probe_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bento.cli", "serve", bundle, "--port", str(port), "--probe-port", str(probe_port),
         "--workers", str(args.workers)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "BENTO_HOME": root})
    try:
        first = server.stdout.readline()
        while probe(port, "/readyz") == float("inf"):
            assert time.monotonic() < deadline and server.poll() is None, first
            time.sleep(0.2)
        pinned = re.search(r"on CPU (\d+)", first)
        cpus = sorted(os.sched_getaffinity(0))
        wrk_cpu = ",".join(str(c) for c in cpus if not pinned or c != int(pinned.group(1))) or ""
        results = []
        for name in phases:
            attackers = {
                "quiet": [],
                "2,000 idle": [Hangers(port, 2000, b"")],
                "300 slow readers": [Hangers(port, 300, b"GET /swagger-ui/swagger-ui-bundle.js HTTP/1.1\r\n"
                                                       b"Host: x\r\n\r\n" * 18)],
                "4 near-limit images/s": [Poster(port, "/shape", image, "image/png", 4)],
                "1 wide CSV/s": [Poster(port, "/predict", csv_body, "text/csv", 1)],
            }[name]
            watch = Watch(server.pid, port, probe_port)
            for t in [watch, *attackers]:
                t.start()
            honest = wrk(port, args.phase, wrk_cpu)
            for t in [*attackers, watch]:
                t.done.set()
                t.join(30)
            attack: collections.Counter = collections.Counter()
            for t in attackers:
                attack.update({str(k): v for k, v in t.counts.items()})
            results.append({"phase": name, **honest, "probe_main_max_s": max(watch.probe_main),
                            "probe_port_max_s": max(watch.probe_own), "rss_max_mib": max(watch.rss),
                            "temp_bytes_max": max(watch.temp), "attack": dict(attack)})
            print(json.dumps(results[-1]), flush=True)
            assert time.monotonic() < deadline, "past the 10-minute bound"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    quiet = results[0]["goodput"]
    print(f"\n| phase | goodput (share of quiet) | honest p99 | probe max, main / probe port | RSS max | "
          f"temp files max | honest errors | attackers' outcomes |\n|---|---|---|---|---|---|---|---|")
    for r in results:
        errors = {k: v for k, v in r["socket_errors"].items() if v}
        if r["non2xx"]:
            errors["non-2xx"] = r["non2xx"]
        print(f"| {r['phase']} | {r['goodput']:,.0f}/s ({r['goodput'] / quiet:.0%}) | {r['p99_ms']:.1f} ms | "
              f"{r['probe_main_max_s'] * 1000:.0f} / {r['probe_port_max_s'] * 1000:.0f} ms | "
              f"{r['rss_max_mib']:.0f} MiB | {r['temp_bytes_max']:,} B | {errors or 'none'} | "
              f"{', '.join(f'{k}: {v}' for k, v in sorted(r['attack'].items())) or '-'} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"workers": args.workers, "phase_seconds": args.phase, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
