"""Yatai benchmark (a script, not a test): run `python tests/benchmarks/yatai/bench_yatai.py`.

1. push and pull of a 100 MB bundle through Yatai (PostgreSQL + SeaweedFS S3), MB/s and peak
   RSS of the client and the server, against the floor: a plain minio put/get of the same
   archive bytes to the same store;
2. `bento list --labels ...` over 10,000 bundles on PostgreSQL: latency (CLI process and client call).

Starts its own PostgreSQL and SeaweedFS (packages/yatai/tests/services), everything on 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TESTS = os.path.join(ROOT, "packages", "yatai", "tests")
sys.path[:0] = [TESTS, os.path.join(TESTS, "services")]

import pg_service  # noqa: E402
import seaweed_service  # noqa: E402

MB = 1_000_000
BUNDLE_BYTES = 100 * MB
N_BUNDLES = 10_000

# Run in a child process: prints {"seconds": ..., "import_seconds": ..., "peak_rss_mb": ...} for one
# operation. `seconds` is the transfer alone, both for Yatai and for the floor: module imports
# (grpc and bento for Yatai, minio for the floor) are timed apart as `import_seconds`.
_CHILD = r"""
import json, resource, sys, time
op, args = sys.argv[1], json.loads(sys.argv[2])
started = time.perf_counter()
if op in ("push", "pull"):
    from bento_yatai.client import YataiClient
    import bento.repository.local, bento_yatai.archive, bento_yatai.safe_tar
else:
    from minio import Minio
imported = time.perf_counter()
if op == "push":
    with YataiClient(args["url"]) as yc:
        yc.repository.push(args["bundle"])
elif op == "pull":
    with YataiClient(args["url"]) as yc:
        yc.repository.pull(args["tag"])
else:
    m = Minio(args["endpoint"], access_key=args["access"], secret_key=args["secret"], secure=False)
    if op == "put":
        m.fput_object(args["bucket"], "floor/archive", args["file"])
    else:
        m.fget_object(args["bucket"], "floor/archive", args["file"] + ".back")
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "import_seconds": imported - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(op: str, env: dict, **args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, op, json.dumps(args)], check=True, capture_output=True,
                         text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_bundle(home: str) -> str:
    from bento import plugins

    import yatai_svcs
    from yatai_svcs import YataiToy

    plugins.default_manager().register(yatai_svcs, name="yatai_svcs")
    svc = YataiToy()
    svc.pack("table", {"a": 1})
    svc.pack("blob", os.urandom(BUNDLE_BYTES))  # model weights do not compress: the worst case
    return svc.save_to_dir(os.path.join(home, "big"), labels={"bench": "yes"})


def seed(db_url: str) -> None:
    """10,000 bundle rows with labels, written straight into the registry's tables."""
    from bento_yatai.db import BundleLabel, BundleRow, Database

    db = Database(db_url)
    db.migrate()
    meta = json.dumps({"name": "Svc", "version": "v", "created_at": "", "bento_version": "0.1.0",
                       "python_version": "3.11.7", "service": {"module": "m", "class_name": "Svc"},
                       "apis": [{"name": "predict", "route": "predict", "input": {"type": "JsonInput"},
                                 "output": {"type": "JsonOutput"}}],
                       "artifacts": [{"name": "model", "type": "PickleArtifact"}], "labels": {}})

    def insert() -> None:
        for start in range(0, N_BUNDLES, 1000):
            rows = [{"name": f"Svc{i % 50}", "version": f"1.0.{i}", "created_at": f"2026-01-01T00:00:{i:08d}",
                     "uploaded_at": "2026-01-01T00:00:00", "size": 1, "sha256": "0" * 64,
                     "storage_key": f"bundles/x/{i}", "metadata": meta.replace('"v"', f'"1.0.{i}"')}
                    for i in range(start, start + 1000)]
            ids = [r for (r,) in BundleRow.insert_many(rows).returning(BundleRow.id).tuples().execute()]
            labels = []
            for n, row_id in enumerate(ids):
                i = start + n
                labels += [{"owner": row_id, "key": "team", "value": f"t{i % 10}"},
                           {"owner": row_id, "key": "stage", "value": ("prod", "qa", "dev")[i % 3]},
                           {"owner": row_id, "key": "framework", "value": ("sklearn", "xgboost")[i % 2]}]
            BundleLabel.insert_many(labels).execute()

    db.run(insert, write=True)
    db.close()


def main() -> None:
    from yatai_testing import Backend, ServerProcess, _free_base, free_port  # the test helpers, without pytest

    work = tempfile.mkdtemp(prefix="bench-yatai-")
    env = {**os.environ, "BENTO_HOME": os.path.join(work, "home"),
           "AWS_ACCESS_KEY_ID": seaweed_service.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": seaweed_service.SECRET_KEY}
    os.environ.update(env)
    pg = pg_service.PostgresServer(port=free_port()).start()
    s3 = seaweed_service.SeaweedStore(port=_free_base(19510, seaweed_service.SPAN)).start()
    results: dict = {"machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                                f"Python {platform.python_version()}", "postgres": pg.source}
    server = None
    try:
        db_url = pg.create_database("bench")
        backend = Backend("postgresql", "s3", db_url, "s3://bench/yatai",
                          {"s3_endpoint_url": s3.endpoint})
        server = ServerProcess(backend, os.path.join(work, "yatai.log")).start()
        idle_rss = peak_rss_mb(server.proc.pid)
        bundle = make_bundle(work)
        from bento.bundle.metadata import BundleMetadata

        with open(os.path.join(bundle, "bento.yml")) as f:
            tag = BundleMetadata.from_yaml(f.read()).tag

        push = child("push", env, url=server.address, bundle=bundle)
        push["server_peak_rss_mb"] = peak_rss_mb(server.proc.pid)
        pull = child("pull", env, url=server.address, tag=tag)
        pull["server_peak_rss_mb"] = peak_rss_mb(server.proc.pid)

        # the floor: the archive Yatai stored, put and got with plain minio
        from bento_yatai.archive import ArchiveStream

        archive = os.path.join(work, "archive.tar.gz")
        with open(archive, "wb") as f:
            for chunk in ArchiveStream(bundle):
                f.write(chunk)
        size = os.path.getsize(archive)
        floor_args = dict(endpoint=s3.endpoint.split("//")[1], access=seaweed_service.ACCESS_KEY,
                          secret=seaweed_service.SECRET_KEY, bucket="bench", file=archive)
        put = child("put", env, **floor_args)
        get = child("get", env, **floor_args)
        for r in (push, pull, put, get):
            r["MB_per_s"] = size / MB / r["seconds"]
        push["ratio_to_floor"] = push["MB_per_s"] / put["MB_per_s"]
        pull["ratio_to_floor"] = pull["MB_per_s"] / get["MB_per_s"]
        results["transfer"] = {"archive_MB": size / MB, "server_idle_rss_mb": idle_rss, "yatai_push": push,
                               "yatai_pull": pull, "minio_put": put, "minio_get": get}
        server.kill(15)

        seed(db_url)
        server.start()
        selector = "team=t3, stage In (prod, qa)"
        from bento_yatai.client import YataiClient

        with YataiClient(server.address) as yc:
            matched = len(yc.repository.list(labels=selector))
            calls = []
            for _ in range(20):
                started = time.perf_counter()
                yc.repository.list(labels=selector)
                calls.append(time.perf_counter() - started)
        cli = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bento.cli", "list", "--labels", selector, "-o", "json",
                            "--yatai-url", server.address], check=True, capture_output=True, env=env)
            cli.append(time.perf_counter() - started)
        results["list"] = {"bundles": N_BUNDLES, "selector": selector, "matched": matched,
                           "client_call_ms_median": statistics.median(calls) * 1000,
                           "client_call_ms_max": max(calls) * 1000,
                           "cli_process_ms_median": statistics.median(cli) * 1000}
    finally:
        if server is not None:
            server.kill(15)
        s3.destroy()
        pg.destroy()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
