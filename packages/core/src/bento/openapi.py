"""The OpenAPI 3 document of a service, built from each adapter's declared request/response body.

Shared by `bento open-api-spec` and the server's /docs.json so the two never disagree.
"""
from __future__ import annotations

from typing import Any

__all__ = ["openapi_spec"]

_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}, "request_id": {"type": "string"}},
        "required": ["error"]}}},
}

_INFRA = {
    "/healthz": ("get", "Liveness: 200 while the process is up", {"200": {"description": "alive"}}),
    "/readyz": ("get", "Readiness: 200 once artifacts are loaded, 503 while loading or draining",
                {"200": {"description": "ready"}, "503": _ERROR}),
    "/metadata": ("get", "Service name, version, APIs, artifacts with metadata, labels",
                  {"200": {"description": "metadata", "content": {"application/json": {"schema": {"type": "object"}}}}}),
    "/metrics": ("get", "Prometheus metrics",
                 {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}),
}


def openapi_spec(service: Any) -> dict:
    """OpenAPI 3.0 document for every API of `service` plus the infrastructure routes."""
    paths: dict[str, Any] = {}
    for api in service.inference_apis:
        op = {
            "operationId": api.name,
            "summary": (api.doc.splitlines() or [f"{api.name} ({api.input_adapter.type_name()})"])[0],
            "description": api.doc,
            "tags": ["apis"],
            "requestBody": {"required": True, "content": api.input_adapter.request_schema()},
            "responses": {
                "200": {"description": "Success", "content": api.output_adapter.response_schema()},
                "400": _ERROR, "413": _ERROR, "415": _ERROR, "500": _ERROR, "503": _ERROR,
            },
        }
        paths[f"/{api.route}"] = {m.lower(): op for m in api.input_adapter.HTTP_METHODS}
    for path, (method, summary, responses) in _INFRA.items():
        paths[path] = {method: {"summary": summary, "tags": ["infra"], "responses": responses}}
    paths["/feedback"] = {"post": {
        "summary": "Feedback for a request id, logged", "tags": ["infra"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"request_id": {"type": "string"}}, "required": ["request_id"]}}}},
        "responses": {"200": {"description": "recorded"}, "400": _ERROR}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": service.name, "version": service.version,
                 "description": (type(service).__doc__ or "").strip()},
        "tags": [{"name": "apis", "description": "Inference APIs"}, {"name": "infra", "description": "Operations"}],
        "paths": paths,
    }
