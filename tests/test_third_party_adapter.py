"""A third-party input adapter, pip-installed as its own distribution (the bento-upper example
of docs/adapters.md), serves over HTTP and runs on `bento run` with no change to Bento."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from bento_deploy.process import HOST, free_port
from bento.testing import plugin_venv
from bento_e2e import wait_ready

from bento_adapters.testing import write_upper_plugin

pytest.importorskip("bento_server", reason="serving needs bento-server")

SERVICE = '''
from bento import BentoService, api
from bento_upper import UpperInput


class Shout(BentoService):
    @api(input=UpperInput(), batch=True)
    def shout(self, words):
        return [w + "!" for w in words]
'''


@pytest.fixture(scope="module")
def upper_venv(tmp_path_factory) -> str:
    """A venv that sees this environment, with bento-upper pip-installed into it."""
    root = tmp_path_factory.mktemp("upper")
    return plugin_venv(root / "venv", write_upper_plugin(root / "bento-upper"))


@pytest.fixture
def venv_with_shout(upper_venv: str, tmp_path: Path) -> str:
    """The venv's python, once it has saved the Shout service into this test's BENTO_HOME."""
    (tmp_path / "shout_service.py").write_text(SERVICE)
    save = subprocess.run([upper_venv, "-c", "import shout_service; print(shout_service.Shout().save())"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert save.returncode == 0, save.stderr
    assert "plugin: bento-upper" in (Path(save.stdout.strip()) / "bento.yml").read_text()
    return upper_venv


def test_bento_serve_answers_through_the_plugin_adapter(venv_with_shout: str):
    port = free_port()
    url = f"http://{HOST}:{port}"
    server = subprocess.Popen([venv_with_shout, "-m", "bento.cli", "serve", "Shout:latest", "--host", HOST,
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(url, 60, server)
        r = requests.post(url + "/shout", data=json.dumps("hi"), headers={"Content-Type": "application/json"},
                          timeout=30)
        assert (r.status_code, r.json()) == (200, "HI!")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output


def test_bento_run_goes_through_the_plugin_adapter(venv_with_shout: str):
    out = subprocess.run([venv_with_shout, "-m", "bento.cli", "run", "Shout:latest", "shout", "--input", '"hi"'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == "HI!"
