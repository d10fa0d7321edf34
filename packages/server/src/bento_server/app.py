"""The Falcon app of a service: routes, request ids, JSON errors, and the batchers behind the APIs."""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional

import falcon
from bento.artifacts.base import thaw
from bento.batching import Batcher, BatchPolicy
from bento.openapi import openapi_spec

from .config import BatchingConfig, ServerConfig
from .errors import HTTPFault, Overloaded, error_body, request_id
from .inference import InferenceResource
from .metrics import Metrics
from .operations import Feedback, Health, MetricsExport, Ready, StaticFile, StaticJSON, SwaggerAsset, SwaggerUI
from .probes import ServingState

__all__ = ["ServingState", "BentoApp", "loading_app", "service_metadata"]

log = logging.getLogger(__name__)


class _RequestIds:
    """Every response carries X-Request-Id."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = request_id(req.env.get("HTTP_X_REQUEST_ID"))

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, succeeded: bool) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)


def _serialize_http_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's own errors (unknown route, wrong method, ...) in the server's JSON shape."""
    if exc.description:
        message = exc.description
    elif exc.status_code == 404:
        message = f"no route {req.method} {req.path}"
    elif exc.status_code == 405:
        message = f"{req.method} is not allowed on {req.path} (allowed: {(exc.headers or {}).get('Allow', '')})"
    else:
        message = exc.title
    resp.data = error_body(message, req.context.get("request_id"))
    resp.content_type = falcon.MEDIA_JSON


def _handle_fault(req: falcon.Request, resp: falcon.Response, exc: HTTPFault, params: dict) -> None:
    resp.status = exc.status
    resp.data = error_body(exc.message, req.context.get("request_id"))
    resp.content_type = falcon.MEDIA_JSON
    if exc.retry_after is not None:
        resp.set_header("Retry-After", str(exc.retry_after))


def _handle_unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict) -> None:
    log.exception("unhandled error serving %s %s", req.method, req.path)
    _handle_fault(req, resp, HTTPFault("internal server error"), params)


class _App(falcon.App):
    """Falcon with HEAD on every GET route (monitors probe with HEAD; Falcon answers HEAD
    without the body but with its Content-Length)."""

    def add_route(self, uri_template: str, resource: object, **kwargs: Any) -> None:
        if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
            resource.on_head = resource.on_get
        super().add_route(uri_template, resource, **kwargs)


def _falcon_app() -> falcon.App:
    app = _App(middleware=[_RequestIds()])
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(HTTPFault, _handle_fault)
    app.add_error_handler(Exception, _handle_unexpected)
    return app


def loading_app() -> falcon.App:
    """What answers while the bundle loads: /healthz 200, everything else 503 with Retry-After."""
    app = _falcon_app()
    app.add_route("/healthz", Health())

    def sink(req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        raise Overloaded("the service is loading")

    app.add_sink(sink, "/")
    return app


def service_metadata(service: Any) -> dict:
    """/metadata: name, version, labels, APIs with their adapters, artifacts with their metadata."""
    return {
        "name": service.name,
        "version": service.version,
        "labels": service.labels,
        "apis": [{
            "name": api.name, "route": api.route, "doc": api.doc, "batch": api.batch,
            "http_methods": list(api.input_adapter.HTTP_METHODS),
            "input": {"type": api.input_adapter.type_name(), "config": api.input_adapter.config},
            "output": {"type": api.output_adapter.type_name(), "config": api.output_adapter.config},
            "mb_max_batch_size": api.mb_max_batch_size, "mb_max_latency": api.mb_max_latency,
        } for api in service.inference_apis],
        "artifacts": [{"name": a.name, "type": a.type_name(), "metadata": thaw(a.metadata)}
                      for a in service.artifacts],
    }


class BentoApp:
    """A service behind Falcon: one batcher per API, shared metrics."""

    def __init__(self, service: Any, server: ServerConfig, batching: BatchingConfig,
                 state: Optional[ServingState] = None) -> None:
        self.service = service
        self.state = state or ServingState()
        self.metrics = Metrics()
        self.batchers: list = []
        app = self.wsgi = _falcon_app()
        refusal_slots = threading.Semaphore(max(1, server.threads // 2))
        for api in service.inference_apis:
            metrics = self.metrics.for_api(api.name)
            batcher = _batcher(service, api, server, batching, metrics)
            self.batchers.append(batcher)
            app.add_route(f"/{api.route}", InferenceResource(
                api, batcher, metrics, timeout=server.timeout,
                max_request_size=server.max_request_size, refusal_delay=server.refusal_delay,
                refusal_slots=refusal_slots))
        app.add_route("/healthz", Health())
        app.add_route("/readyz", Ready(self.state))
        app.add_route("/metadata", StaticJSON(service_metadata(service)))
        app.add_route("/docs.json", StaticJSON(openapi_spec(service)))
        app.add_route("/metrics", MetricsExport(self.metrics))
        app.add_route("/feedback", Feedback(self.metrics))
        swagger = SwaggerUI(f"{service.name} {service.version}")
        app.add_route("/docs", swagger)
        app.add_route("/swagger-ui/{name}", SwaggerAsset())
        static = service.web_static_content
        if static:
            app.add_static_route("/", static)
        index = os.path.join(static, "index.html") if static else None
        app.add_route("/", StaticFile(index) if index and os.path.isfile(index) else swagger)
        self.state.loaded = True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the batchers once their queues are empty."""
        for batcher in self.batchers:
            batcher.close(timeout)


def _batcher(service: Any, api: Any, server: ServerConfig, batching: BatchingConfig, observer: Any) -> Batcher:
    """The batcher `[batching] batcher` names (a plugin's, or bento-server's `adaptive`) for `api`."""
    grouping = api.batch and batching.enabled
    max_rows = batching.mb_max_batch_size or api.mb_max_batch_size
    latency_ms = batching.mb_max_latency or api.mb_max_latency
    policy = BatchPolicy(max_batch_rows=max_rows, grouping=grouping,
                         max_latency=latency_ms / 1000 if grouping else server.timeout,
                         max_queue_rows=(batching.max_queue_size or 4 * max_rows) if grouping else None)
    return service.plugins.registry.batcher(batching.batcher)(api, policy, observer)

