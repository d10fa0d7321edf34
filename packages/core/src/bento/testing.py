"""Test support for Bento and its plugins: `from bento.testing import bento_home` in a conftest
gives every test a private BENTO_HOME and a fresh plugin manager and configuration."""
from __future__ import annotations

from typing import Any, Iterator

import pytest


@pytest.fixture(autouse=True)
def bento_home(tmp_path: Any, monkeypatch: Any) -> Iterator[Any]:
    from . import config, plugins

    home = tmp_path / "bento_home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    plugins.set_plugin_manager(None)
    config.reset_config()
    yield home
    plugins.set_plugin_manager(None)
    config.reset_config()
