"""bento-deploy's tests: a private BENTO_HOME each, a small service to deploy, the CLI."""
from __future__ import annotations

import os
import sys

import pytest

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")
if SVCMODS not in sys.path:
    sys.path.insert(0, SVCMODS)

from bento.testing import bento_home  # noqa: E402,F401  (autouse)


@pytest.fixture
def toy():
    """A packed ToyService."""
    from deploy_service import ToyService

    svc = ToyService()
    svc.pack("table", {"a": 1, "b": 2})
    return svc


@pytest.fixture
def bundle(toy, tmp_path):
    return toy.save_to_dir(str(tmp_path / "bundle"))


@pytest.fixture
def run():
    """The CLI through click's runner (stdout and stderr apart)."""
    from click.testing import CliRunner

    from bento.cli import make_cli

    cli = make_cli()
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)
