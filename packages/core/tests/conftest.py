"""Each test gets its own BENTO_HOME and a plugin manager that also knows the toy adapters."""
from __future__ import annotations

import os
import sys

import pytest

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")
if SVCMODS not in sys.path:
    sys.path.insert(0, SVCMODS)


@pytest.fixture(autouse=True)
def bento_home(tmp_path, monkeypatch):
    import toy_adapters

    from bento import config, plugins

    home = tmp_path / "bento_home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    pm = plugins.get_plugin_manager()
    if not pm.is_registered(toy_adapters):
        pm.register(toy_adapters, name="toy_adapters")
    plugins.set_plugin_manager(pm)
    config.reset_config()
    yield home
    plugins.set_plugin_manager(None)
    config.reset_config()


@pytest.fixture
def toy():
    """A packed ToyService."""
    from toy_service import ToyService

    svc = ToyService()
    svc.pack("table", {"a": 1, "b": 2}, metadata={"source": {"rows": [1, 2]}})
    svc.pack("obj", {"anything": [1, 2, 3]})
    return svc


@pytest.fixture
def run():
    """The core CLI through click's runner: `run("list", "-o", "json", input="y\\n")`."""
    from click.testing import CliRunner

    from bento.cli import make_cli

    cli = make_cli()
    return lambda *args, input=None: CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def bundle(toy, tmp_path):
    """The packed ToyService written to a bundle directory."""
    return toy.save_to_dir(str(tmp_path / "bundle"))
