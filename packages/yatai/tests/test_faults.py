"""Faults with the real components: a server killed mid-upload, the object store down, PostgreSQL
restarted under load, concurrent pushes on SQLite, two servers sharing one database and bucket."""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from bento.exceptions import AlreadyExists
from bento_yatai.client import YataiClient
from bento_yatai.errors import Unavailable
from yatai_testing import ServerProcess, make_backend, raw_stub, start_server, temp_objects, upload_messages


def _meta_json(bundle_dir: str) -> str:
    from bento.bundle.metadata import BundleMetadata

    with open(os.path.join(bundle_dir, "bento.yml"), encoding="utf-8") as f:
        return json.dumps(BundleMetadata.from_yaml(f.read()).to_dict())


def test_kill_9_mid_upload_then_restart_and_retry(backend, make_bundle, tmp_path):
    server = ServerProcess(backend, str(tmp_path / "yatai.log"), "--gc-grace-seconds", "1").start()
    bundle = make_bundle("Iris", blob_size=1 << 20)
    sent = threading.Event()

    def messages():
        for m in upload_messages(_meta_json(bundle), *os.path.basename(bundle).split("-", 1), os.urandom(24 << 20)):
            if m.WhichOneof("part") == "trailer":
                sent.set()
                time.sleep(60)  # the server dies before the upload ends
            yield m

    future = raw_stub(server).UploadBundle.future(messages())
    try:
        assert sent.wait(20)
        deadline = time.monotonic() + 10
        while not temp_objects(backend) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert temp_objects(backend), "the upload never reached the store"
        server.kill(9)
        with pytest.raises(grpc.RpcError) as info:
            future.result(timeout=20)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        future.cancel()
    time.sleep(2.5)  # past the gc grace period (S3 listings round times up to the second)
    server.start()
    try:
        with YataiClient(server.address) as yc:
            assert yc.repository.list() == []  # no visible row
            deadline = time.monotonic() + 15
            while temp_objects(backend) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert temp_objects(backend) == [], server.log()  # garbage-collected at start
            tag = yc.repository.push(bundle).tag  # the retry succeeds
            assert os.path.isdir(yc.repository.pull(tag))
    finally:
        server.kill(15)


def test_object_store_down_is_unavailable_fast_and_recovers(request, tmp_path, make_bundle, s3_store):
    backend = make_backend(request, "sqlite", "s3", tmp_path)
    server = start_server(backend)
    try:
        with YataiClient(server.address) as yc:
            tag = yc.repository.push(make_bundle("Iris")).tag
            s3_store.stop_s3()
            try:
                for op in (lambda: yc.repository.push(make_bundle("Iris")), lambda: yc.repository.pull(tag)):
                    started = time.monotonic()
                    with pytest.raises(Unavailable, match="object store .* unavailable"):
                        op()
                    assert time.monotonic() - started < 5
                assert {name: ok for name, ok, _ in server.probe()} == {"database": True, "storage": False}
                assert [b.tag for b in yc.repository.list()] == [tag]  # the database still answers
            finally:
                s3_store.start_s3()
            assert yc.repository.push(make_bundle("Iris")).name == "Iris"  # no restart needed
            assert os.path.isdir(yc.repository.pull(tag))
    finally:
        server.stop(grace=0)


def test_postgres_restarted_under_load(request, tmp_path, make_bundle, postgres):
    backend = make_backend(request, "postgresql", "local", tmp_path)
    server = start_server(backend)
    bundles = [make_bundle("Iris") for _ in range(40)]
    stop = threading.Event()
    errors: list = []
    pushed: list = []

    def worker(n: int) -> None:
        with YataiClient(server.address) as yc:
            i = n
            while not stop.is_set() and i < len(bundles):
                try:
                    pushed.append(yc.repository.push(bundles[i]).tag)
                    yc.repository.list("Iris", limit=5)
                    i += 4
                except Unavailable:
                    time.sleep(0.1)  # expected while the database restarts; then retried
                except Exception as e:  # anything else is a bug
                    errors.append(e)
                    i += 4

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    postgres.restart()
    time.sleep(0.5)
    for t in threads:
        t.join(timeout=120)
    stop.set()
    try:
        assert errors == []
        with YataiClient(server.address) as yc:
            listed = {b.tag for b in yc.repository.list("Iris")}
            assert listed == set(pushed) and len(listed) == len(bundles)
    finally:
        server.stop(grace=0)


def test_16_concurrent_pushes_on_sqlite(local_backend, make_bundle):
    server = start_server(local_backend)
    bundles = [make_bundle(f"Svc{i}", blob_size=256 << 10) for i in range(16)]
    try:
        with YataiClient(server.address) as yc, ThreadPoolExecutor(16) as pool:
            tags = list(pool.map(lambda b: yc.repository.push(b).tag, bundles))
            assert len(set(tags)) == 16 and len(yc.repository.list()) == 16
    finally:
        server.stop(grace=0)


def test_two_servers_share_one_postgres_and_bucket(request, tmp_path, make_bundle, postgres, s3_store):
    backend = make_backend(request, "postgresql", "s3", tmp_path)
    first = ServerProcess(backend, str(tmp_path / "a.log")).start()
    second = ServerProcess(backend, str(tmp_path / "b.log")).start()
    try:
        with YataiClient(first.address) as a, YataiClient(second.address) as b:
            different = [make_bundle("Iris", blob_size=512 << 10) for _ in range(8)]
            with ThreadPoolExecutor(8) as pool:
                tags = list(pool.map(lambda ib: (a, b)[ib[0] % 2].repository.push(ib[1]).tag, enumerate(different)))
            assert sorted(x.tag for x in a.repository.list()) == sorted(x.tag for x in b.repository.list()) \
                == sorted(tags)

            for _ in range(3):
                same = make_bundle("Same", blob_size=1 << 20)
                outcomes: list = []

                def push(client: YataiClient) -> None:
                    try:
                        outcomes.append(client.repository.push(same).tag)
                    except AlreadyExists as e:
                        outcomes.append(e)

                threads = [threading.Thread(target=push, args=(c,)) for c in (a, b, a, b)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
            assert len(b.repository.list("Same")) == 3
            assert os.path.isdir(b.repository.pull(tags[0]))  # pushed through the other server
    finally:
        first.kill(15)
        second.kill(15)
