"""A bundle installed with `pip install <bundle>`: what its package's `load()` calls."""
from __future__ import annotations

import os
from typing import Any

from ..plugins import default_manager
from .reader import load_package_dir

__all__ = ["load_package"]


def load_package(init_file: str) -> Any:
    """The service of the installed bundle package whose `__init__.py` is `init_file`."""
    return load_package_dir(os.path.dirname(os.path.abspath(init_file)), default_manager())
