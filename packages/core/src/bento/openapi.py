"""The OpenAPI 3 document of a service, built from each adapter's declared request/response body.

Shared by the server's /docs.json (from the loaded service) and `bento open-api-spec` (from
bento.yml alone: adapters are made from their registered type and recorded config, so a
metadata command never imports the bundle's own code); the two never disagree.
"""
from __future__ import annotations

from typing import Any, Sequence

from .artifacts.base import thaw
from .bundle.metadata import BundleMetadata
from .plugins import Kind, TypeRegistry

__all__ = ["openapi_spec", "openapi_spec_from_metadata"]

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
    apis = [(a.name, a.route, a.doc, a.input_adapter, a.output_adapter) for a in service.inference_apis]
    artifacts = {a.name: {"type": a.type_name(), "metadata": thaw(a.metadata)} for a in service.artifacts}
    return _document(service.name, service.version, (type(service).__doc__ or "").strip(), apis, artifacts)


def openapi_spec_from_metadata(meta: BundleMetadata, registry: TypeRegistry) -> dict:
    """The same document from a bundle's bento.yml, with adapters made by the installed plugins."""
    apis = [(a.name, a.route, a.doc,
             registry.get(Kind.INPUT_ADAPTER, a.input.type, a.input.plugin or None)(**a.input.config),
             registry.get(Kind.OUTPUT_ADAPTER, a.output.type, a.output.plugin or None)(**a.output.config))
            for a in meta.apis]
    artifacts = {a.name: {"type": a.type, "metadata": a.metadata} for a in meta.artifacts}
    return _document(meta.name, meta.version, meta.service.doc, apis, artifacts)


def _document(title: str, version: str, description: str, apis: Sequence[tuple], artifacts: dict) -> dict:
    """`artifacts` (name -> type and metadata: a compiled model's inputs, shapes and types among
    them) go under `info.x-bento-artifacts`, so clients see what each API's model takes."""
    paths: dict[str, Any] = {}
    for name, route, doc, input_adapter, output_adapter in apis:
        op = {
            "operationId": name,
            "summary": (doc.splitlines() or [f"{name} ({input_adapter.type_name()})"])[0],
            "description": doc,
            "tags": ["apis"],
            "requestBody": {"required": True, "content": input_adapter.request_schema()},
            "responses": {
                "200": {"description": "Success", "content": output_adapter.response_schema()},
                "400": _ERROR, "413": _ERROR, "415": _ERROR, "500": _ERROR, "503": _ERROR,
            },
        }
        paths[f"/{route}"] = {m.lower(): op for m in input_adapter.HTTP_METHODS}
    for path, (method, summary, responses) in _INFRA.items():
        paths[path] = {method: {"summary": summary, "tags": ["infra"], "responses": responses}}
    paths["/feedback"] = {"post": {
        "summary": "Feedback for a request id, logged", "tags": ["infra"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"request_id": {"type": "string"}}, "required": ["request_id"]}}}},
        "responses": {"200": {"description": "recorded"}, "400": _ERROR}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version, "description": description, "x-bento-artifacts": artifacts},
        "tags": [{"name": "apis", "description": "Inference APIs"}, {"name": "infra", "description": "Operations"}],
        "paths": paths,
    }
