"""Prometheus metrics of one Yatai server, on a private registry served at the UI's /metrics."""
from __future__ import annotations

import time

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.rpcs = Counter("yatai_rpc", "RPCs handled, by method and gRPC status code", ["method", "code"],
                            registry=self.registry)
        self.latency = Histogram("yatai_rpc_duration_seconds", "RPC duration by method", ["method"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
        self.archive_bytes = Counter("yatai_archive_bytes", "Archive bytes received by uploads and sent by "
                                     "downloads", ["direction"], registry=self.registry)
        self.uploads_in_progress = Gauge("yatai_uploads_in_progress", "Uploads being received",
                                         registry=self.registry)
        self.component_up = Gauge("yatai_component_up", "1 when the database or the object store answered "
                                  "its last probe", ["component"], registry=self.registry)
        self.gc_removed = Counter("yatai_gc_removed_objects", "Temporary or orphaned archives removed by gc",
                                  registry=self.registry)

    def observe(self, method: str, code: str, started: float) -> None:
        self.rpcs.labels(method, code).inc()
        self.latency.labels(method).observe(time.perf_counter() - started)

    def exposition(self) -> tuple:
        """(body, content type) for GET /metrics."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def set_component(self, name: str, ok: bool) -> None:
        self.component_up.labels(name).set(1 if ok else 0)
