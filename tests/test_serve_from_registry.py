"""`bento serve TAG` with Yatai as the repository (config `yatai.url`): the tag is looked up
before the port opens, the bundle is fetched while the server answers 503."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import requests
from bento_deploy.process import HOST, free_port
from bento_e2e import bento, wait_ready


def _serve(tag: str, yatai_url: str, *flags: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "BENTO_YATAI_URL": yatai_url}
    server = subprocess.Popen([sys.executable, "-m", "bento.cli", "serve", tag, "--host", HOST, "--port", str(port),
                               *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    return server, f"http://{HOST}:{port}"


def test_a_tag_the_registry_does_not_have_fails_before_the_port_opens(yatai_url):
    server, _ = _serve("IrisClassifier:9.9", yatai_url)
    output = server.communicate(timeout=120)[0]
    lines = output.strip().splitlines()
    assert server.returncode == 1, output
    assert lines[-1].startswith("Error: ") and "IrisClassifier:9.9" in lines[-1], output
    assert "listening" not in output and "Traceback" not in output, output


def test_the_latest_tag_of_the_registry_is_served(iris_bundle, yatai_url):
    bento("push", iris_bundle, "--yatai-url", yatai_url)
    server, url = _serve("IrisClassifier:latest", yatai_url, "--trust-pickle")
    try:
        wait_ready(url, 120, server)
        r = requests.post(url + "/predict", data=json.dumps([[5.1, 3.5, 1.4, 0.2]]),
                          headers={"Content-Type": "application/json"}, timeout=30)
        assert (r.status_code, r.json()) == (200, [0])
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
