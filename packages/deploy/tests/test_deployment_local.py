"""The `local` platform with real processes: bento-server under the supervisor on 127.0.0.1."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from bento_deploy.process import process_alive, wait_gone

from bento.bundle.manifest import write_manifest
from bento.cli import make_cli

SERVICE = '''
from bento import BentoService, api, artifacts
from bento.artifacts import JSONArtifact
from bento_adapters import JsonInput


@artifacts([JSONArtifact("table")])
class LookupService(BentoService):
    @api(input=JsonInput())
    def lookup(self, key):
        return self.artifacts.table.get(key)
'''


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A LookupService bundle, and a copy whose artifact no longer loads (manifest still valid)."""
    root = tmp_path_factory.mktemp("lookup")
    (root / "lookup_service.py").write_text(SERVICE)
    sys.path.insert(0, str(root))
    try:
        from lookup_service import LookupService

        svc = LookupService()
        svc.pack("table", {"a": 1, "b": 2})
        good = svc.save_to_dir(str(root / "good"))
        broken = svc.save_to_dir(str(root / "broken"))
    finally:
        sys.path.remove(str(root))
    (root / "broken" / "LookupService" / "artifacts" / "table.json").write_text("{truncated")
    write_manifest(broken)
    return {"good": good, "broken": broken}


@pytest.fixture(autouse=True)
def reap(bento_home):
    """Whatever a test leaves running is killed, even when it fails."""
    yield
    for pidfile in (bento_home / "deployments").glob("*/supervisor.pid"):
        state = pidfile.parent / "state.json"
        pids = [json.loads(pidfile.read_text())]
        pids += [json.loads(state.read_text())["server_pid"]] if state.exists() else []
        for pid in pids:
            if process_alive(pid, str(pidfile.parent)):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def run():
    cli = make_cli()
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _post(url, value):
    req = urllib.request.Request(url, data=json.dumps(value).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not {what} within {timeout} s")


def test_serves_predictions_and_its_state_outlives_the_cli(run, bundle, bento_home):
    rec = _json(run("deployment", "create", "lookup", "--bento", bundle["good"], "--platform", "local",
                    "--labels", "team:ml", "-o", "json"))
    assert rec["state"] == "running" and rec["error"] is None
    assert rec["endpoint"].startswith("http://127.0.0.1:")
    assert _post(rec["endpoint"] + "/lookup", "b") == 2
    rundir = bento_home / "deployments" / "lookup"
    assert {"supervisor.pid", "state.json", "server.log", "supervisor.log"} <= {p.name for p in rundir.iterdir()}
    sup = rec["details"]["pid"]
    assert os.getsid(sup) == sup != os.getsid(0)  # detached: its own session

    # another process (a later CLI) sees the real state
    out = subprocess.run([sys.executable, "-m", "bento.cli", "deployment", "get", "lookup", "-o", "json"],
                         capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "running"

    # a bad update is refused before the running server is touched; a good one restarts it on the same port
    out = run("deployment", "update", "lookup", "--option", "workers=none")
    assert out.exit_code == 2 and "option workers=none: expected a whole number" in out.stderr
    assert process_alive(sup) and _post(rec["endpoint"] + "/lookup", "a") == 1
    rec2 = _json(run("deployment", "update", "lookup", "-o", "json"))
    assert rec2["state"] == "running" and rec2["endpoint"] == rec["endpoint"] and rec2["details"]["pid"] != sup
    assert not process_alive(sup)

    out = run("deployment", "delete", "lookup")
    assert out.exit_code == 0, out.stderr
    assert not process_alive(rec2["details"]["pid"]) and not process_alive(rec2["details"]["server_pid"])
    assert not rundir.exists() and not (bento_home / "deployments" / "lookup.json").exists()


def test_kill_9_of_the_server_is_detected_and_restarted(run, bundle):
    rec = _json(run("deployment", "create", "lookup", "--bento", bundle["good"], "--platform", "local", "-o", "json"))
    old_server = rec["details"]["server_pid"]
    killed = time.monotonic()
    os.kill(old_server, signal.SIGKILL)

    def restarted():
        now = _json(run("deployment", "get", "lookup", "-o", "json"))
        return now if now["state"] == "running" and now["details"]["server_pid"] != old_server else None

    now = _until(restarted, 30, "restarted")
    elapsed = time.monotonic() - killed
    assert now["details"]["restarts"] == 1
    assert _post(rec["endpoint"] + "/lookup", "a") == 1
    print(f"restart after kill -9: {elapsed:.2f} s")


def test_a_bundle_that_fails_to_load_is_an_error_with_the_reason(run, bundle):
    out = run("deployment", "create", "broken", "--bento", bundle["broken"], "--platform", "local")
    assert out.exit_code == 1
    assert "deployment 'broken' is in state error: server exited (exit code 1) before it was ready" in out.stderr
    rec = _json(run("deployment", "get", "broken", "-o", "json"))
    assert rec["state"] == "error"
    assert "artifact 'table' (JSONArtifact) failed to load: JSONDecodeError" in rec["error"]
    assert not process_alive(rec["details"]["pid"]) and not process_alive(rec["details"]["server_pid"])  # no zombie
    assert run("deployment", "delete", "broken").exit_code == 0


def test_stopped_then_died_then_deleted(run, bundle, bento_home):
    rec = _json(run("deployment", "create", "lookup", "--bento", bundle["good"], "--platform", "local", "-o", "json"))
    sup, server = rec["details"]["pid"], rec["details"]["server_pid"]
    os.kill(sup, signal.SIGTERM)  # someone stops it by hand: the server drains and both exit
    assert wait_gone(sup, 20) and wait_gone(server, 5)
    assert _json(run("deployment", "get", "lookup", "-o", "json"))["state"] == "stopped"

    rec = _json(run("deployment", "update", "lookup", "-o", "json"))
    assert rec["state"] == "running"
    for pid in (rec["details"]["pid"], rec["details"]["server_pid"]):
        os.killpg(pid, signal.SIGKILL)  # the machine "crashes" under it
    assert wait_gone(rec["details"]["pid"], 5)
    rec = _json(run("deployment", "get", "lookup", "-o", "json"))
    assert rec["state"] == "error" and "supervisor process" in rec["error"] and "is gone" in rec["error"]
    assert json.loads((bento_home / "deployments" / "lookup.json").read_text())["state"] == "error"  # reconciled

    out = run("deployment", "delete", "lookup")
    assert out.exit_code == 0, out.stderr
    assert _json(run("deployment", "list", "-o", "json")) == []
