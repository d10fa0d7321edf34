"""The `bento` command line: a click group built by a factory so tests can pass their own plugins."""
from __future__ import annotations

from .base import main, make_cli

__all__ = ["main", "make_cli"]
