"""Helpers for the bento-yatai tests (servers, backends, raw gRPC stubs); conftest.py holds the fixtures.

A module of its own, not conftest: several conftest modules share that name in one pytest run.
"""
from __future__ import annotations

import os
import pickle
import shutil
import socket
import sys
import uuid
from typing import Any, Optional

import attrs

TESTS = os.path.dirname(os.path.abspath(__file__))
for _path in (TESTS, os.path.join(TESTS, "services")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import seaweed_service  # noqa: E402

S3_BUCKET = "yatai-tests"
BACKENDS = [("sqlite", "local"), ("sqlite", "s3"), ("postgresql", "local"), ("postgresql", "s3")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _can_bind(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now. A connect test is not enough: an
    outgoing connection that holds the port as its local end refuses connects yet blocks bind."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_base(start: int, span: int) -> int:
    """The first of `span` consecutive free ports at or after `start`. Keep `start` below the
    kernel's ephemeral range (32768 on Linux), where outgoing connections take their local ports."""
    for base in range(start, start + 2000, 10):
        if all(_can_bind(port) for port in range(base, base + span)):
            return base
    raise RuntimeError(f"no {span} free ports from {start}")


def _use_plugins() -> None:
    import yatai_svcs

    from bento.plugins import default_manager

    pm = default_manager()
    if not pm.is_registered(yatai_svcs):
        pm.register(yatai_svcs, name="yatai_svcs")


# ---------------------------------------------------------------- backing services


def _service(make: Any, attempts: int = 3) -> Any:
    """Start a backing service for the session (a generator for a fixture), stop it after.

    A start that fails (a port taken between the check and the bind, by another test run on
    this machine) is retried on the ports `make` picks next; the last failure is raised with the
    service's own log."""
    for attempt in range(1, attempts + 1):
        service = make()
        try:
            service.start()
            break
        except Exception:
            service.destroy()
            if attempt == attempts:
                raise
    yield service
    service.destroy()


@attrs.frozen
class Backend:
    """Where a Yatai server under test keeps its rows and archives."""

    db: str
    store: str
    db_url: str
    repo_base_url: str
    storage_options: dict

    def cli_args(self) -> list:
        args = ["--db-url", self.db_url, "--repo-base-url", self.repo_base_url]
        if self.storage_options.get("s3_endpoint_url"):
            args += ["--s3-endpoint-url", self.storage_options["s3_endpoint_url"]]
        return args

    def cli_env(self) -> dict:
        if self.store != "s3":
            return {}
        return {"AWS_ACCESS_KEY_ID": seaweed_service.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": seaweed_service.SECRET_KEY}

    def s3_client(self) -> Any:
        from bento_yatai.storage.s3 import S3Storage

        return S3Storage.from_url(self.repo_base_url, self.storage_options)


def make_backend(request: Any, db: str, store: str, tmp_path: Any) -> Backend:
    if db == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'yatai.db'}"
    else:
        db_url = request.getfixturevalue("postgres").create_database(f"t_{uuid.uuid4().hex[:12]}")
    if store == "local":
        return Backend(db, store, db_url, str(tmp_path / "archives"), {})
    endpoint = request.getfixturevalue("s3_store").endpoint
    return Backend(db, store, db_url, f"s3://{S3_BUCKET}/{uuid.uuid4().hex[:12]}",
                   {"s3_endpoint_url": endpoint, "s3_access_key": seaweed_service.ACCESS_KEY,
                    "s3_secret_key": seaweed_service.SECRET_KEY})


def start_server(backend: Backend, **options: Any) -> Any:
    from bento_yatai.server import ServerOptions, YataiServer

    return YataiServer(ServerOptions(db_url=backend.db_url, repo_base_url=backend.repo_base_url,
                                     storage_options=backend.storage_options, grpc_port=0,
                                     ui_port=options.pop("ui_port", 0), **options)).start()


# ---------------------------------------------------------------- bundles


class BundleFactory:
    """Copies of the template bundle under a new name, version, labels and blob size, with the
    manifest rewritten (a few milliseconds instead of a full save)."""

    def __init__(self, template: str, root: str) -> None:
        self.template = template
        self.root = root

    def __call__(self, name: str = "YataiToy", labels: Optional[dict] = None, blob_size: int = 0,
                 version: Optional[str] = None) -> str:
        from datetime import datetime, timezone

        from bento.bundle.manifest import write_manifest
        from bento.bundle.layout import METADATA_FILE as FILE_NAME
        from bento.bundle.metadata import BundleMetadata
        from bento.service import new_version

        version = version or new_version()
        dst = os.path.join(self.root, f"{name}-{version}")
        shutil.copytree(self.template, dst)
        with open(os.path.join(dst, FILE_NAME), encoding="utf-8") as f:
            meta = BundleMetadata.from_yaml(f.read())
        if name != meta.name:
            os.rename(os.path.join(dst, meta.name), os.path.join(dst, name))
        meta = attrs.evolve(meta, name=name, version=version,
                            created_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                            labels=dict(meta.labels if labels is None else labels))
        for path in (os.path.join(dst, FILE_NAME), os.path.join(dst, name, FILE_NAME)):
            with open(path, "w", encoding="utf-8") as f:
                f.write(meta.to_yaml())
        if blob_size:
            with open(os.path.join(dst, name, "artifacts", "blob.pkl"), "wb") as f:
                pickle.dump(os.urandom(blob_size), f)
        write_manifest(dst)
        return dst


def temp_objects(backend: Backend) -> list:
    """What an upload left in the store's temporary area (files or objects)."""
    if backend.store == "local":
        tmp = os.path.join(backend.repo_base_url, "tmp")
        return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []
    from bento_yatai.storage.s3 import ARCHIVES_PREFIX

    s3 = backend.s3_client()  # no bundle is committed where this is called: every archive is a leftover
    return sorted(o.object_name for o in s3.client.list_objects(s3.bucket, s3.prefix + ARCHIVES_PREFIX,
                                                                recursive=True))


def raw_stub(server: Any) -> Any:
    """The generated gRPC stub, to send what the client never would."""
    import grpc

    from bento_yatai.proto import yatai_pb2_grpc

    return yatai_pb2_grpc.YataiStub(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))


def upload_messages(meta_json: str, name: str, version: str, data: bytes, size: Optional[int] = None,
                    sha256: Optional[str] = None, chunk: int = 1 << 20) -> Any:
    """An UploadBundle request stream carrying `data` (trailer from `data` unless given)."""
    import hashlib

    from bento_yatai.proto import yatai_pb2 as pb

    yield pb.UploadRequest(header=pb.UploadHeader(name=name, version=version, metadata_json=meta_json))
    for i in range(0, len(data), chunk):
        yield pb.UploadRequest(chunk=data[i:i + chunk])
    yield pb.UploadRequest(trailer=pb.UploadTrailer(size=len(data) if size is None else size,
                                                    sha256=sha256 or hashlib.sha256(data).hexdigest()))


class ServerProcess:
    """`bento yatai start` as a real process (for the CLI, kill -9 and two-server tests)."""

    def __init__(self, backend: Backend, log_path: str, *extra: str, grpc_port: Optional[int] = None) -> None:
        self.backend = backend
        self.grpc_port = grpc_port or free_port()
        self.ui_port = free_port()
        self.argv = [sys.executable, "-m", "bento.cli", "yatai", "start", *backend.cli_args(),
                     "--grpc-port", str(self.grpc_port), "--ui-port", str(self.ui_port), *extra]
        self.log_path = log_path
        self.proc: Any = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 120.0) -> "ServerProcess":
        import subprocess
        import time
        import urllib.request

        env = {**os.environ, **self.backend.cli_env()}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/healthz", timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    with open(self.log_path) as f:
                        raise RuntimeError(f"yatai did not start: {f.read()[-3000:]}")
                time.sleep(0.1)

    def kill(self, sig: int = 9) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()
