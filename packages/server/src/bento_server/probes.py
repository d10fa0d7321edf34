"""What /healthz and /readyz answer, in one place for both who answer them: the transport, on
its I/O thread (no request thread, so a probe is answered while every thread is busy or held),
and the Falcon app (the in-process tier, and probes pipelined behind other requests)."""
from __future__ import annotations

from typing import Optional

from .errors import error_body

__all__ = ["ServingState", "HEALTHY", "READY", "probe_answer"]

HEALTHY = b'{"status":"ok"}'
READY = b'{"status":"ready"}'


class ServingState:
    """What /readyz reports: loaded, and not draining."""

    def __init__(self) -> None:
        self.loaded = False
        self.draining = False

    @property
    def unready_reason(self) -> Optional[str]:
        if not self.loaded:
            return "loading"
        return "draining" if self.draining else None

    @property
    def ready(self) -> bool:
        return self.unready_reason is None


def probe_answer(state: ServingState, path: str, rid: str) -> Optional[tuple[int, bytes]]:
    """(status, JSON body) of the probe at `path`, or None when `path` is no probe. A 503 is
    answered with Retry-After (errors.Overloaded.retry_after)."""
    if path == "/healthz":
        return 200, HEALTHY
    if path == "/readyz":
        reason = state.unready_reason
        return (200, READY) if reason is None else (503, error_body(reason, rid))
    return None
