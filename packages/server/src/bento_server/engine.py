"""The HTTP engine contract: what serves the app on the socket `bento serve` bound. Engines are
plugins (`register_http_engines`); waitress (`transport.HTTPServer`) is the default, the
lifecycle, the app and the batchers are the same whatever the engine. Also what every engine
applies alike: the kernel's send buffer per connection and the descriptors kept spare."""
from __future__ import annotations

import importlib
from typing import Any, Callable, ClassVar, Optional, Protocol, Union

from bento.exceptions import InvalidArgument, PluginError

__all__ = ["HTTPEngine", "DISCONNECTED_KEY", "KERNEL_SEND_BUFFER", "SPARE_FILES", "http_engine", "http_engines",
           "open_files_limit"]

# Where an ASGI engine puts, in the scope, a callable that says whether the request's client has
# gone (polled by the batcher before a batch starts; waitress' WSGI environ has its own key).
DISCONNECTED_KEY = "bento.disconnected"

# The kernel's send buffer of a connection, fixed rather than autotuned. Autotuned, 300 clients
# that read nothing made the kernel hold ~4 MB each (1.1 GB: past tcp_mem's pressure threshold,
# where every connection's buffers shrink) and honest throughput fell by 58 %. The kernel doubles
# it for its bookkeeping: 128 KB a connection (128 MB at 1,000 that do not read); 128 KB in
# flight is 1 Gbit/s at a 1 ms round trip, 2.6 MB/s at 50 ms.
KERNEL_SEND_BUFFER = 64 * 1024
SPARE_FILES = 128  # descriptors kept for files, pipes and the model's own use

# Engines whose plugin is not installed, for the error that names what to install.
_PROVIDERS = {"granian": "bento-server-granian"}


class HTTPEngine(Protocol):
    """Serves `app` on a listening socket, built as `cls(app, sock, config, probe=, probe_sock=)`:
    `probe(path, request_id)` gives the answer of /healthz and /readyz (probes.probe_answer),
    `probe_sock` is a listener of their own (`server.probe_port`) the engine serves them on too,
    and keeps serving while it drains.

    `interface` says which app the engine calls: "wsgi" (`app(environ, start_response)`) or
    "asgi" (`await app(scope, receive, send)`). `run` blocks until `stop()` or until a drain has
    finished; `drain` must be safe from a signal handler and from another thread."""

    interface: ClassVar[str]
    # Optional: True when the engine takes every pending connection on each wake-up, so workers
    # sharing one listening socket would not share the load: each worker then gets its own
    # socket on the same port (SO_REUSEPORT) and the kernel spreads connections over them.
    socket_per_worker: ClassVar[bool]
    url: str

    def run(self, on_drain: Optional[Callable[[], Any]] = None, keep_listener: bool = False) -> None:
        """Serve until stopped or drained. `on_drain` is called once a drain starts (readiness
        turns 503); `keep_listener` leaves the socket listening for workers forked onto it."""

    def drain(self, grace: Optional[float] = None) -> None:
        """Stop accepting, finish what was accepted (at most `grace` seconds, default the
        config's graceful_timeout), then return from run()."""

    @property
    def draining_requested(self) -> bool:
        """True once drain() was called."""

    def stop(self) -> None:
        """Return from run() at once."""


def http_engines(plugins: Any) -> dict:
    """Every engine the installed plugins register, by name (the first registration wins): the
    class, or the "module:Class" name of one not imported yet."""
    engines: dict = {}
    plugins.hook.register_http_engines(register=lambda name, cls: engines.setdefault(name, cls))
    return engines


def http_engine(plugins: Any, name: str) -> type:
    """The engine class registered as `name`, imported now if it was registered by name; an
    error naming the known ones otherwise."""
    engines = http_engines(plugins)
    if name not in engines:
        hint = f" (pip install {_PROVIDERS[name]})" if name in _PROVIDERS else ""
        raise InvalidArgument(f"unknown HTTP engine '{name}'{hint}; known: {', '.join(sorted(engines))}")
    engine: Union[type, str] = engines[name]
    if isinstance(engine, str):
        module, _, attr = engine.partition(":")
        try:
            engine = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise PluginError(f"HTTP engine '{name}' ({engine}) cannot be loaded: {e}") from None
    return engine


def open_files_limit() -> int:
    """RLIMIT_NOFILE's soft limit (a container's may be 1,024); effectively unbounded elsewhere."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError):
        return 1 << 30
    return soft if soft != resource.RLIM_INFINITY else 1 << 30
