"""The Falcon resource behind the route of each inference API."""
from __future__ import annotations

import threading
from time import monotonic, sleep, time
from typing import Any

import falcon
from bento import exceptions
from bento.adapters import HTTPRequest
from bento.exceptions import BentoError
from bento.types import InferenceError

from .arrival import ARRIVED_KEY
from .body import read_body, request_headers
from .errors import HTTPFault, Overloaded, TimedOut, error_body

__all__ = ["InferenceResource"]


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
        for method in self.adapter.HTTP_METHODS:
            setattr(self, f"on_{method.lower()}", self.serve)

    def serve(self, req: falcon.Request, resp: falcon.Response) -> None:
        env = req.env
        started = monotonic()
        sent_at = env.get(ARRIVED_KEY)
        arrived = started - max(0.0, time() - sent_at) if sent_at else started
        metrics = self.metrics
        metrics.in_flight.inc()
        status = 500
        try:
            status = self._serve(env, req.context.request_id, resp, arrived)
        except HTTPFault as e:
            status = e.status
            raise
        finally:
            metrics.in_flight.dec()
            metrics.request(status, monotonic() - started)

    def _hold_refusal(self, arrived: float) -> None:
        """Clients that ignore Retry-After would spin on refusals and take the CPU the admitted
        requests need: a refusal is answered refusal_delay after arrival. At most half the
        threads hold refusals, so held refusals never starve the requests behind them."""
        if self.refusal_slots.acquire(blocking=False):
            try:
                sleep(max(0.0, arrived + self.refusal_delay - monotonic()))
            finally:
                self.refusal_slots.release()

    def _serve(self, env: dict, rid: str, resp: falcon.Response, arrived: float) -> int:
        body = read_body(env, self.max_request_size)
        try:
            task = self.adapter.from_http_request(HTTPRequest(headers=request_headers(env), body=body, request_id=rid))
        except BentoError as e:
            raise HTTPFault(str(e), e.http_status) from None
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
        if isinstance(result, InferenceError):
            resp.data = error_body(result.err_msg, rid)
            resp.content_type = falcon.MEDIA_JSON
            if result.http_status == 503:
                resp.set_header("Retry-After", str(Overloaded.retry_after))
        else:
            try:
                resp.data, resp.content_type = self.output.to_http_body(result)
            except BentoError as e:
                raise HTTPFault(f"API '{self.api.name}': {e}", 500) from None
        resp.status = result.http_status
        for name, value in result.http_headers.items():
            resp.set_header(name, value)
        return result.http_status
