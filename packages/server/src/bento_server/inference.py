"""The resource behind the route of each inference API: a Falcon resource for WSGI engines, and
the whole ASGI exchange for ASGI engines (the hot path, without Falcon's request and response)."""
from __future__ import annotations

import asyncio
import logging
import threading
from time import monotonic, sleep, time
from typing import Any, Optional

import falcon
from bento import exceptions
from bento.adapters import HTTPRequest
from bento.exceptions import BentoError
from bento.types import InferenceError

from .arrival import ARRIVED_KEY
from .body import asgi_request_headers, read_body, receive_body, request_headers
from .engine import DISCONNECTED_KEY
from .errors import HTTPFault, Overloaded, TimedOut, error_body, request_id

__all__ = ["InferenceResource"]

log = logging.getLogger(__name__)

# Bodies up to this size are parsed on the event loop (a few µs); a larger one is parsed on a
# thread of the loop's executor, so a slow parse delays only its own request.
_INLINE_PARSE_BYTES = 64 * 1024


class InferenceResource:
    """One API: body -> adapter task -> batcher -> output adapter, with the server's limits."""

    def __init__(self, api: Any, batcher: Any, metrics: Any, *, timeout: float, max_request_size: int,
                 refusal_delay: float, refusal_slots: threading.Semaphore) -> None:
        self.api = api
        self.adapter = api.input_adapter
        self.output = api.output_adapter
        self.batcher = batcher
        self.metrics = metrics
        self.timeout = timeout
        self.max_request_size = max_request_size
        self.refusal_delay = refusal_delay
        self.refusal_slots = refusal_slots
        self.methods = frozenset(self.adapter.HTTP_METHODS)
        for method in self.methods:
            setattr(self, f"on_{method.lower()}", self.serve)

    def serve(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A WSGI engine's request thread: it blocks until the batcher has the result."""
        env = req.env
        started = monotonic()
        arrived = _arrival(env, started)
        with _Accounting(self.metrics, started) as account:
            rid = req.context.request_id
            task = self._task(request_headers(env), read_body(env, self.max_request_size), rid)
            if task.is_discarded:
                result = task.error
            else:
                try:
                    result = self.batcher.submit(task, arrived, arrived + self.timeout,
                                                 env.get("waitress.client_disconnected"))
                except exceptions.Overloaded as e:
                    self._hold_refusal(arrived)
                    raise Overloaded(str(e)) from None
                except exceptions.TimedOut as e:
                    raise TimedOut(str(e)) from None
            status, headers, resp.data = self._answer(result, rid)
            resp.status = account.status = status
            for name, value in headers:
                resp.set_header(name, value)

    async def serve_asgi(self, scope: dict, receive: Any, send: Any) -> None:
        """An ASGI engine's request, start to end: the coroutine awaits the batcher holding no
        thread. Falcon's request and response objects cost more per request than everything
        else here (a third of the event loop's time), so this route does without them; every
        answer, error or not, has the shape Falcon's routes give it."""
        started = monotonic()
        arrived = _arrival(scope, started)
        headers = asgi_request_headers(scope)
        rid = request_id(headers.get("x-request-id"))
        with _Accounting(self.metrics, started) as account:
            try:
                status, answer, payload = self._answer(await self._result_async(scope, receive, headers, rid, arrived),
                                                       rid)
            except HTTPFault as e:
                status, answer, payload = e.status, _fault_headers(e), error_body(e.message, rid)
            except Exception:
                log.exception("unhandled error serving %s %s", scope["method"], scope["path"])
                status, answer, payload = 500, [("Content-Type", falcon.MEDIA_JSON)], \
                    error_body("internal server error", rid)
            account.status = status
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"x-request-id", rid.encode()), (b"content-length", str(len(payload)).encode()),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer)]})
        await send({"type": "http.response.body", "body": payload})

    async def _result_async(self, scope: dict, receive: Any, headers: dict, rid: str, arrived: float) -> Any:
        body = await receive_body(receive, headers.pop("content-length", None), headers.pop("content-encoding", ""),
                                  self.max_request_size)
        if len(body) <= _INLINE_PARSE_BYTES:
            task = self._task(headers, body, rid)
        else:
            task = await asyncio.get_running_loop().run_in_executor(None, self._task, headers, body, rid)
        if task.is_discarded:
            return task.error
        try:
            return await self.batcher.submit_async(task, arrived, arrived + self.timeout, scope.get(DISCONNECTED_KEY))
        except exceptions.Overloaded as e:
            await asyncio.sleep(max(0.0, arrived + self.refusal_delay - monotonic()))
            raise Overloaded(str(e)) from None
        except exceptions.TimedOut as e:
            raise TimedOut(str(e)) from None

    def _task(self, headers: dict, body: bytes, rid: str) -> Any:
        try:
            return self.adapter.from_http_request(HTTPRequest(headers=headers, body=body, request_id=rid))
        except BentoError as e:
            raise HTTPFault(str(e), e.http_status) from None

    def _hold_refusal(self, arrived: float) -> None:
        """Clients that ignore Retry-After would spin on refusals and take the CPU the admitted
        requests need: a refusal is answered refusal_delay after arrival. At most half the
        threads hold refusals, so held refusals never starve the requests behind them (a
        coroutine holds no thread: under an ASGI engine every refusal is held)."""
        if self.refusal_slots.acquire(blocking=False):
            try:
                sleep(max(0.0, arrived + self.refusal_delay - monotonic()))
            finally:
                self.refusal_slots.release()

    def _answer(self, result: Any, rid: str) -> tuple[int, list, bytes]:
        """`result` (an InferenceResult or InferenceError) as status, headers and body."""
        if isinstance(result, InferenceError):
            payload, headers = error_body(result.err_msg, rid), [("Content-Type", falcon.MEDIA_JSON)]
            if result.http_status == 503:
                headers.append(("Retry-After", str(Overloaded.retry_after)))
        else:
            try:
                payload, content_type = self.output.to_http_body(result)
            except BentoError as e:
                raise HTTPFault(f"API '{self.api.name}': {e}", 500) from None
            headers = [("Content-Type", content_type)]
        headers.extend(result.http_headers.items())
        return result.http_status, headers, payload


def _fault_headers(fault: HTTPFault) -> list:
    headers = [("Content-Type", falcon.MEDIA_JSON)]
    if fault.retry_after is not None:
        headers.append(("Retry-After", str(fault.retry_after)))
    return headers


def _arrival(environ: Any, now: float) -> float:
    """When the request arrived (monotonic clock): the engine's time under ARRIVED_KEY of the WSGI
    environ or ASGI scope when it gives one (waitress: the kernel's), else now."""
    sent_at = environ.get(ARRIVED_KEY)
    return now - max(0.0, time() - sent_at) if sent_at else now


class _Accounting:
    """The in-flight gauge and the per-status count and latency of one request."""

    __slots__ = ("metrics", "started", "status")

    def __init__(self, metrics: Any, started: float) -> None:
        self.metrics = metrics
        self.started = started
        self.status = 500

    def __enter__(self) -> "_Accounting":
        self.metrics.in_flight.inc()
        return self

    def __exit__(self, kind: Optional[type], error: Optional[BaseException], tb: Any) -> None:
        if isinstance(error, HTTPFault):
            self.status = error.status
        self.metrics.in_flight.dec()
        self.metrics.request(self.status, monotonic() - self.started)
