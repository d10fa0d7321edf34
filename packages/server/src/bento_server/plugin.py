"""The `server` entry point of the `bento` group: `bento serve`, the [server] and [batching]
config sections, `BentoService.start_dev_server()`, the `register_http_engines` hook and its
default engine, waitress. Cheap to import: Falcon, waitress and prometheus-client load only when
something is served."""
from __future__ import annotations

from typing import Any, Callable

import pluggy
from bento import hookimpl

from .config import BatchingConfig, ServerConfig

__all__ = ["bento_addhooks", "register_commands", "register_batchers", "register_config_sections",
           "register_http_engines", "start_dev_server"]


@hookimpl
def bento_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import serve_cmd  # click and the CLI's imports only when a CLI is built

    cli.add_command(serve_cmd)


@hookimpl
def register_batchers(register: Callable[[str, type], None]) -> None:
    from .batching import AdaptiveBatcher  # asyncio and the runner: only when a batcher is looked up

    register("adaptive", AdaptiveBatcher)


@hookimpl
def register_config_sections(register: Callable[[str, type], None]) -> None:
    register("server", ServerConfig)
    register("batching", BatchingConfig)


@hookimpl(trylast=True)
def register_http_engines(register: Callable[[str, type], None]) -> None:
    from .transport import HTTPServer  # waitress only once an engine is chosen

    register("waitress", HTTPServer)


@hookimpl
def start_dev_server(service: Any, host: str, port: int, config: Any) -> Any:
    from .engine import http_engine
    from .lifecycle import DevServer  # Falcon and the engine only when a dev server starts

    engine = http_engine(service.plugins, config.server.engine)
    return DevServer(service, host, port, config.server, config.batching, engine)
