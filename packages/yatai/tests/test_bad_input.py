"""Bad requests and broken uploads, sent raw through gRPC: each gets a proper status with a
message that says what to do, and none leaves a visible row or temporary bytes behind."""
from __future__ import annotations

import io
import json
import os
import tarfile
import threading
import time

import grpc
import pytest

from bento.bundle.metadata import BundleMetadata
from bento_yatai.proto import yatai_pb2 as pb
from bento_yatai.safe_tar import UnsafeArchive
from archives import bundle_archive, member
from yatai_testing import raw_stub, temp_objects, upload_messages

BAD_NAMES = ["../x", "a/b", "x" * 10_000]


def _meta_json(bundle_dir: str) -> str:
    with open(os.path.join(bundle_dir, "bento.yml"), encoding="utf-8") as f:
        return json.dumps(BundleMetadata.from_yaml(f.read()).to_dict())


def _status(call, *args) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        result = call(*args)
        if hasattr(result, "__next__"):
            list(result)
    return info.value


@pytest.mark.parametrize("bad", BAD_NAMES, ids=["dotdot", "slash", "10000-chars"])
def test_bad_names_and_versions_are_invalid_argument(yatai, bad):
    stub = raw_stub(yatai)
    for call, request in [(stub.GetBundle, pb.GetBundleRequest(name=bad)),
                          (stub.GetBundle, pb.GetBundleRequest(name="Iris", version=bad)),
                          (stub.ListBundles, pb.ListBundlesRequest(name=bad)),
                          (stub.DownloadBundle, pb.GetBundleRequest(name="Iris", version=bad)),
                          (stub.DeleteBundle, pb.DeleteBundleRequest(name=bad, version="1")),
                          (stub.UploadBundle, upload_messages("{}", bad, "1", b""))]:
        err = _status(call, request)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (call, err)
        assert "invalid" in err.details() and len(err.details()) <= 500
    assert len(_status(stub.ListBundles, pb.ListBundlesRequest(label_selector="a In ()")).details()) <= 500


def test_metadata_must_match_the_upload(yatai, make_bundle):
    stub = raw_stub(yatai)
    meta = _meta_json(make_bundle("Iris", version="1.0"))
    err = _status(stub.UploadBundle, upload_messages(meta, "Other", "1.0", b"x"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "carries the bento.yml of Iris:1.0" in err.details()
    err = _status(stub.UploadBundle, upload_messages("not json", "Iris", "1.0", b"x"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "not JSON" in err.details()


@pytest.mark.parametrize("fault", ["size", "sha256", "no-trailer"])
def test_size_or_sha256_mismatch_stores_nothing(yatai, yc, backend, make_bundle, fault):
    stub = raw_stub(yatai)
    meta = _meta_json(make_bundle("Iris", version="1.0"))
    data = os.urandom(3 << 20)
    if fault == "size":
        messages = upload_messages(meta, "Iris", "1.0", data, size=len(data) + 1)
    elif fault == "sha256":
        messages = upload_messages(meta, "Iris", "1.0", data, sha256="0" * 64)
    else:
        messages = (m for m in upload_messages(meta, "Iris", "1.0", data) if m.WhichOneof("part") != "trailer")
    err = _status(stub.UploadBundle, messages)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"size": "size mismatch", "sha256": "sha256 mismatch", "no-trailer": "before its trailer"}[fault] \
        in err.details() and "push again" in err.details()
    assert yc.repository.list() == [] and temp_objects(backend) == []


def test_stream_cancelled_halfway_leaves_nothing(yatai, yc, backend, make_bundle):
    stub = raw_stub(yatai)
    meta = _meta_json(make_bundle("Iris", version="1.0"))
    sent = threading.Event()

    def messages():
        yield from (m for m in upload_messages(meta, "Iris", "1.0", os.urandom(6 << 20))
                    if m.WhichOneof("part") != "trailer")
        sent.set()
        time.sleep(30)  # never finishes: the client cancels

    future = stub.UploadBundle.future(messages())
    assert sent.wait(10)
    future.cancel()
    assert yc.repository.list() == []
    yatai.stop(grace=30)  # returns once the upload's handler has ended (it may not have seen the cancel yet)
    assert temp_objects(backend) == []


def test_message_over_4_mib_is_refused(yatai, make_bundle):
    stub = raw_stub(yatai)
    meta = _meta_json(make_bundle("Iris", version="1.0"))
    err = _status(stub.UploadBundle, upload_messages(meta, "Iris", "1.0", os.urandom(5 << 20), chunk=5 << 20))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _hostile_archive(bundle_dir: str) -> bytes:
    """A real bundle plus a member that climbs out of it."""
    return bundle_archive(bundle_dir, [member("../escaped.txt", b"evil")])


def test_a_hostile_archive_is_refused_on_pull(yatai, yc, make_bundle, bento_home, tmp_path):
    bundle = make_bundle("Iris", version="1.0")
    raw_stub(yatai).UploadBundle(upload_messages(_meta_json(bundle), "Iris", "1.0", _hostile_archive(bundle)))
    with pytest.raises(UnsafeArchive, match="climbs out"):
        yc.repository.pull("Iris:1.0")
    repo = bento_home / "repository"
    assert not (repo / "Iris").exists()
    assert not any((repo / ".staging").iterdir()) if (repo / ".staging").exists() else True
    assert not (repo / "escaped.txt").exists() and not (repo / ".staging" / "escaped.txt").exists()
