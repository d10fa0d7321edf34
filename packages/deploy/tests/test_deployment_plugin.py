"""A third-party deployment platform, pip-installed into a venv: it appears in `bento deployment`
and `bento plugins` without any change to core."""
import json
import os
import subprocess
import textwrap

import pytest
from bento.testing import plugin_venv

# A complete third-party platform: pyproject + one module.
THIRD_PARTY = {
    "pyproject.toml": """\
        [project]
        name = "bento-echo-deployer"
        version = "0.2"
        [project.entry-points.bento]
        echo = "bento_echo_deployer"
        """,
    "bento_echo_deployer.py": """\
        import bento
        from bento.deployer import Deployer, DeploymentStatus

        class EchoDeployer(Deployer):
            OPTIONS = {"greeting": "what the endpoint says"}

            def create(self, deployment, bundle_dir):
                return DeploymentStatus(state="running", endpoint="echo://" + deployment.options.get("greeting", "hi"))

            def get(self, deployment):
                return deployment.status

            def delete(self, deployment):
                pass

        @bento.hookimpl
        def register_deployers(register):
            register("echo", EchoDeployer)
        """,
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("deployer")
    pkg = base / "pkg"
    pkg.mkdir()
    for name, text in THIRD_PARTY.items():
        (pkg / name).write_text(textwrap.dedent(text))
    return plugin_venv(base / "v", pkg)


def _bento(py, *args, home):
    env = {**os.environ, "BENTO_HOME": str(home), "BENTO_STRICT_PLUGINS": "1"}
    return subprocess.run([py, "-m", "bento.cli", *args], capture_output=True, text=True, env=env)


def test_hook_register_deployers_of_a_pip_installed_platform(venv, toy, tmp_path):
    bundle = toy.save_to_dir(str(tmp_path / "bundle"))
    home = tmp_path / "home"
    out = _bento(venv, "deployment", "create", "e1", "--bento", bundle, "--platform", "echo", "--labels", "team:ml",
                 "--option", "greeting=hello", "-o", "json", home=home)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert (rec["platform"], rec["state"], rec["endpoint"]) == ("echo", "running", "echo://hello")
    assert _bento(venv, "deployment", "delete", "e1", home=home).returncode == 0
    out = _bento(venv, "deployment", "create", "e2", "--bento", bundle, "--platform", "nope", home=home)
    assert out.returncode == 2 and "known: echo, kubernetes, local" in out.stderr

    plugins = {p["name"]: p for p in json.loads(_bento(venv, "plugins", "-o", "json", home=home).stdout)}
    assert plugins["echo"]["distribution"] == "bento-echo-deployer" and plugins["echo"]["version"] == "0.2"
    assert plugins["echo"]["provides"] == ["deployer:echo"]
