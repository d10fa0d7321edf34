"""The app granian runs on the probe listener (`server.probe_port`): /healthz and /readyz,
answered from bento-server's probe answer; its accept queue holds probes only, so a flood of
the main port never queues ahead of them."""
from __future__ import annotations

from typing import Callable, Optional

from bento_server.errors import Overloaded, error_body, request_id

__all__ = ["ProbeApp"]

_JSON = (b"content-type", b"application/json")


class ProbeApp:
    """ASGI: `probe(path, request_id)` for the probe routes, 404 for any other path."""

    def __init__(self, probe: Optional[Callable]) -> None:
        self.probe = probe

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        sent = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"x-request-id"), None)
        rid = request_id(sent)
        answer = self.probe(scope["path"], rid) if self.probe is not None else None
        status, body = answer if answer is not None else (404, error_body(f"no probe at {scope['path']}", rid))
        headers = [_JSON, (b"x-request-id", rid.encode()), (b"content-length", str(len(body)).encode())]
        if status == 503:
            headers.append((b"retry-after", str(Overloaded.retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
