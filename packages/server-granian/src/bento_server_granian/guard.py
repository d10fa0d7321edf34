"""What the engine does around each request, where waitress' channels did it for the WSGI app:
the body is read before the app runs (at most `max_request_size`, 413 before buffering more; a
client that stops sending mid-body is answered 408 after `idle_timeout`), the app can ask
whether the client has gone, responses say `Connection: close` while draining, and a large
response is sent in pieces, so granian holds one piece of it at a time for a client that reads
slowly (one that stops reading is cut off by the kernel, see engine.py)."""
from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any, Awaitable, Callable, Optional

from bento_server.config import ServerConfig
from bento_server.deadlines import Deadlines
from bento_server.engine import DISCONNECTED_KEY
from bento_server.errors import REASONS, error_body, request_id

__all__ = ["Guard"]

# Response bodies larger than this go out in pieces of this size. granian queues about eight
# pieces per connection before `send` waits, so the piece bounds what a client that reads slowly
# costs this process (300 clients that never read the 1 MB Swagger bundle: +62 MB with 8 KiB
# pieces, +158 MB with 64 KiB); the rest waits in the kernel's socket buffer.
SEND_PIECE = 8 * 1024
# A request is watched for its client going away once it has waited this long: most are
# answered sooner, and a watch (a task awaiting granian's receive) costs more than the request.
WATCH_AFTER = 0.02

_CLOSE = (b"connection", b"close")


class Guard:
    """The ASGI app the engine runs: `app` with the server's limits around it (on one event loop)."""

    def __init__(self, app: Callable, config: ServerConfig) -> None:
        self.app = app
        self.max_body = config.max_request_size
        self.timeout = config.idle_timeout
        self.draining = False
        self.watches = Deadlines(_Disconnection.watch, _Disconnection.is_closed)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        first = await receive()
        if first.get("more_body"):  # granian says so even when the body is all there
            first = await self._whole_body(scope, first, receive, send)
            if first is None:
                return
        watch = _Disconnection(receive) if first.get("body") else None
        if watch is not None:
            self.watches.add(monotonic() + WATCH_AFTER, watch)
            scope[DISCONNECTED_KEY] = watch
        replay = [first]

        async def receive_replayed() -> dict:
            return replay.pop() if replay else await receive()

        async def send_guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                if self.draining:
                    message["headers"] = [*message.get("headers", ()), _CLOSE]
            elif len(message.get("body", b"")) > SEND_PIECE:
                body, more = memoryview(message["body"]), message.get("more_body", False)
                for start in range(0, len(body), SEND_PIECE):
                    await send({"type": "http.response.body", "body": bytes(body[start:start + SEND_PIECE]),
                                "more_body": more or start + SEND_PIECE < len(body)})
                return
            await send(message)

        try:
            await self.app(scope, receive_replayed, send_guarded)
        finally:
            if watch is not None:
                watch.close()

    async def _whole_body(self, scope: dict, first: dict, receive: Callable, send: Callable) -> Optional[dict]:
        """The whole body as one event; None once the request was answered (413, 408) or the
        client left. A body of its declared length is complete without waiting for more."""
        body = first.get("body", b"")
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_body:
                await _refuse(scope, send, 413, f"request body of {declared} bytes exceeds the limit of "
                                                f"{self.max_body} bytes")
                return None
            if len(body) == declared:
                return {"type": "http.request", "body": body, "more_body": False}
        chunks = [body]
        size = len(body)
        until = monotonic() + self.timeout
        more = True
        while more:
            event = await _within(receive(), until - monotonic())
            if event is None:
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


class _Disconnection:
    """Called by the batcher's runner thread: whether the client has gone. granian tells by
    answering `receive()` with http.disconnect; that is awaited only for requests still waiting
    WATCH_AFTER seconds after they came (Guard.watches)."""

    __slots__ = ("receive", "task", "closed")

    def __init__(self, receive: Callable) -> None:
        self.receive = receive
        self.task: Optional[asyncio.Task] = None
        self.closed = False

    def watch(self) -> None:
        self.task = asyncio.ensure_future(self._until_disconnected())

    async def _until_disconnected(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":  # the end of the body may still come
            pass

    def __call__(self) -> bool:
        task = self.task
        return task is not None and task.done()

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        if self.task is not None:
            self.task.cancel()


async def _within(awaitable: Awaitable, seconds: float) -> Any:
    """`awaitable`'s result, or None after `seconds` (a timer on this task, no new task)."""
    task = asyncio.current_task()
    expired = []

    def expire() -> None:
        expired.append(True)
        task.cancel()

    timer = asyncio.get_running_loop().call_later(max(0.0, seconds), expire)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if not expired:
            raise
        return None
    finally:
        timer.cancel()


def _content_length(scope: dict) -> Optional[int]:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value)
    return None


async def _refuse(scope: dict, send: Callable, status: int, message: str) -> None:
    """Answer an error in the server's JSON shape and close the connection (the rest of the body
    is never read)."""
    sent = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"x-request-id"), None)
    rid = request_id(sent)
    body = error_body(f"{REASONS[status]}: {message}", rid)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"x-request-id", rid.encode()), _CLOSE]})
    await send({"type": "http.response.body", "body": body})
