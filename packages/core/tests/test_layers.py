"""Core's structure: no import circle, no function-local import of its own modules to hide one."""
from __future__ import annotations

import ast
from pathlib import Path

import bento
from bento.testing import import_cycles, import_graph

CORE = Path(bento.__file__).parent


def test_core_modules_import_each_other_without_a_circle():
    graph = import_graph(CORE, "bento")
    assert len(graph) > 30  # the walk found the modules
    assert import_cycles(graph) == []


def test_the_walk_finds_circles_hidden_in_functions(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    assert import_cycles(import_graph(pkg, "pkg")) == [["pkg.a", "pkg.b"]]


def test_no_function_imports_one_of_cores_own_modules():
    """Lazy imports inside functions are kept for heavy third-party modules only."""
    local = []
    for path in CORE.rglob("*.py"):
        for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("bento")):
                    local.append(f"{path.relative_to(CORE)}:{node.lineno}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("bento") for a in node.names):
                    local.append(f"{path.relative_to(CORE)}:{node.lineno}")
    assert local == []


def test_default_plugins_are_modules_of_core():
    from bento.plugins import DEFAULT_PLUGINS, get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    assert [i.name for i in pm.infos] == list(DEFAULT_PLUGINS)
    assert all(i.distribution == "bento-core" for i in pm.infos)
