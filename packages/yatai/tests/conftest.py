"""Fixtures for bento-yatai: a private BENTO_HOME per test; the real backing services
(PostgreSQL from the system or from pgserver, SeaweedFS as the S3 store) started once per
session on free loopback ports by the modules in services/; an in-process Yatai server per test
on every database x storage combination; bundles made fast from one template bundle.
"""
from __future__ import annotations

import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from yatai_testing import (  # noqa: E402
    BACKENDS,
    Backend,
    BundleFactory,
    _free_base,
    _service,
    _use_plugins,
    make_backend,
    start_server,
)
import pg_service  # noqa: E402  (on sys.path once yatai_testing is imported)
import seaweed_service  # noqa: E402


@pytest.fixture(autouse=True)
def bento_home(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("BENTO_") and var not in ("BENTO_STRICT_PLUGINS",):
            monkeypatch.delenv(var)
    home = tmp_path / "bento_home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    _use_plugins()
    yield home


@pytest.fixture(scope="session")
def postgres():
    yield from _service(lambda: pg_service.PostgresServer(port=_free_base(25432, 1)))


@pytest.fixture(scope="session")
def s3_store():
    yield from _service(lambda: seaweed_service.SeaweedStore(port=_free_base(19310, seaweed_service.SPAN)))


@pytest.fixture(params=BACKENDS, ids=[f"{d}-{s}" for d, s in BACKENDS])
def backend(request, tmp_path) -> Backend:
    return make_backend(request, *request.param, tmp_path)


@pytest.fixture
def yatai(backend):
    """A Yatai server (gRPC + UI) in this process, on fresh state."""
    server = start_server(backend)
    yield server
    server.stop(grace=0)


@pytest.fixture
def yc(yatai):
    from bento_yatai.client import get_yatai_client

    client = get_yatai_client(yatai.address)
    yield client
    client.close()


@pytest.fixture(scope="session")
def template_bundle(tmp_path_factory):
    """One real bundle written by core; the factory below copies and renames it."""
    from yatai_svcs import YataiToy

    _use_plugins()
    svc = YataiToy()
    svc.pack("table", {"a": 1, "b": 2}, metadata={"accuracy": 0.97})
    svc.pack("blob", b"")
    return svc.save_to_dir(str(tmp_path_factory.mktemp("template") / "bundle"), labels={"framework": "toy"})


@pytest.fixture
def make_bundle(template_bundle, tmp_path) -> BundleFactory:
    return BundleFactory(template_bundle, str(tmp_path / "made"))


@pytest.fixture
def local_backend(request, tmp_path) -> Backend:
    """SQLite + a local directory: for tests about one concern that the store does not change."""
    return make_backend(request, "sqlite", "local", tmp_path)
