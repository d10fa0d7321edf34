"""Test support for Bento and its plugins: `from bento.testing import bento_home` in a conftest
gives every test a private BENTO_HOME and a fresh plugin manager and configuration;
`plugin_venv` installs a third-party plugin the way a user would, next to this environment."""
from __future__ import annotations

import importlib.util
import site
import subprocess
import venv
from pathlib import Path
from typing import Any, Iterator

import pytest

__all__ = ["bento_home", "plugin_venv"]


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


def plugin_venv(directory: Path, *projects: Path) -> str:
    """A new venv in `directory` that sees this environment's packages (Bento and its plugins,
    editable or not) with `projects` pip-installed into it; returns its python.

    The venv gets a .pth naming this environment's site directories: --system-site-packages
    would reach only the base interpreter, not this environment when it is itself a venv (tox).
    """
    venv.create(directory, with_pip=importlib.util.find_spec("pip") is None)  # else this env's pip serves it
    python = str(directory / "bin" / "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib, "_bento_parent_env.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents) + "\n")
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []  # offline, when it can
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", *isolation, *map(str, projects)],
                         capture_output=True, text=True, timeout=300)
    if pip.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(map(str, projects))} failed: {pip.stderr}")
    return python
