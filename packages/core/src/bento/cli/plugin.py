"""Adds the core commands to the root group, through the same hook plugins use."""
from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl


@hookimpl(tryfirst=True)
def register_commands(cli: Any) -> None:
    from .commands import add_core_commands

    add_core_commands(cli)
