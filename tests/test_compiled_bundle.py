"""A scikit-learn model compiled to ONNX at pack time, end to end: `bento serve` with two workers that
never import scikit-learn, `bento run`, and `pip install <bundle>` into an environment without it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from bento_adapters.testing import post_json
from bento_deploy.process import free_port
from bento_e2e import ROOT, bento, wait_ready

pytest.importorskip("skl2onnx", reason="compiling needs bento-artifacts-sklearn[onnx]")

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """(bundle directory, the original model's labels for ROWS)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    from compiled_service import CompiledIris

    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    svc = CompiledIris().pack("model", model, sample_input=X)
    path = svc.save_to_dir(str(tmp_path_factory.mktemp("compiled") / "CompiledIris"))
    return path, model.predict(ROWS).tolist()


def test_served_workers_answer_without_importing_scikit_learn(compiled, tmp_path):
    pytest.importorskip("bento_server", reason="serving needs bento-server")
    path, expected = compiled
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "bento.cli", "serve", path, "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "2"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, 120, server)
        answers = [post_json(url + "/modules", {})[1] for _ in range(8)]  # spread over both workers
        assert post_json(url + "/predict", ROWS) == (200, expected)
        with urllib.request.urlopen(url + "/metadata", timeout=10) as resp:
            (artifact,) = json.loads(resp.read())["artifacts"]
        with urllib.request.urlopen(url + "/docs.json", timeout=10) as resp:
            documented = json.loads(resp.read())["info"]["x-bento-artifacts"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert all(a == {"sklearn": False, "skl2onnx": False, "onnx": False, "onnxruntime": True} for a in answers), answers
    assert artifact["metadata"]["onnx"]["compiled"]["compiler"] == "skl2onnx"
    # the model's inputs (names, shapes, types) are in the OpenAPI document too, as `bento open-api-spec` gives it
    assert documented[artifact["name"]]["metadata"]["onnx"]["inputs"] == artifact["metadata"]["onnx"]["inputs"]
    spec = json.loads(bento("open-api-spec", path).stdout)
    assert spec["info"]["x-bento-artifacts"] == documented


def test_bento_run_predicts_from_the_compiled_bundle(compiled):
    path, expected = compiled
    assert json.loads(bento("run", path, "predict", "--input", json.dumps(ROWS)).stdout) == expected
    assert json.loads(bento("run", path, "modules", "--input", "{}").stdout)["sklearn"] is False


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        pytest.skip("uv is not installed (it is in requirements-dev.txt)")
    return find_uv_bin()


def test_installed_bundle_runs_where_scikit_learn_is_not_installed(compiled, tmp_path):
    path, expected = compiled
    uv = _uv()
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    py = str(venv / "bin" / "python")
    local = [str(ROOT / "packages" / p) for p in ("core", "adapters", "artifacts-sklearn", "artifacts-onnx", "server")]
    subprocess.run([uv, "pip", "install", "-q", "--python", py, *local], check=True)
    out = subprocess.run([uv, "pip", "install", "-q", "--python", py, path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    code = ("import importlib.util, CompiledIris; "
            f"print(CompiledIris.load().predict({ROWS!r}).tolist(), importlib.util.find_spec('sklearn'))")
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{expected} None"
