"""Prometheus metrics of one server: per-API children bound once, so the hot path does no label lookups.

With several workers, prometheus-client's multiprocess mode is used: `bento serve` points
PROMETHEUS_MULTIPROC_DIR at a private temporary directory before anything imports
prometheus_client (so it is imported in functions here), and /metrics merges what every live
worker wrote there.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Any, Iterator

__all__ = ["Metrics", "APIMetrics", "MULTIPROC_ENV", "shared_between_workers"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, float("inf"))


@contextlib.contextmanager
def shared_between_workers(workers: int) -> Iterator[None]:
    """With several workers, point MULTIPROC_ENV at a new private directory for the duration and
    remove it afterwards, however serving ended (a load error, a drain before the workers
    started, a crash limit); only a SIGKILLed server leaves it behind."""
    if workers == 1:
        yield
        return
    directory = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="bento-metrics-")
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(directory, ignore_errors=True)


class Metrics:
    """Every metric the server exports, registered in a registry of its own (one per app)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = reg = CollectorRegistry(auto_describe=False)
        self.requests = Counter("bento_requests", "Inference requests by API and HTTP status",
                                ["api", "status"], registry=reg)
        self.latency = Histogram("bento_request_duration_seconds", "Inference request latency in the app",
                                 ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.in_flight = Gauge("bento_requests_in_flight", "Inference requests being served",
                               ["api"], multiprocess_mode="livesum", registry=reg)
        self.batch_size = Histogram("bento_batch_size", "Rows per model call",
                                    ["api"], buckets=_SIZE_BUCKETS, registry=reg)
        self.batch_duration = Histogram("bento_batch_duration_seconds", "Model call time per batch",
                                        ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.queue_wait = Histogram("bento_queue_wait_seconds", "Time from arrival to the start of its batch",
                                    ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.queue_depth = Gauge("bento_queue_depth", "Rows waiting for the model",
                                 ["api"], multiprocess_mode="livesum", registry=reg)
        self.rejections = Counter("bento_rejections", "Requests refused before compute, by reason",
                                  ["api", "reason"], registry=reg)
        self.feedback = Counter("bento_feedback", "Feedback records received", registry=reg)

    def for_api(self, name: str) -> "APIMetrics":
        return APIMetrics(self, name)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        merged = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(merged)
        return generate_latest(merged), CONTENT_TYPE_LATEST


class APIMetrics:
    """The children of one API, bound once."""

    def __init__(self, metrics: Metrics, api: str) -> None:
        self._metrics = metrics
        self.api = api
        self.latency = metrics.latency.labels(api)
        self.in_flight = metrics.in_flight.labels(api)
        self.batch_size = metrics.batch_size.labels(api)
        self.batch_duration = metrics.batch_duration.labels(api)
        self.queue_wait = metrics.queue_wait.labels(api)
        self.queue_depth = metrics.queue_depth.labels(api)
        self._by_status: dict[int, Any] = {}
        self._by_reason: dict[str, Any] = {}

    def request(self, status: int, seconds: float) -> None:
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status[status] = self._metrics.requests.labels(self.api, str(status))
        child.inc()
        self.latency.observe(seconds)

    def rejected(self, reason: str) -> None:
        child = self._by_reason.get(reason)
        if child is None:
            child = self._by_reason[reason] = self._metrics.rejections.labels(self.api, reason)
        child.inc()

    def queued(self, rows: int) -> None:
        self.queue_depth.set(rows)

    def waited(self, seconds: float) -> None:
        self.queue_wait.observe(seconds)

    def ran(self, rows: int, seconds: float) -> None:
        self.batch_size.observe(rows)
        self.batch_duration.observe(seconds)
