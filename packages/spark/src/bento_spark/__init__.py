"""Run any Bento bundle as a Spark job. Importing this package does not import pyspark, nor the
job's own modules: every `bento` command loads the plugin (`bento_spark.plugin`, which imports
this package first), and `apply` is imported when it is first used."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["apply"]


def __getattr__(name: str) -> Any:
    if name == "apply":
        from .transform import apply  # ~10 ms of modules no `bento` command but a Spark job needs

        return apply
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
