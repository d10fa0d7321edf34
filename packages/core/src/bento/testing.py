"""Test support for Bento and its plugins: `from bento.testing import bento_home` in a conftest
gives every test a private BENTO_HOME (configuration is read afresh from it by every entry point);
`iris` is the iris flowers every package's tests train their tiny models on;
`plugin_venv` installs a third-party plugin the way a user would, next to this environment;
`import_graph`/`import_cycles` let a package's tests keep its modules free of import circles."""
from __future__ import annotations

import ast
import importlib.util
import site
import subprocess
import venv
from pathlib import Path
from typing import Any, Iterator

import pytest

__all__ = ["bento_home", "iris", "plugin_venv", "import_graph", "import_cycles"]


@pytest.fixture(autouse=True)
def bento_home(tmp_path: Any, monkeypatch: Any) -> Iterator[Any]:
    home = tmp_path / "bento_home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    yield home


@pytest.fixture(scope="session")
def iris() -> tuple:
    """(X, y): the 150 iris flowers as numpy arrays, from scikit-learn's bundled copy (no download)."""
    from sklearn.datasets import load_iris  # the tests' dependency, not bento's

    return load_iris(return_X_y=True)


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


def import_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of `package` it imports when it runs, at any depth of its code
    (module level or inside functions), read with `ast`. Imports under `if TYPE_CHECKING:` are
    left out (they never run); importing `a.b.c` also imports the package `a.b`, unless the
    importer is inside it (then it is being imported already)."""
    files = {}
    for path in sorted(Path(package_dir).rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        name = ".".join([package, *(parts[:-1] if is_pkg else parts)])
        files[name] = (path, is_pkg)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        here = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        edges = set()
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # the module and the packages above it
                candidate = ".".join(parts[:i])
                if candidate in files and candidate != name and candidate not in ancestors:
                    edges.add(candidate)
        graph[name] = edges
    return graph


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph` (its strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graphs here are small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles
