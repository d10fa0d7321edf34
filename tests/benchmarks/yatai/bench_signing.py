"""What signing costs (a script, not a test): `python tests/benchmarks/yatai/bench_signing.py [ROUNDS]`.

Pushes and pulls one 100 MB bundle (random bytes, the worst case for gzip) through a real Yatai
(`bento yatai start` in its own process, SQLite + a local directory, 127.0.0.1), unsigned and
signed with an ed25519 key, alternating, ROUNDS times each (default 5). Prints the median seconds,
MB/s and the client's peak RSS of each, and signing's share of the push time. Every operation runs
in a fresh client process so its peak RSS is its own.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

MB = 1_000_000
BUNDLE_BYTES = 100 * MB

_CHILD = r"""
import json, resource, sys, time
op, args = sys.argv[1], json.loads(sys.argv[2])
from bento_yatai.client import YataiClient
started = time.perf_counter()
with YataiClient(args["url"], signing_key=args.get("key", "")) as yc:
    if op == "push":
        yc.repository.push(args["bundle"])
    else:
        yc.repository.pull(args["tag"])
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(op: str, env: dict, **args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, op, json.dumps(args)], check=True, capture_output=True,
                         text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _bundle(home: str, env: dict) -> str:
    """A saved bundle whose pickle artifact holds BUNDLE_BYTES of random bytes."""
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); import yatai_svcs; from bento.plugins import "
            "default_manager; default_manager().register(yatai_svcs); s = yatai_svcs.YataiToy(); "
            "s.pack('table', {'a': 1}); s.pack('blob', os.urandom(int(sys.argv[2]))); print(s.save_to_dir(sys.argv[3]))")
    tests = os.path.join(os.path.dirname(__file__), "..", "..", "..", "packages", "yatai", "tests")
    out = subprocess.run([sys.executable, "-c", code, os.path.abspath(tests), str(BUNDLE_BYTES),
                          os.path.join(home, "..", "bundle")], check=True,
                         capture_output=True, text=True, env=env).stdout
    return out.strip().splitlines()[-1]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = tempfile.mkdtemp(prefix="bench-signing-")
    env = {**os.environ, "BENTO_HOME": os.path.join(work, "home"), "PYTHONPATH": os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "packages", "yatai", "tests")}
    key = os.path.join(work, "key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    grpc_port, ui_port = _free_port(), _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bento.cli", "yatai", "start", "--db-url",
                               f"sqlite:///{work}/yatai.db", "--repo-base-url", f"{work}/archives", "--grpc-port",
                               str(grpc_port), "--ui-port", str(ui_port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"127.0.0.1:{grpc_port}"
        bundle = _bundle(os.path.join(work, "home"), env)
        results: dict = {k: [] for k in ("push unsigned", "push signed", "pull unsigned", "pull signed")}
        for i in range(rounds):
            for signed in (False, True) if i % 2 == 0 else (True, False):
                label = "signed" if signed else "unsigned"
                version = f"b{i}{label[0]}"
                copy = os.path.join(work, f"bundle-{version}")
                shutil.copytree(bundle, copy)
                _rename_version(copy, version, env)
                results[f"push {label}"].append(_child("push", env, url=url, bundle=copy, key=key if signed else ""))
                shutil.rmtree(os.path.join(work, "home", "repository"), ignore_errors=True)
                results[f"pull {label}"].append(_child("pull", env, url=url, tag=f"YataiToy:{version}"))
                shutil.rmtree(copy)
        print(f"{rounds} rounds; {platform.machine()}, {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, Python {platform.python_version()}")
        print(f"{'':16} {'median s':>9} {'MB/s':>6} {'client peak RSS MB':>19}")
        medians = {}
        for label, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            medians[label] = seconds
            rss = statistics.median(r["peak_rss_mb"] for r in runs)
            print(f"{label:16} {seconds:9.2f} {BUNDLE_BYTES / MB / seconds:6.0f} {rss:19.0f}")
        share = (medians["push signed"] - medians["push unsigned"]) / medians["push unsigned"] * 100
        print(f"signing's share of push time: {share:+.1f} % (the signature itself: about 1 ms)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _rename_version(bundle: str, version: str, env: dict) -> None:
    """The same bytes under a new version: bento.yml (both copies) and the manifest rewritten."""
    code = ("import sys, attrs; from bento.bundle.metadata import BundleMetadata; "
            "from bento.bundle.manifest import write_manifest; d, v = sys.argv[1:]; "
            "p = d + '/bento.yml'; m = attrs.evolve(BundleMetadata.from_yaml(open(p).read()), version=v); "
            "[open(f, 'w').write(m.to_yaml()) for f in (p, d + '/' + m.name + '/bento.yml')]; write_manifest(d)")
    subprocess.run([sys.executable, "-c", code, bundle, version], check=True, env=env)


if __name__ == "__main__":
    main()
