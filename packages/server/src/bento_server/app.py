"""The Falcon app of a service: routes, request ids, JSON errors, and the batchers behind the APIs,
as a WSGI app and as an ASGI app (for the HTTP engine's `interface`) over the same resources."""
from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from typing import Any, Optional

import falcon
import falcon.asgi
from bento.artifacts.base import thaw
from bento.batching import Batcher, BatchPolicy
from bento.openapi import openapi_spec

from .asgi import AsyncView, coroutine
from .config import BatchingConfig, ServerConfig
from .errors import HTTPFault, Overloaded, error_body, request_id
from .inference import InferenceResource
from .metrics import Metrics
from .operations import Feedback, Health, MetricsExport, Ready, StaticFile, StaticJSON, SwaggerAsset, SwaggerUI
from .probes import ServingState

__all__ = ["ServingState", "BentoApp", "AsgiApp", "loading_app", "service_metadata"]

log = logging.getLogger(__name__)


class _RequestIds:
    """Every response carries X-Request-Id."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = request_id(req.env.get("HTTP_X_REQUEST_ID"))

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, succeeded: bool) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)

    async def process_request_async(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.request_id = request_id(req.get_header("X-Request-Id"))

    async def process_response_async(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any,
                                     succeeded: bool) -> None:
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


class _HeadOnGet:
    """HEAD on every GET route (monitors probe with HEAD; Falcon answers HEAD without the body
    but with its Content-Length)."""

    def add_route(self, uri_template: str, resource: object, **kwargs: Any) -> None:
        if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
            resource.on_head = resource.on_get
        super().add_route(uri_template, resource, **kwargs)


class _App(_HeadOnGet, falcon.App):
    pass


class _AsgiFalcon(_HeadOnGet, falcon.asgi.App):
    pass


def _falcon_app(interface: str = "wsgi") -> falcon.App:
    """An empty app of the engine's interface ("wsgi" or "asgi") with the server's middleware and errors."""
    asgi = interface == "asgi"
    handler = coroutine if asgi else (lambda func: func)
    app = (_AsgiFalcon if asgi else _App)(middleware=[_RequestIds()])
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(HTTPFault, handler(_handle_fault))
    app.add_error_handler(Exception, handler(_handle_unexpected))
    return app


def _loading(req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
    raise Overloaded("the service is loading")


def loading_app(interface: str = "wsgi") -> falcon.App:
    """What answers while the bundle loads: /healthz 200, everything else 503 with Retry-After."""
    app = _falcon_app(interface)
    asgi = interface == "asgi"
    app.add_route("/healthz", AsyncView(Health()) if asgi else Health())
    app.add_sink(coroutine(_loading) if asgi else _loading, "/")
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
    """A service behind Falcon: one batcher per API, shared metrics. `wsgi` and `asgi` are two
    Falcon apps over the same resources and batchers; an engine serves the one of its interface."""

    def __init__(self, service: Any, server: ServerConfig, batching: BatchingConfig,
                 state: Optional[ServingState] = None) -> None:
        self.service = service
        self.state = state or ServingState()
        self.metrics = Metrics()
        self.batchers: list = []
        self.routes: list = []
        refusal_slots = threading.Semaphore(max(1, server.threads // 2))
        for api in service.inference_apis:
            metrics = self.metrics.for_api(api.name)
            batcher = _batcher(service, api, server, batching, metrics)
            self.batchers.append(batcher)
            self.routes.append((f"/{api.route}", InferenceResource(
                api, batcher, metrics, timeout=server.timeout,
                max_request_size=server.max_request_size, refusal_delay=server.refusal_delay,
                refusal_slots=refusal_slots)))
        swagger = SwaggerUI(f"{service.name} {service.version}")
        self.routes += [
            ("/healthz", Health()), ("/readyz", Ready(self.state)),
            ("/metadata", StaticJSON(service_metadata(service))), ("/docs.json", StaticJSON(openapi_spec(service))),
            ("/metrics", MetricsExport(self.metrics)), ("/feedback", Feedback(self.metrics)),
            ("/docs", swagger), ("/swagger-ui/{name}", SwaggerAsset())]
        self.static = service.web_static_content
        index = os.path.join(self.static, "index.html") if self.static else None
        self.routes.append(("/", StaticFile(index) if index and os.path.isfile(index) else swagger))
        self.wsgi = self._falcon("wsgi")
        self.state.loaded = True

    @cached_property
    def asgi(self) -> "AsgiApp":
        """The ASGI app, made on first use (most servers run a WSGI engine)."""
        return AsgiApp(self._falcon("asgi"), self.routes)

    def serving(self, interface: str) -> Any:
        """The app an engine of `interface` ("wsgi" or "asgi") calls."""
        return self.asgi if interface == "asgi" else self.wsgi

    def _falcon(self, interface: str) -> falcon.App:
        app = _falcon_app(interface)
        if self.static:
            app.add_static_route("/", self.static)
        for uri, resource in self.routes:
            app.add_route(uri, AsyncView(resource) if interface == "asgi" else resource)
        return app

    def close(self, timeout: float = 5.0) -> None:
        """Stop the batchers once their queues are empty."""
        for batcher in self.batchers:
            batcher.close(timeout)


class AsgiApp:
    """Falcon's ASGI app, except for the inference routes: their requests go straight to their
    resource (InferenceResource.serve_asgi says why). `falcon` is the app for everything else."""

    def __init__(self, falcon_app: falcon.asgi.App, routes: list) -> None:
        self.falcon = falcon_app
        self.inference = {uri: resource for uri, resource in routes if isinstance(resource, InferenceResource)}

    def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            resource = self.inference.get(scope["path"])
            if resource is not None and scope["method"] in resource.methods:
                return resource.serve_asgi(scope, receive, send)
        return self.falcon(scope, receive, send)


def _batcher(service: Any, api: Any, server: ServerConfig, batching: BatchingConfig, observer: Any) -> Batcher:
    """The batcher `[batching] batcher` names (a plugin's, or bento-server's `adaptive`) for `api`."""
    grouping = api.batch and batching.enabled
    max_rows = batching.mb_max_batch_size or api.mb_max_batch_size
    latency_ms = batching.mb_max_latency or api.mb_max_latency
    policy = BatchPolicy(max_batch_rows=max_rows, grouping=grouping,
                         max_latency=latency_ms / 1000 if grouping else server.timeout,
                         max_queue_rows=(batching.max_queue_size or 4 * max_rows) if grouping else None)
    return service.plugins.registry.batcher(batching.batcher)(api, policy, observer)

