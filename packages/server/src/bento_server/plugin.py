"""The `server` entry point of the `bento` group: `bento serve`, the [server] and [batching]
config sections, and `BentoService.start_dev_server()`. Cheap to import: Falcon, waitress and
prometheus-client load only when something is served."""
from __future__ import annotations

from typing import Any, Callable

from bento import hookimpl

from .config import BatchingConfig, ServerConfig

__all__ = ["register_commands", "register_batchers", "register_config_sections", "start_dev_server"]


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import serve_cmd  # click and the CLI's imports only when a CLI is built

    cli.add_command(serve_cmd)


@hookimpl
def register_batchers(register: Callable[[str, type], None]) -> None:
    from .batching import AdaptiveBatcher  # the runner's plumbing: only once a registry is built

    register("adaptive", AdaptiveBatcher)


@hookimpl
def register_config_sections(register: Callable[[str, type], None]) -> None:
    register("server", ServerConfig)
    register("batching", BatchingConfig)


@hookimpl
def start_dev_server(service: Any, host: str, port: int, config: Any) -> Any:
    from .lifecycle import DevServer  # Falcon and waitress only when a dev server starts

    return DevServer(service, host, port, config.server, config.batching)
