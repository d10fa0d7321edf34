"""Cross-package end-to-end tests: real CLI processes, real bundles, fresh BENTO_HOME per test."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bento_e2e import QUICKSTART  # noqa: E402


@pytest.fixture(autouse=True)
def bento_home(tmp_path, monkeypatch):
    from bento import config, plugins

    home = tmp_path / "bento_home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    plugins.set_plugin_manager(None)
    config.reset_config()
    yield home
    config.reset_config()


@pytest.fixture
def iris_bundle(bento_home) -> str:
    """The quickstart's IrisClassifier, trained and saved by its own script."""
    out = subprocess.run([sys.executable, "train.py"], cwd=QUICKSTART, capture_output=True, text=True,
                         env={**os.environ, "BENTO_HOME": str(bento_home)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]
