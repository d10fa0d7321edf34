"""Run any Bento bundle as a Spark job. Importing this package does not import pyspark."""
from __future__ import annotations

from .transform import apply

__version__ = "0.1.0"

__all__ = ["apply"]
