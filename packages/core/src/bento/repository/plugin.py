"""The local repository under $BENTO_HOME/repository answers when no plugin provides one."""
from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def repository_backend(config: Any) -> Any:
    from .local import LocalRepository

    return LocalRepository.from_config(config)
