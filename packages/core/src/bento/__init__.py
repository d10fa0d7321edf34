"""Bento: ship trained models as versioned bundles, serve them, run them offline, share them.

Importing `bento` is cheap: no pandas, numpy, framework or server imports happen here.
"""
from __future__ import annotations

from ._version import __version__
from .artifacts.base import BentoServiceArtifact
from .markers import hookimpl
from .loading import load
from .service import BentoService, api, artifacts, env, ver, web_static_content

__all__ = [
    "__version__",
    "BentoService",
    "BentoServiceArtifact",
    "api",
    "artifacts",
    "env",
    "ver",
    "web_static_content",
    "hookimpl",
    "load",
]
