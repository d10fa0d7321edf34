"""The `onnx` entry point of the `bento` group."""
from __future__ import annotations

from typing import Callable

from bento import hookimpl

from .artifact import OnnxModelArtifact

__all__ = ["register_artifacts"]


@hookimpl
def register_artifacts(register: Callable[[type], None]) -> None:
    register(OnnxModelArtifact)
