"""The commands as a user runs them: `bento yatai start` in the foreground, `bento push/pull`,
and core's list/get/delete/retrieve with --yatai-url or yatai.url configured."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from yatai_testing import ServerProcess


def bento(*args: str, env: dict = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "bento.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"bento {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


@pytest.fixture
def server(local_backend, tmp_path):
    proc = ServerProcess(local_backend, str(tmp_path / "yatai.log")).start()
    yield proc
    proc.kill(signal.SIGTERM)


def test_push_list_get_pull_delete_with_the_cli(server, make_bundle, bento_home, tmp_path):
    url = ["--yatai-url", server.address]
    bundle = make_bundle("Iris", labels={"stage": "prod"}, blob_size=2 << 20)
    pushed = bento("push", bundle, *url)
    tag = pushed.stdout.strip()
    assert tag.startswith("Iris:") and "pushing" in pushed.stderr  # the bar (a label line when not a tty)

    listed = bento("list", "--labels", "stage=prod", "-o", "json", *url).stdout
    assert tag in listed and bento("list", "--labels", "stage=qa", "-o", "json", *url).stdout.strip() == "[]"
    assert tag in bento("get", tag, "-o", "json", *url).stdout

    pulled = bento("pull", "Iris:latest", *url)
    assert pulled.stdout.strip() == str(bento_home / "repository" / "Iris" / tag.split(":")[1])
    assert tag in bento("list", "-o", "json").stdout  # now in the local repository

    target = tmp_path / "copy"
    bento("retrieve", tag, "--target-dir", str(target), *url)
    assert (target / "bento.yml").is_file()

    again = bento("push", bundle, *url, check=False)
    assert again.returncode != 0 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr

    bento("delete", tag, "-y", *url)
    missing = bento("get", tag, *url, check=False)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_hook_repository_backend_is_yatai_when_its_url_is_configured(server, make_bundle):
    env = {"BENTO_YATAI_URL": f"grpc://{server.address}"}
    tag = bento("push", make_bundle("Iris"), env=env).stdout.strip()
    assert tag in bento("list", "-o", "json", env=env).stdout
    assert bento("get", tag, "--print-location", env=env).stdout.strip() == f"grpc://{server.address}/{tag}"


def test_unreachable_server_is_one_clear_line():
    proc = bento("list", "--yatai-url", "127.0.0.1:1", check=False)
    assert proc.returncode != 0 and "cannot reach Yatai at grpc://127.0.0.1:1" in proc.stderr
    assert proc.stderr.count("\n") == 1
    bad = bento("push", "x", "--yatai-url", "http://nope", check=False)
    assert "invalid Yatai URL" in bad.stderr


def test_console_script_and_sigterm(local_backend, tmp_path):
    """`bento-yatai` is `bento yatai start`; SIGTERM drains and exits 0."""
    proc = ServerProcess(local_backend, str(tmp_path / "yatai.log"))
    proc.argv[:5] = [os.path.join(os.path.dirname(sys.executable), "bento-yatai")]
    proc.start()
    proc.kill(signal.SIGTERM)
    assert proc.proc.returncode == 0
    assert "serving gRPC on grpc://127.0.0.1" in proc.log() and "draining" in proc.log()
