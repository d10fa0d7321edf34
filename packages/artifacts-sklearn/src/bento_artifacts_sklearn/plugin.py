"""The `sklearn` entry point of the `bento` group."""
from __future__ import annotations

from typing import Callable

from bento import hookimpl

from .artifact import SklearnModelArtifact


@hookimpl
def register_artifacts(register: Callable[[type], None]) -> None:
    register(SklearnModelArtifact)
