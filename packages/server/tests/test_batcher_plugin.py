"""A third-party batcher, pip-installed into a venv the way a user would, serves `bento serve`:
the plugin is the one docs/serving.md shows, read from the page."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bento.testing import plugin_venv

DOCS = Path(__file__).resolve().parents[3] / "docs" / "serving.md"
PYPROJECT = """\
[project]
name = "bento-pairs"
version = "1.0"
[project.entry-points.bento]
pairs = "bento_pairs"
"""


def _documented_plugin() -> str:
    section = DOCS.read_text(encoding="utf-8").split("## Batchers are plugins", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return code


def test_hook_register_batchers_a_pip_installed_batcher_serves(tmp_path, quirks_bundle, serve_process, post_json):
    project = tmp_path / "pairs"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "bento_pairs.py").write_text(_documented_plugin())
    python = plugin_venv(tmp_path / "venv", project)
    server = serve_process([quirks_bundle], env={"BENTO_BATCHING_BATCHER": "pairs"}, python=python).wait_ready()
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda i: post_json(f"{server.url}/batch_size", i), range(4)))
    assert [r.status_code for r in sizes] == [200] * 4
    assert [r.json() for r in sizes] == [2, 2, 2, 2]  # every call held exactly two requests


def test_an_unknown_batcher_is_a_one_line_error(quirks_bundle, serve_process):
    server = serve_process([quirks_bundle], env={"BENTO_BATCHING_BATCHER": "nope"})
    assert server.proc.wait(60) != 0
    last = server.output().strip().splitlines()[-1]
    assert last.startswith("Error: unknown batcher 'nope'; known: adaptive, offline")
