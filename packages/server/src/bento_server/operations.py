"""The Falcon resources of the operational routes: health, readiness, metadata, docs, metrics, feedback."""
from __future__ import annotations

import logging
import os
from html import escape
from typing import Any

import falcon
import orjson

from .body import read_body, read_body_async
from .errors import HTTPFault, Overloaded
from .probes import HEALTHY, READY, ServingState

__all__ = ["Health", "Ready", "StaticFile", "StaticJSON", "SwaggerUI", "SwaggerAsset", "MetricsExport", "Feedback"]

feedback_log = logging.getLogger("bento.feedback")


class Health:
    """/healthz: the process is up and its main loop answers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = HEALTHY
        resp.content_type = falcon.MEDIA_JSON


class Ready:
    """/readyz: 200 once the service is loaded, 503 while loading or draining."""

    def __init__(self, state: ServingState) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        reason = self.state.unready_reason
        if reason:
            raise Overloaded(reason)
        resp.data = READY
        resp.content_type = falcon.MEDIA_JSON


class StaticJSON:
    """A JSON document computed once (/metadata, /docs.json)."""

    def __init__(self, value: Any) -> None:
        self.body = orjson.dumps(value)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = falcon.MEDIA_JSON


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
        self.body = _SWAGGER_PAGE.format(title=escape(title)).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = "text/html; charset=utf-8"


class SwaggerAsset:
    """/swagger-ui/<file>: the few files the page loads, read once, by name (no paths)."""

    FILES = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "application/javascript"}

    def __init__(self) -> None:
        from swagger_ui_bundle import swagger_ui_path  # 35 ms: not before the socket listens

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
        self._record(read_body(req.env, self.MAX_SIZE), resp)

    async def on_post_async(self, req: Any, resp: Any) -> None:
        self._record(await read_body_async(req, self.MAX_SIZE), resp)

    def _record(self, body: bytes, resp: Any) -> None:
        try:
            record = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise HTTPFault(f"feedback must be JSON: {e}", 400) from None
        if not isinstance(record, dict) or not isinstance(record.get("request_id"), str) or not record["request_id"]:
            raise HTTPFault('feedback must be a JSON object with a "request_id" string', 400)
        feedback_log.info("%s", orjson.dumps(record).decode())
        self.metrics.feedback.inc()
        resp.data = orjson.dumps({"status": "recorded", "request_id": record["request_id"]})
        resp.content_type = falcon.MEDIA_JSON
