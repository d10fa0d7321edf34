"""Each test gets its own BENTO_HOME; the process' plugin manager also knows the toy adapters."""
from __future__ import annotations

import os
import sys

import pytest

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")
if SVCMODS not in sys.path:
    sys.path.insert(0, SVCMODS)

from bento.testing import bento_home  # noqa: E402,F401  (autouse)


@pytest.fixture(scope="session", autouse=True)
def toy_plugins():
    """The toy adapters as a plugin of the process' manager, as a library user would add one."""
    import toy_adapters

    from bento.plugins import default_manager

    pm = default_manager()
    if not pm.is_registered(toy_adapters):
        pm.register(toy_adapters, name="toy_adapters")
    return pm


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
