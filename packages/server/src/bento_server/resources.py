"""The Falcon resources behind every route: inference APIs and the operational endpoints."""
from __future__ import annotations

import logging
import os
import threading
from time import monotonic, sleep, time
from typing import Any

import falcon
import orjson
from bento.adapters import HTTPRequest
from bento.exceptions import BentoError
from bento.types import InferenceError

from .arrival import ARRIVED_KEY
from .body import read_body, request_headers
from .errors import HTTPFault, Overloaded, error_body

__all__ = ["InferenceResource", "Health", "Ready", "StaticFile", "StaticJSON", "SwaggerUI", "SwaggerAsset", "MetricsExport",
           "Feedback"]

feedback_log = logging.getLogger("bento.feedback")

JSON = "application/json"


class InferenceResource:
    """One API: body -> adapter task -> dispatcher -> output adapter, with the server's limits."""

    def __init__(self, api: Any, dispatcher: Any, metrics: Any, *, timeout: float, max_request_size: int,
                 refusal_delay: float, refusal_slots: threading.Semaphore) -> None:
        self.api = api
        self.adapter = api.input_adapter
        self.output = api.output_adapter
        self.dispatcher = dispatcher
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
                result = self.dispatcher.submit(task, arrived, arrived + self.timeout,
                                                env.get("waitress.client_disconnected"))
            except Overloaded:
                self._hold_refusal(arrived)
                raise
        if isinstance(result, InferenceError):
            resp.data = error_body(result.err_msg, rid)
            resp.content_type = JSON
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


class Health:
    """/healthz: the process is up and its main loop answers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = b'{"status":"ok"}'
        resp.content_type = JSON


class Ready:
    """/readyz: 200 once the service is loaded, 503 while loading or draining."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.state.ready:
            raise Overloaded("loading" if not self.state.loaded else "draining")
        resp.data = b'{"status":"ready"}'
        resp.content_type = JSON


class StaticJSON:
    """A JSON document computed once (/metadata, /docs.json)."""

    def __init__(self, value: Any) -> None:
        self.body = orjson.dumps(value)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = JSON


class StaticFile:
    """The index.html of @web_static_content at /, read once."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self.body = f.read()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = "text/html; charset=utf-8"


_SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "/docs.json", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


class SwaggerUI:
    """The Swagger UI page over /docs.json; its assets come from the swagger-ui-bundle package."""

    def __init__(self, title: str) -> None:
        from html import escape

        self.body = _SWAGGER_PAGE.format(title=escape(title)).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = "text/html; charset=utf-8"


class SwaggerAsset:
    """/swagger-ui/<file>: the few files the page loads, read once, by name (no paths)."""

    FILES = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "application/javascript"}

    def __init__(self) -> None:
        from swagger_ui_bundle import swagger_ui_path

        self.files = {}
        for name, ctype in self.FILES.items():
            with open(os.path.join(swagger_ui_path, name), "rb") as f:
                self.files[name] = (f.read(), ctype)

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in self.files:
            raise falcon.HTTPNotFound(description=f"no Swagger UI file {name}")
        resp.data, resp.content_type = self.files[name]
        resp.cache_control = ["public", "max-age=86400"]


class MetricsExport:
    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data, resp.content_type = self.metrics.exposition()


class Feedback:
    """POST /feedback: a JSON object naming a request_id, logged as one JSON line."""

    MAX_SIZE = 64 * 1024

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req.env, self.MAX_SIZE)
        try:
            record = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise HTTPFault(f"feedback must be JSON: {e}", 400) from None
        if not isinstance(record, dict) or not isinstance(record.get("request_id"), str) or not record["request_id"]:
            raise HTTPFault('feedback must be a JSON object with a "request_id" string', 400)
        feedback_log.info("%s", orjson.dumps(record).decode())
        self.metrics.feedback.inc()
        resp.data = orjson.dumps({"status": "recorded", "request_id": record["request_id"]})
        resp.content_type = JSON
