"""Fixtures: tiny iris services (real bento_adapters + scikit-learn), their Falcon app in this
process (falcon.testing.TestClient, no socket; the WSGI and the ASGI app, `interface`) and
servers on 127.0.0.1 (for what only a real server shows), on every installed HTTP engine
(`engine`: waitress, and granian where bento-server-granian is installed)."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from functools import partial
from typing import Any, Iterator

import attrs
import pytest
import requests
from bento.plugins import get_plugin_manager
from bento.testing import iris  # noqa: F401  (the iris data)
from falcon.testing import ASGIConductor, TestClient

from bento_server.engine import http_engines

SERVICES = '''
import os
import time

import numpy as np
from bento import BentoService, api, artifacts, env
from bento.types import InferenceError, InferenceResult
from bento_adapters import DataframeInput, ImageInput, JsonInput
from bento_artifacts_sklearn import SklearnModelArtifact

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
time.sleep(float(os.environ.get("SRV_IMPORT_DELAY", "0")))  # a slow-loading bundle, for /readyz


@env(pip_packages=["scikit-learn"])
@artifacts([SklearnModelArtifact("model")])
class SrvIris(BentoService):
    """Iris species from four measurements."""

    @api(input=DataframeInput(columns=COLUMNS, dtype="float64"), batch=True, mb_max_latency=5000)
    def predict(self, df, tasks):
        """Species ids, one per row; a request with a missing or non-finite value gets 400."""
        x = df.to_numpy()
        finite = np.isfinite(x).all(axis=1)
        keep, pos = np.ones(len(x), dtype=bool), 0
        for task in tasks:
            if not finite[pos:pos + task.rows].all():
                task.discard(400, "every row needs 4 finite numbers")
                keep[pos:pos + task.rows] = False
            pos += task.rows
        return self.artifacts.model.predict(x[keep]) if keep.any() else []

    @api(input=JsonInput(), batch=False)
    def predict_single(self, rows):
        try:
            x = np.asarray(rows, dtype="float64")
        except (TypeError, ValueError):
            return InferenceError("rows must be lists of 4 numbers", 400)
        if x.ndim != 2 or x.shape[1] != 4 or not np.isfinite(x).all():
            return InferenceError("rows must be lists of 4 finite numbers", 400)
        return self.artifacts.model.predict(x).tolist()


class SrvImages(BentoService):
    """The shape of an image, for the decode limits."""

    @api(input=ImageInput(), batch=False)
    def shape(self, image):
        return list(image.shape)


@artifacts([SklearnModelArtifact("model")])
class SrvQuirks(BentoService):
    """APIs that misbehave on purpose."""

    @api(input=JsonInput(), batch=True, mb_max_batch_size=64)
    def echo(self, items):
        """Returns its items; raises when one of them is "boom"; {"sleep": s} sleeps first."""
        for item in items:
            if item == "boom":
                raise ValueError("boom")
            if isinstance(item, dict) and "sleep" in item:
                time.sleep(item["sleep"])
        return items

    @api(input=JsonInput(), batch=True)
    def status(self, items, tasks):
        return [InferenceResult(data={"ok": i}, http_status=201, http_headers={"X-Custom": "yes"})
                if i != "bad" else InferenceError("item is bad", 422) for i in items]

    @api(input=JsonInput(), batch=False)
    def hang(self, item):
        time.sleep(item)
        return item

    @api(input=JsonInput(), batch=True)
    def batch_size(self, items):
        """How many requests shared the call."""
        return [len(items)] * len(items)
'''


# A module of its own: @web_static_content fails when a bundle's copy of the module is imported
# (core bug, reported), so bundles are made of the module above only.
STATIC_SERVICE = '''
from bento import web_static_content
from bento_server_testsvc import SrvIris


@web_static_content("static")
class SrvIrisStatic(SrvIris):
    """SrvIris with a web UI."""
'''


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def service_module(tmp_path_factory):
    """The test services' module, importable (and so saveable as bundles)."""
    root = tmp_path_factory.mktemp("services")
    (root / "bento_server_testsvc.py").write_text(textwrap.dedent(SERVICES))
    (root / "bento_server_testsvc_static.py").write_text(textwrap.dedent(STATIC_SERVICE))
    static = root / "static"
    static.mkdir()
    (static / "index.html").write_text("<html><body>iris ui</body></html>")
    (static / "app.js").write_text("console.log('iris');")
    sys.path.insert(0, str(root))
    import bento_server_testsvc
    import bento_server_testsvc_static

    bento_server_testsvc.SrvIrisStatic = bento_server_testsvc_static.SrvIrisStatic
    yield bento_server_testsvc
    sys.path.remove(str(root))


@pytest.fixture(scope="session")
def iris_model(iris):
    from sklearn import svm

    x, y = iris
    return svm.SVC(gamma="scale").fit(x, y)


@pytest.fixture(scope="session")
def iris_service(service_module, iris_model):
    svc = service_module.SrvIris()
    svc.pack("model", iris_model, metadata={"accuracy": 0.97})
    return svc


@pytest.fixture(scope="session")
def static_service(service_module, iris_model):
    svc = service_module.SrvIrisStatic()
    svc.pack("model", iris_model, metadata={"accuracy": 0.97})
    return svc


@pytest.fixture(scope="session")
def quirks_service(service_module, iris_model):
    svc = service_module.SrvQuirks()
    svc.pack("model", iris_model)
    return svc


@pytest.fixture(scope="session")
def iris_bundle(iris_service, tmp_path_factory):
    return iris_service.save_to_dir(str(tmp_path_factory.mktemp("bundle") / "SrvIris"))


@pytest.fixture(scope="session")
def images_bundle(service_module, tmp_path_factory):
    return service_module.SrvImages().save_to_dir(str(tmp_path_factory.mktemp("bundle") / "SrvImages"))


@pytest.fixture(scope="session")
def quirks_bundle(quirks_service, tmp_path_factory):
    return quirks_service.save_to_dir(str(tmp_path_factory.mktemp("bundle") / "SrvQuirks"))


# SrvQuirks' settings in both tiers: /hang outlives a short timeout; refusals are answered at once.
QUIRKS_SETTINGS = {"timeout": 1.5, "refusal_delay": 0}


def _configs(settings: dict) -> tuple:
    """ServerConfig and BatchingConfig from one dict of [server] and [batching] keys."""
    from bento_server.config import BatchingConfig, ServerConfig

    batching_keys = attrs.fields_dict(BatchingConfig).keys()
    return (ServerConfig(**{k: v for k, v in settings.items() if k not in batching_keys}),
            BatchingConfig(**{k: v for k, v in settings.items() if k in batching_keys}))


@contextmanager
def _app_client(service, interface: str = "wsgi", **settings) -> Iterator[TestClient]:
    """The service's Falcon app of `interface` in this process, without a socket; settings as
    for dev_server."""
    from bento_server.app import BentoApp

    app = BentoApp(service, *_configs(settings))
    try:
        yield (_ASGIClient if interface == "asgi" else TestClient)(app.serving(interface))
    finally:
        app.close()


class _ASGIClient(TestClient):
    """TestClient of an ASGI app that tests may call from several threads at once, as a server's
    clients do: each call runs on an event loop of its own (Falcon's runs all on one)."""

    def simulate_request(self, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return await ASGIConductor(self.app).simulate_request(*args, **kwargs)

        return asyncio.run(call())


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def interface(request) -> str:
    """Which of the app's two faces the in-process tests call: WSGI (waitress) or ASGI (granian)."""
    return request.param


@pytest.fixture(scope="module")
def app_client(interface):
    """Context manager factory: `with app_client(service, timeout=1) as client: client.simulate_get(...)`."""
    return partial(_app_client, interface=interface)


@pytest.fixture(scope="module")
def iris_client(static_service, interface):
    """SrvIris (with its web UI) in process, default settings."""
    with _app_client(static_service, interface) as client:
        yield client


@pytest.fixture(scope="module")
def quirks_client(quirks_service, interface):
    with _app_client(quirks_service, interface, **QUIRKS_SETTINGS) as client:
        yield client


def _engines_under_test() -> list:
    """Every installed engine, or those BENTO_TEST_ENGINES names (comma-separated): the tox env
    of bento-server-granian runs the real-socket tests on granian, the server env on waitress."""
    installed = sorted(http_engines(get_plugin_manager()))
    wanted = [name for name in os.environ.get("BENTO_TEST_ENGINES", "").split(",") if name]
    missing = sorted(set(wanted) - set(installed))
    if missing:
        raise pytest.UsageError(f"BENTO_TEST_ENGINES names engines not installed: {', '.join(missing)} "
                                f"(installed: {', '.join(installed)})")
    return wanted or installed


@pytest.fixture(scope="module", params=_engines_under_test())
def engine(request) -> str:
    """The HTTP engine the real-socket tests run on: each installed one in turn."""
    return request.param


@contextmanager
def _dev_server(service, engine: str = "waitress", **settings) -> Iterator[str]:
    """The service on a free loopback port in this process, served by `engine`; settings are
    [server]/[batching] keys."""
    from bento_server.engine import http_engine
    from bento_server.lifecycle import DevServer

    handle = DevServer(service, "127.0.0.1", 0, *_configs(settings), http_engine(service.plugins, engine))
    try:
        yield handle.url
    finally:
        handle.stop(grace=2)


@pytest.fixture(scope="module")
def dev_server(engine):
    """Context manager factory: `with dev_server(service, timeout=1) as url: ...`."""
    return partial(_dev_server, engine=engine)


@pytest.fixture(scope="module")
def iris_url(static_service, engine):
    """SrvIris (with its web UI) on a dev server with default settings."""
    with _dev_server(static_service, engine) as url:
        yield url


@pytest.fixture(scope="module")
def quirks_url(quirks_service, engine):
    with _dev_server(quirks_service, engine, **QUIRKS_SETTINGS) as url:
        yield url


class ServeProcess:
    """`bento serve` in a subprocess of its own process group, on `engine`."""

    def __init__(self, args: list, env: dict | None = None, python: str = sys.executable,
                 engine: str = "waitress") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "BENTO_HOME": os.environ.get("BENTO_HOME", "/nonexistent-bento-home"),
                    "BENTO_SERVER_ENGINE": engine, **(env or {})}
        self.proc = subprocess.Popen(
            [python, "-m", "bento.cli", "serve", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> "ServeProcess":
        """Until /readyz answers 200: a slow answer on a loaded machine is waited for, not a failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bento serve exited {self.proc.returncode}: {self.output()}")
            try:
                if requests.get(self.url + "/readyz", timeout=max(deadline - time.monotonic(), 1)).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or too busy to answer in time
                pass
            time.sleep(0.05)
        raise AssertionError(f"bento serve did not become ready within {timeout} s")

    def output(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def serve_process(engine):
    """Factory: ServeProcess(args, env, python) on `engine`; every one started is killed at teardown."""
    started = []

    def start(args: list, env: dict | None = None, python: str = sys.executable) -> ServeProcess:
        p = ServeProcess(args, env, python, engine)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


def _post_json(url: str, value, **kwargs) -> requests.Response:
    import json

    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return requests.post(url, data=json.dumps(value), headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def post_json():
    """`post_json(url, value, headers={...})`: a JSON POST with requests."""
    return _post_json


def _assert_error(r: Any, status: int, *words: str) -> str:
    """`r` (from requests or falcon.testing) is the server's JSON error with `status`, the response's
    request id and `words` in its message, and no traceback; returns the message."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json() if callable(r.json) else r.json
    assert body["request_id"] == r.headers["X-Request-Id"]
    for word in words:
        assert word in body["error"], body["error"]
    assert "Traceback" not in body["error"]
    return body["error"]


@pytest.fixture(scope="session")
def assert_error():
    return _assert_error
