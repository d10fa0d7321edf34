"""Hooks bento-server adds to the `bento` plugin manager (through `bento_addhooks`): the HTTP
engine under the app is a plugin, so a faster server can take waitress' place without the app,
the batchers or the lifecycle changing, and without core knowing about HTTP engines."""
from __future__ import annotations

from typing import Callable, Union

from bento.hookspecs import hookspec


@hookspec
def register_http_engines(register: Callable[[str, Union[type, str]], None]) -> None:
    """Called when `bento serve` or a dev server starts: `register(name, EngineClass)` for each
    HTTP engine, or `register(name, "module:EngineClass")` to import it only when it is picked
    (every server lists the engines, and an engine's imports cost memory in each of them).
    `[server] engine` / `--engine` picks one by name (default `waitress`, bento-server's own).
    An engine class follows `bento_server.engine.HTTPEngine`: built as `cls(app, sock, config,
    probe=, probe_sock=)` with the app of its `interface` ("wsgi" or "asgi"), a listening
    socket, the `[server]` section and what answers the probes; `run()` serves until stopped or
    drained."""
