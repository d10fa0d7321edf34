"""Hooks, docs and tests stay in step: every hookspec of every package is documented in
docs/plugins.md and exercised by a test named `test_hook_<name>...` (datasette's pattern)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _hookspecs() -> list[str]:
    """Hook names declared in any package's hookspecs module (read, not imported: the core env
    has no other package installed)."""
    names = []
    for path in sorted(ROOT.glob("packages/*/src/*/hookspecs.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any("hookspec" in ast.unparse(d) for d in node.decorator_list):
                names.append(node.name)
    return names


HOOKS = _hookspecs()
TEST_SOURCES = "\n".join(p.read_text(encoding="utf-8")
                         for pattern in ("packages/*/tests/**/*.py", "tests/**/*.py") for p in ROOT.glob(pattern))


def test_the_hook_list_is_complete():
    assert {"register_artifacts", "start_dev_server", "bento_addhooks", "yatai_storage_backend"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    assert f"`{hook}(" in (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert re.search(rf"def test_hook_\w*{hook}", TEST_SOURCES), f"no test_hook_...{hook}... test"
