"""Import a bundle's modules from their verified source, never from bytecode.

MANIFEST.sha256 vouches for the `.py` files; a `.pyc` beside them would run instead if Python's
normal import found one whose header matches (same mtime and size). Modules under a bundle's
package directory are compiled from source on every import and no bytecode is read or written
there: a service module is a few kilobytes, compiling it costs less than a cache to keep honest.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
from typing import Any

from ..exceptions import BundleError

__all__ = ["import_bundle_module"]

_roots: set = set()
_lock = threading.Lock()


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """A source loader that neither reads nor writes `__pycache__`."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _under_a_bundle(path: str) -> bool:
    real = os.path.realpath(path or os.getcwd())
    return any(real == root or real.startswith(root + os.sep) for root in _roots)


def _path_hook(path: str) -> Any:
    """sys.path_hooks entry: source-only finders for paths inside a loaded bundle's package."""
    if not _under_a_bundle(path):
        raise ImportError("not a bundle path")
    return importlib.machinery.FileFinder(path, (_SourceOnlyLoader, [".py"]))


def _register(pkg_dir: str) -> None:
    with _lock:
        if _path_hook not in sys.path_hooks:
            sys.path_hooks.insert(0, _path_hook)
        root = os.path.realpath(pkg_dir)
        if root not in _roots:
            _roots.add(root)
            for cached in [p for p in sys.path_importer_cache if _under_a_bundle(p)]:
                del sys.path_importer_cache[cached]  # a normal finder cached before: would read bytecode


def import_bundle_module(pkg_dir: str, module: str) -> Any:
    """Module `module` of the bundle package at `pkg_dir` (a private copy if that name is
    already imported from elsewhere, e.g. the training code in this process)."""
    _register(pkg_dir)
    if pkg_dir not in sys.path:
        sys.path.insert(0, pkg_dir)
    expected = os.path.realpath(os.path.join(pkg_dir, *module.split(".")))
    loaded = sys.modules.get(module)
    if loaded is None:
        try:
            return importlib.import_module(module)
        except ImportError as e:
            raise BundleError(f"cannot import service module {module} of bundle {pkg_dir}: {e}") from e
    origin = os.path.realpath(getattr(loaded, "__file__", "") or "")
    if origin == expected + ".py" or origin.startswith(expected + os.sep):
        return loaded
    path = expected + ".py" if os.path.isfile(expected + ".py") else os.path.join(expected, "__init__.py")
    name = f"_bento_bundle_{abs(hash(pkg_dir))}_{module}"
    spec = importlib.util.spec_from_file_location(name, path, loader=_SourceOnlyLoader(name, path))
    if spec is None or spec.loader is None:
        raise BundleError(f"cannot import service module {module} from {pkg_dir}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
