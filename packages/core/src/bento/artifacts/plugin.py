"""Registers the artifact types built into core (trylast: a plugin may override them)."""
from __future__ import annotations

from typing import Callable

from ..hookspecs import hookimpl
from .builtin import JSONArtifact, PickleArtifact, TextFileArtifact


@hookimpl(trylast=True)
def register_artifacts(register: Callable[[type], None]) -> None:
    for cls in (PickleArtifact, JSONArtifact, TextFileArtifact):
        register(cls)
