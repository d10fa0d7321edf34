"""granian as bento-server's HTTP engine: `bento serve --engine granian`."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
