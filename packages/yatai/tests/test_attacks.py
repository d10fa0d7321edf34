"""Attacks on the registry and on pulled bundles (issue 17), over real gRPC on every database x
storage combination. Each test is named for the attack it stops."""
from __future__ import annotations

import importlib._bootstrap_external as bootstrap
import json
import os
import threading
import time

import grpc
import pytest
import yaml

import bento
from bento.bundle.manifest import write_manifest
from bento.exceptions import BundleError, InvalidArgument, NotFound, UntrustedArtifact
from bento_yatai.proto import yatai_pb2 as pb
from bento_yatai.safe_tar import UnsafeArchive
from archives import bundle_archive, member
from yatai_testing import raw_stub, start_server, temp_objects, upload_messages


def edit_bundle(bundle: str, change) -> dict:
    """Change bento.yml (both copies) as a hand-made bundle would, rewrite the manifest; returns
    the metadata as the client sends it."""
    name = os.path.basename(bundle).split("-")[0]
    for path in (os.path.join(bundle, "bento.yml"), os.path.join(bundle, name, "bento.yml")):
        with open(path, encoding="utf-8") as f:
            meta = yaml.safe_load(f)
        change(meta)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(meta, f, allow_unicode=True)
    write_manifest(bundle)
    return meta


def _status(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        result = call(request, timeout=30)
        if hasattr(result, "__next__"):
            list(result)
    return info.value


def test_bytecode_planted_in_a_pushed_archive_is_refused_on_pull(yatai, yc, make_bundle, bento_home):
    bundle = make_bundle("Iris", version="1.0")
    source = os.path.join(bundle, "Iris", "yatai_svcs.py")
    st = os.stat(source)
    pyc = bootstrap._code_to_timestamp_pyc(compile("raise RuntimeError('planted')", source, "exec"),
                                           int(st.st_mtime), st.st_size)
    archive = bundle_archive(bundle, [member("Iris/__pycache__/yatai_svcs.cpython-311.pyc", bytes(pyc))])
    with open(os.path.join(bundle, "bento.yml"), encoding="utf-8") as f:
        meta_json = json.dumps(yaml.safe_load(f))
    raw_stub(yatai).UploadBundle(upload_messages(meta_json, "Iris", "1.0", archive))
    with pytest.raises(BundleError, match="Iris/__pycache__ is compiled Python bytecode"):
        yc.repository.pull("Iris:1.0")
    assert not (bento_home / "repository" / "Iris").exists()


def test_pulled_pickle_bundle_keeps_the_gate_through_its_package_dir_and_retrieve(yc, make_bundle, tmp_path):
    yc.repository.push(make_bundle("Iris", version="1.0"))
    pulled = yc.repository.pull("Iris:1.0")
    retrieved = str(tmp_path / "retrieved")
    from click.testing import CliRunner

    from bento.cli import make_cli

    out = CliRunner().invoke(make_cli(), ["retrieve", pulled, "--target-dir", retrieved])
    assert out.exit_code == 0, out.output
    for path in (pulled, os.path.join(pulled, "Iris"), retrieved, os.path.join(retrieved, "Iris")):
        with pytest.raises(UntrustedArtifact, match="Iris:1.0 came from a registry and is not signed"):
            bento.load(path)
    assert bento.load(os.path.join(retrieved, "Iris"), trust_pickle=True).lookup("a") == 1


def test_client_created_at_does_not_decide_latest(yatai, yc, make_bundle):
    stub = raw_stub(yatai)
    script = make_bundle("Iris", version="1.0")
    meta = edit_bundle(script, lambda m: m.update(created_at="<script>alert(1)</script>"))
    err = _status(stub.UploadBundle, upload_messages(json.dumps(meta), "Iris", "1.0", bundle_archive(script)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "is not an ISO-8601 timestamp" in err.details()

    future = make_bundle("Iris", version="2.0")
    edit_bundle(future, lambda m: m.update(created_at="2999-01-01T00:00:00+00:00"))
    yc.repository.push(future)
    yc.repository.push(make_bundle("Iris", version="3.0"))
    assert yc.repository.get("Iris:latest").version == "3.0"
    assert [b.version for b in yc.repository.list("Iris")] == ["3.0", "2.0"]
    assert yc.repository.get("Iris:2.0").created_at < "2999"  # the registry's time, not the bundle's claim


def test_oversized_metadata_is_refused_and_commits_nothing(yc, make_bundle):
    bundle = make_bundle("Iris", version="1.0")
    edit_bundle(bundle, lambda m: m["artifacts"][0]["metadata"].update(notes="中" * 900_000))  # 2.7 MB
    with pytest.raises(InvalidArgument, match="upload metadata is .* bytes; this Yatai accepts at most 1048576"):
        yc.repository.push(bundle)
    assert yc.repository.list() == []
    with pytest.raises(NotFound):
        yc.repository.get("Iris:1.0")


def test_deeply_nested_metadata_is_invalid_argument_not_internal(yatai, make_bundle):
    stub = raw_stub(yatai)
    deep = "[" * 100_000 + "]" * 100_000
    meta = json.dumps({"name": "Iris", "version": "1.0", "labels": {}}).replace('"labels": {}', f'"labels": {deep}')
    err = _status(stub.UploadBundle, upload_messages(meta, "Iris", "1.0", b"x"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
    assert "nested more than 32 levels" in err.details() and "\n" not in err.details()
    details = '{"a": ' + deep + "}"
    err = _status(stub.CreateDeployment, pb.DeploymentRequest(deployment=pb.Deployment(
        name="d", platform="local", bento="Iris:1.0", details_json=details)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "nested more than 32 levels" in err.details()


def test_silent_upload_streams_do_not_starve_reads(backend, make_bundle, caplog):
    server = start_server(backend, idle_timeout_seconds=3.0)
    try:
        stub = raw_stub(server)
        meta = json.dumps(yaml.safe_load(open(os.path.join(make_bundle("Iris", version="1.0"), "bento.yml"))))
        release = threading.Event()

        def silent():
            yield pb.UploadRequest(header=pb.UploadHeader(name="Iris", version="1.0", metadata_json=meta))
            yield pb.UploadRequest(chunk=b"x" * 1024)
            release.wait(60)

        calls = [stub.UploadBundle.future(silent()) for _ in range(40)]
        time.sleep(1.0)  # every stream is open and silent
        started = time.monotonic()
        assert list(stub.ListBundles(pb.ListBundlesRequest(), timeout=5)) == []
        with pytest.raises(grpc.RpcError) as info:
            stub.GetBundle(pb.GetBundleRequest(name="Iris"), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert time.monotonic() - started < 5
        codes = [c.exception(timeout=30).code() for c in calls]  # the idle ones are cancelled
        assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 40 - 16
        assert codes.count(grpc.StatusCode.CANCELLED) == 16
        release.set()
        server.stop(grace=30)  # returns once every handler has ended, and logged what it logs
        assert [t.name for t in threading.enumerate() if t.name.startswith("yatai-rpc")] == []
        assert temp_objects(backend) == []
    finally:
        server.stop(grace=30)
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == [], "a client that went away is not a server error"


def test_small_archive_cannot_expand_far_on_pull(yc, make_bundle, bento_home):
    bundle = make_bundle("Iris", version="1.0")
    with open(os.path.join(bundle, "Iris", "artifacts", "blob.pkl"), "wb") as f:
        f.truncate(100 << 20)  # 100 MiB of zeros: the archive is about 100 KB
    write_manifest(bundle)
    pushed = yc.repository.push(bundle)
    assert pushed.tag == "Iris:1.0"
    with pytest.raises(UnsafeArchive, match=f"unpacks to more than {64 << 20} bytes"):
        yc.repository.pull("Iris:1.0")
    assert not (bento_home / "repository" / "Iris").exists()
