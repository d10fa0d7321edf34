"""Bento: ship trained models as versioned bundles, serve them, run them offline, share them.

Importing `bento` is cheap: no pandas, numpy, framework or server imports happen here.
"""
from __future__ import annotations

from typing import Any

from .artifacts.base import BentoServiceArtifact
from .hookspecs import hookimpl
from .service import BentoService, api, artifacts, env, ver, web_static_content

__version__ = "0.1.0"

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


def load(path_or_tag: str, *, trust_pickle: bool | None = None) -> Any:
    """Load a saved service from a bundle path or a `NAME[:VERSION|:latest]` tag."""
    from .bundle.reader import load as _load

    return _load(path_or_tag, trust_pickle=trust_pickle)
