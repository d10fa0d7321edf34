"""Bento's HTTP server: Falcon on waitress, adaptive micro-batching in process, pre-forked workers.

`bento serve BENTO` and `BentoService.start_dev_server()` come from `bento_server.plugin`.
"""
from __future__ import annotations

from .config import BatchingConfig, ServerConfig

__version__ = "0.1.0"

__all__ = ["__version__", "ServerConfig", "BatchingConfig"]
