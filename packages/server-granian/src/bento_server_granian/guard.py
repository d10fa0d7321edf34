"""What the engine does around each request, where waitress' channels did it for the WSGI app:
the body is read before the app runs (at most `max_request_size`, 413 before buffering more; a
client that stops sending mid-body is answered 408 after `channel_timeout`), the app can ask
whether the client has gone, responses say `Connection: close` while draining, and a large
response is sent in pieces, each of which the client must take within `channel_timeout`, so a
client that never reads holds one piece of memory and then loses its connection."""
from __future__ import annotations

import asyncio
import logging
from time import monotonic
from typing import Any, Callable, Optional

from bento_server.config import ServerConfig
from bento_server.engine import DISCONNECTED_KEY
from bento_server.errors import REASONS, error_body, request_id

__all__ = ["Guard"]

log = logging.getLogger(__name__)

# Response bodies larger than this go out in pieces of this size (granian takes a piece when the
# previous ones are on their way, so the wait for each piece measures the client's reading).
SEND_PIECE = 64 * 1024

_CLOSE = (b"connection", b"close")


class _SlowReader(Exception):
    """The client took no piece of its response within channel_timeout."""


class Guard:
    """The ASGI app the engine runs: `app` with the server's limits around it."""

    def __init__(self, app: Callable, config: ServerConfig) -> None:
        self.app = app
        self.max_body = config.max_request_size
        self.timeout = config.channel_timeout
        self.draining = False

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        first = await receive()
        if first.get("more_body"):
            first = await self._rest_of_body(scope, first, receive, send)
            if first is None:
                return
        watcher = asyncio.ensure_future(receive()) if first.get("body") else None
        if watcher is not None:
            scope[DISCONNECTED_KEY] = watcher.done
        replay = [first]

        async def receive_replayed() -> dict:
            return replay.pop() if replay else await receive()

        async def send_guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                if self.draining:
                    message["headers"] = [*message.get("headers", ()), _CLOSE]
            elif len(message.get("body", b"")) > SEND_PIECE:
                await self._send_in_pieces(message, send)
                return
            await send(message)

        try:
            await self.app(scope, receive_replayed, send_guarded)
        except _SlowReader:
            log.info("closed a connection whose client read nothing for %.0f s", self.timeout)
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _send_in_pieces(self, message: dict, send: Callable) -> None:
        body = memoryview(message["body"])
        more = message.get("more_body", False)
        for start in range(0, len(body), SEND_PIECE):
            piece = bytes(body[start:start + SEND_PIECE])
            last = start + SEND_PIECE >= len(body)
            try:
                await asyncio.wait_for(send({"type": "http.response.body", "body": piece,
                                             "more_body": more or not last}), self.timeout)
            except asyncio.TimeoutError:
                raise _SlowReader() from None

    async def _rest_of_body(self, scope: dict, first: dict, receive: Callable, send: Callable) -> Optional[dict]:
        """The whole body as one event; None once the request was answered (413, 408) or the client left."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _refuse(scope, send, 413, f"request body of {int(declared)} bytes exceeds the limit of "
                                            f"{self.max_body} bytes")
            return None
        chunks = [first.get("body", b"")]
        size = len(chunks[0])
        until = monotonic() + self.timeout
        more = True
        while more:
            try:
                event = await asyncio.wait_for(receive(), max(0.0, until - monotonic()))
            except asyncio.TimeoutError:
                await _refuse(scope, send, 408, f"the request body did not arrive within {self.timeout:g} s")
                return None
            if event["type"] == "http.disconnect":
                return None
            chunks.append(event.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                await _refuse(scope, send, 413, f"request body exceeds the limit of {self.max_body} bytes")
                return None
            more = event.get("more_body", False)
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def _header(scope: dict, name: bytes) -> Optional[str]:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(scope: dict, send: Callable, status: int, message: str) -> None:
    """Answer an error in the server's JSON shape and close the connection (the rest of the body
    is never read)."""
    rid = request_id(_header(scope, b"x-request-id"))
    body = error_body(f"{REASONS[status]}: {message}", rid)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"x-request-id", rid.encode()), _CLOSE]})
    await send({"type": "http.response.body", "body": body})
