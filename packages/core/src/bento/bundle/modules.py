"""Which files a service needs: its own module, the local modules it imports (copied into the
bundle) and the third-party distributions it imports (listed in requirements.txt)."""
from __future__ import annotations

import ast
import importlib.util
import os
import sys
import sysconfig
from typing import Optional

import attrs

from ..exceptions import BundleError

__all__ = ["ModuleFile", "Analysis", "analyze"]


@attrs.frozen
class ModuleFile:
    name: str
    path: str
    relpath: str  # where it goes inside the bundle package, e.g. "mypkg/helpers.py"


@attrs.frozen
class Analysis:
    local: tuple  # ModuleFile, the service module first
    distributions: dict  # distribution name -> installed version


def _system_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    return [os.path.realpath(d) for d in dirs]


def _imports(path: str, module: str, is_package: bool) -> set[str]:
    """Absolute names of everything `path` imports (a.b and a.b.c for `from a.b import c`)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError) as e:
        raise BundleError(f"cannot read module {module} at {path}: {e}") from None
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue
                parent = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{parent}.{base}" if base and parent else (parent or base)
            if base:
                names.add(base)
                names.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
    return names


def _origin(name: str) -> Optional[str]:
    """The .py file of module `name` (already imported ones first: their path may be gone from sys.path)."""
    loaded = sys.modules.get(name)
    path = getattr(loaded, "__file__", None) if loaded is not None else None
    if path is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            spec = None
        path = spec.origin if spec is not None else None
    return os.path.realpath(path) if path and path.endswith(".py") else None


def analyze(module_name: str) -> Analysis:
    """Walk imports from `module_name`; local = not stdlib, not site-packages, not installed."""
    from importlib_metadata import packages_distributions, version  # third-party, slow to import: only when saving

    top_to_dists = packages_distributions()
    system = _system_dirs()
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    local: dict[str, ModuleFile] = {}
    dists: dict[str, str] = {}
    queue = [module_name]
    seen: set[str] = set()
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top in stdlib or top == "__future__":
            continue
        if name != module_name and top in top_to_dists:
            for dist in top_to_dists[top]:
                try:
                    dists[dist] = version(dist)
                except Exception:  # a broken dist-info: list it unpinned
                    dists[dist] = ""
            continue
        origin = _origin(name)
        if origin is None:
            if name == module_name:
                raise BundleError(f"cannot find the source file of service module {name}")
            continue
        if name != module_name and any(origin.startswith(d + os.sep) for d in system):
            continue
        is_package = os.path.basename(origin) == "__init__.py"
        relpath = name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        local[name] = ModuleFile(name, origin, relpath)
        parents = name.split(".")[:-1]
        queue.extend(".".join(parents[: i + 1]) for i in range(len(parents)))
        queue.extend(sorted(_imports(origin, name, is_package)))
    ordered = [local[module_name]] + [m for n, m in sorted(local.items()) if n != module_name]
    return Analysis(local=tuple(ordered), distributions=dists)
