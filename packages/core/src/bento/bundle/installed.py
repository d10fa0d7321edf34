"""A bundle installed with `pip install <bundle>`: what its package's `load()` calls."""
from __future__ import annotations

import os
from typing import Any

from ..loading import load

__all__ = ["load_package"]


def load_package(init_file: str) -> Any:
    """The service of the installed bundle package whose `__init__.py` is `init_file`, through
    the same checks and trust gate as `bento.load` (provenance travels in the package)."""
    return load(os.path.dirname(os.path.abspath(init_file)))
