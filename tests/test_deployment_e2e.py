"""Deployments end to end with the real CLI and the quickstart's IrisClassifier: a supervised local
deployment that answers predictions and comes back after `kill -9`, and the bundle's image steps
(install requirements.txt, run docker-entrypoint.sh) replayed in a fresh virtual environment."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from bento_adapters.testing import post_json
from bento_deploy.process import free_port
from bento_e2e import ROOT, bento, wait_ready

pytest.importorskip("bento_server", reason="serving needs bento-server")

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
RESTART_BOUND = 120.0  # a bound, not the claim: about 1-2 s when idle (docs/deployments.md), over 20 s at load 5


@pytest.fixture
def deployments(bento_home):
    """Deletes (stops) every deployment a test leaves, through the CLI itself."""
    yield
    out = bento("deployment", "list", "-o", "json", check=False)
    for rec in json.loads(out.stdout or "[]"):
        bento("deployment", "delete", rec["name"], check=False)


def test_local_deployment_predicts_and_comes_back_after_kill_9(iris_bundle, deployments, bento_home):
    rec = json.loads(bento("deployment", "create", "iris", "--bento", "IrisClassifier:latest", "--platform", "local",
                           "--labels", "stage:dev", "-o", "json").stdout)
    assert rec["state"] == "running", rec
    url = rec["endpoint"]
    assert post_json(url + "/predict", IRIS_ROWS) == (200, [0, 2])

    killed = time.monotonic()
    os.kill(rec["details"]["server_pid"], signal.SIGKILL)
    back = wait_ready(url, RESTART_BOUND)
    print(f"\nkill -9 -> ready again in {back - killed:.2f} s")
    assert post_json(url + "/predict", IRIS_ROWS[:1]) == (200, [0])
    now = json.loads(bento("deployment", "get", "iris", "-o", "json").stdout)
    assert now["state"] == "running" and now["details"]["restarts"] == 1

    table = bento("deployment", "list", "--labels", "stage=dev").stdout
    assert re.search(r"^iris\s+local\s+IrisClassifier:\S+\s+running\s+http://127\.0\.0\.1:\d+", table, re.M)
    bento("deployment", "delete", "iris")
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/healthz", timeout=2)


# ------------------------------------------------------------------ the image's steps, without docker

def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        pytest.skip("uv is not installed (it is in requirements-dev.txt)")
    return find_uv_bin()


def _requirement_names(bundle):
    lines = open(os.path.join(bundle, "requirements.txt")).read().split()
    return [re.split(r"[=<>!~\[; ]", ln, 1)[0].lower() for ln in lines]


def test_bundle_requirements_include_the_server(iris_bundle):
    assert "bento-server" in _requirement_names(iris_bundle)


def test_image_steps_in_a_fresh_venv_serve_predictions(iris_bundle, tmp_path):
    uv = _uv()
    dockerfile = open(os.path.join(iris_bundle, "Dockerfile")).read().splitlines()
    (install,) = [ln for ln in dockerfile if ln.startswith("RUN pip install")]
    assert install == "RUN pip install --no-cache-dir -r /bundle/requirements.txt"
    env_line = next(ln for ln in dockerfile if ln.startswith("ENV "))
    image_env = dict(kv.split("=", 1) for kv in env_line[4:].split())

    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    py = str(venv / "bin" / "python")
    # The bento-* distributions are not on PyPI: the ones requirements.txt names come from this checkout
    # (bento-server included), then the image's own step installs requirements.txt.
    local = {f"bento-{p.name}": p for p in (ROOT / "packages").iterdir()} | {"bento-core": ROOT / "packages" / "core"}
    wanted = sorted(set(_requirement_names(iris_bundle)) & set(local))
    subprocess.run([uv, "pip", "install", "-q", "--python", py, *(str(local[n]) for n in wanted)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", py, "-r", os.path.join(iris_bundle, "requirements.txt")],
                   check=True)

    entry = open(os.path.join(iris_bundle, "docker-entrypoint.sh")).read()
    assert 'exec bento serve /bundle --host 0.0.0.0 "$@"' in entry
    script = tmp_path / "entrypoint.sh"
    script.write_text(entry.replace("/bundle", iris_bundle).replace("0.0.0.0", "127.0.0.1"))
    port = free_port()
    env = {**os.environ, **image_env, "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "BENTO_HOME": str(tmp_path / "home"),
           "BENTO_SERVER_PORT": str(port), "BENTO_SERVER_WORKERS": "2"}
    env.pop("PYTHONPATH", None)
    log = open(tmp_path / "server.log", "w+")
    server = subprocess.Popen(["sh", str(script)], env=env, cwd=iris_bundle, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", 60)
        assert post_json(f"http://127.0.0.1:{port}/predict", IRIS_ROWS) == (200, [0, 2])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            code = f"still running 30 s after SIGTERM: {server.wait()}"
        log.seek(0)
        output = log.read()
    assert code == 0, output
    assert "(2 workers)" in output  # BENTO_SERVER_WORKERS reached the server
    assert str(venv / "bin") in open(venv / "bin" / "bento").readline()  # it ran the venv's bento
