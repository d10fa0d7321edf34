"""The `server-granian` entry point of the `bento` group: registers the `granian` HTTP engine.
Cheap to import and to call: granian loads only when the engine is chosen."""
from __future__ import annotations

from typing import Callable

from bento import hookimpl

__all__ = ["register_http_engines"]


@hookimpl
def register_http_engines(register: Callable[[str, str], None]) -> None:
    register("granian", "bento_server_granian.engine:GranianEngine")  # by name: granian loads only when picked
