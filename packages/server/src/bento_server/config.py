"""The `[server]` and `[batching]` sections of config.toml (also BENTO_SERVER_* / BENTO_BATCHING_*).

Only attrs here: the plugin module imports this at every CLI start-up.
"""
from __future__ import annotations

from typing import Any, Optional

import attrs

__all__ = ["ServerConfig", "BatchingConfig", "MiB"]

MiB = 1024 * 1024


def _at_least(low: float) -> Any:
    def check(_: Any, attribute: attrs.Attribute, value: Optional[float]) -> None:
        if value is not None and value < low:
            raise ValueError(f"{attribute.name} must be at least {low}")

    return check


def _at_most(high: float) -> Any:
    def check(_: Any, attribute: attrs.Attribute, value: Optional[float]) -> None:
        if value is not None and value > high:
            raise ValueError(f"{attribute.name} must be at most {high}")

    return check


@attrs.frozen(kw_only=True)
class ServerConfig:
    """How `bento serve` listens. Binds loopback unless `host` says otherwise."""

    host: str = "127.0.0.1"
    port: int = attrs.field(default=5000, validator=[_at_least(0), _at_most(65535)])
    workers: int = attrs.field(default=1, validator=_at_least(1))
    engine: str = "waitress"  # the HTTP engine, a name registered through `register_http_engines`
    # A waiting request holds a thread, so threads bound how many requests one batch can group.
    threads: int = attrs.field(default=256, validator=_at_least(1))
    timeout: float = attrs.field(default=60.0, validator=_at_least(0.001))  # seconds, per request
    max_request_size: int = attrs.field(default=20 * MiB, validator=_at_least(1))  # bytes, decoded too
    # Open connections per process (at most half the open-files limit); past it the ones that have
    # waited longest for nothing from the server are closed, so a new connection (a probe) gets in.
    connection_limit: int = attrs.field(default=1000, validator=_at_least(1))
    idle_timeout: float = attrs.field(default=60.0, validator=_at_least(0.1))  # keep-alive between requests
    # From a connection's opening, or a request's first byte, until its headers are in: much
    # shorter than idle_timeout, so connections that never send a request go first.
    header_timeout: float = attrs.field(default=10.0, validator=_at_least(0.1))
    max_header_size: int = attrs.field(default=64 * 1024, validator=_at_least(1024))  # request line + headers
    # Unsent response bytes a connection may hold when the next response is written; a client
    # that has not read them by then is disconnected (no request thread ever waits for it).
    output_buffer: int = attrs.field(default=1 * MiB, validator=_at_least(0))
    backlog: int = attrs.field(default=2048, validator=_at_least(1))
    # A listener of its own for /healthz and /readyz (None: off). Probes are answered on the main
    # port too; here no flood of connections to the main port is queued ahead of them.
    probe_port: Optional[int] = attrs.field(default=None, validator=[_at_least(0), _at_most(65535)])
    graceful_timeout: float = attrs.field(default=30.0, validator=_at_least(0))  # SIGTERM drain bound
    # An overload 503 is sent this long after the request arrived (0: at once), so clients that
    # ignore Retry-After cannot spin on refusals; at most half the threads hold refusals.
    refusal_delay: float = attrs.field(default=0.5, validator=_at_least(0))
    # Each worker runs on one CPU (affinity.py says why); off for models with their own threads.
    cpu_affinity: bool = True


@attrs.frozen(kw_only=True)
class BatchingConfig:
    """Micro-batching of `batch=True` APIs; unset values keep what each `@api` declared."""

    enabled: bool = True
    batcher: str = "adaptive"  # a name registered through `register_batchers`
    mb_max_batch_size: Optional[int] = attrs.field(default=None, validator=_at_least(1))  # rows
    mb_max_latency: Optional[int] = attrs.field(default=None, validator=_at_least(1))  # ms
    max_queue_size: Optional[int] = attrs.field(default=None, validator=_at_least(1))  # rows; 4 batches
