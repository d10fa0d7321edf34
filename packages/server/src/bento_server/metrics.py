"""Prometheus metrics of one server, exported at /metrics in prometheus-client's text format.

With one process, each API's counts are tallies kept per thread and summed when /metrics is
read: recording takes no lock (prometheus-client's own metrics take one per value: 4.8 µs of a
request and 3.2 µs of a model call, against 1.3 and 0.7 µs here, `timeit` in one thread).
With several workers, prometheus-client's multiprocess mode is used: `bento serve` points
PROMETHEUS_MULTIPROC_DIR at a private temporary directory before anything imports
prometheus_client (so it is imported in functions here), each worker's metrics write there and
/metrics merges what every live worker wrote. Both export the same families and samples
(prometheus-client's `_created` samples aside, which multiprocess mode has not either).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from bisect import bisect_left
from typing import Any, Iterator, Optional

__all__ = ["Metrics", "TallyAPIMetrics", "ClientAPIMetrics", "MULTIPROC_ENV", "shared_between_workers"]

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


_HELP = {
    "requests": "Inference requests by API and HTTP status",
    "latency": "Inference request latency in the app",
    "in_flight": "Inference requests being served",
    "batch_size": "Rows per model call",
    "batch_duration": "Model call time per batch",
    "queue_wait": "Time from arrival to the start of its batch",
    "queue_depth": "Rows waiting for the model",
    "rejections": "Requests refused before compute, by reason",
}


class Metrics:
    """Every metric the server exports, in a registry of its own (one per app). `shared`: the
    counts are shared between worker processes (default: when MULTIPROC_ENV is set)."""

    def __init__(self, shared: Optional[bool] = None) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV)) if shared is None else shared
        self.registry = reg = CollectorRegistry(auto_describe=False)
        if self.multiprocess:
            self._client = _ClientMetrics(reg)
        else:
            self._tallies: dict[str, TallyAPIMetrics] = {}
            reg.register(_TallyCollector(self._tallies))
        self.feedback = Counter("bento_feedback", "Feedback records received", registry=reg)

    def for_api(self, name: str) -> Any:
        """The recorder of API `name`: in_flight.inc()/dec(), request, rejected, queued, waited, ran."""
        if self.multiprocess:
            return ClientAPIMetrics(self._client, name)
        return self._tallies.setdefault(name, TallyAPIMetrics(name))

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not os.environ.get(MULTIPROC_ENV):  # no workers' files to merge
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        merged = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(merged)
        return generate_latest(merged), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- one process: tallies


class _Shard:
    """One thread's counts of one API. Histograms are per-bucket counts followed by their sum."""

    __slots__ = ("in_flight", "requests", "rejections", "latency", "queue_wait", "batch_size", "batch_duration")

    def __init__(self) -> None:
        self.in_flight = 0
        self.requests: dict[int, int] = {}
        self.rejections: dict[str, int] = {}
        self.latency = [0.0] * (len(_LATENCY_BUCKETS) + 1)
        self.queue_wait = [0.0] * (len(_LATENCY_BUCKETS) + 1)
        self.batch_size = [0.0] * (len(_SIZE_BUCKETS) + 1)
        self.batch_duration = [0.0] * (len(_LATENCY_BUCKETS) + 1)


def _observe(histogram: list, bounds: tuple, value: float) -> None:
    histogram[bisect_left(bounds, value)] += 1  # the first bucket whose bound is >= value
    histogram[-1] += value


class _InFlight:
    __slots__ = ("_shard",)

    def __init__(self, shard: Any) -> None:
        self._shard = shard

    def inc(self) -> None:
        self._shard().in_flight += 1

    def dec(self) -> None:
        self._shard().in_flight -= 1


class TallyAPIMetrics:
    """One API's counts in one process: each thread adds to a shard of its own (no lock, no lost
    update), and /metrics sums the shards; a shard outlives its thread, so nothing counted is lost."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.depth = 0  # the queue-depth gauge: the last value set (one assignment, atomic)
        self._local = threading.local()
        self._shards: list[_Shard] = []
        self._lock = threading.Lock()
        self.in_flight = _InFlight(self._shard)

    def _shard(self) -> _Shard:
        try:
            return self._local.shard
        except AttributeError:
            shard = self._local.shard = _Shard()
            with self._lock:
                self._shards.append(shard)
            return shard

    def shards(self) -> list:
        with self._lock:
            return list(self._shards)

    def request(self, status: int, seconds: float) -> None:
        shard = self._shard()
        shard.requests[status] = shard.requests.get(status, 0) + 1
        _observe(shard.latency, _LATENCY_BUCKETS, seconds)

    def rejected(self, reason: str) -> None:
        shard = self._shard()
        shard.rejections[reason] = shard.rejections.get(reason, 0) + 1

    def queued(self, rows: int) -> None:
        self.depth = rows

    def waited(self, seconds: float) -> None:
        _observe(self._shard().queue_wait, _LATENCY_BUCKETS, seconds)

    def ran(self, rows: int, seconds: float) -> None:
        shard = self._shard()
        _observe(shard.batch_size, _SIZE_BUCKETS, rows)
        _observe(shard.batch_duration, _LATENCY_BUCKETS, seconds)


class _TallyCollector:
    """The APIs' tallies as prometheus-client metric families, summed over the threads at each read."""

    def __init__(self, apis: dict) -> None:
        self.apis = apis

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        families = {
            "requests": CounterMetricFamily("bento_requests", _HELP["requests"], labels=["api", "status"]),
            "latency": HistogramMetricFamily("bento_request_duration_seconds", _HELP["latency"], labels=["api"]),
            "in_flight": GaugeMetricFamily("bento_requests_in_flight", _HELP["in_flight"], labels=["api"]),
            "batch_size": HistogramMetricFamily("bento_batch_size", _HELP["batch_size"], labels=["api"]),
            "batch_duration": HistogramMetricFamily("bento_batch_duration_seconds", _HELP["batch_duration"],
                                                    labels=["api"]),
            "queue_wait": HistogramMetricFamily("bento_queue_wait_seconds", _HELP["queue_wait"], labels=["api"]),
            "queue_depth": GaugeMetricFamily("bento_queue_depth", _HELP["queue_depth"], labels=["api"]),
            "rejections": CounterMetricFamily("bento_rejections", _HELP["rejections"], labels=["api", "reason"]),
        }
        for name, api in list(self.apis.items()):
            shards = api.shards()
            for kind in ("requests", "rejections"):
                counts: dict = {}
                for shard in shards:
                    for key, n in list(getattr(shard, kind).items()):
                        counts[key] = counts.get(key, 0) + n
                for key, n in counts.items():
                    families[kind].add_metric([name, str(key)], n)
            families["in_flight"].add_metric([name], sum(shard.in_flight for shard in shards))
            families["queue_depth"].add_metric([name], api.depth)
            for kind, bounds in (("latency", _LATENCY_BUCKETS), ("batch_size", _SIZE_BUCKETS),
                                 ("batch_duration", _LATENCY_BUCKETS), ("queue_wait", _LATENCY_BUCKETS)):
                families[kind].add_metric([name], *_cumulative(bounds, [getattr(shard, kind) for shard in shards]))
        yield from families.values()


def _cumulative(bounds: tuple, histograms: list) -> tuple[list, float]:
    """(buckets as [(le, cumulative count)], sum) of the per-thread histograms added up."""
    from prometheus_client.utils import floatToGoString

    total = [sum(column) for column in zip(*histograms)] if histograms else [0.0] * (len(bounds) + 1)
    buckets, running = [], 0.0
    for bound, count in zip(bounds, total):
        running += count
        buckets.append((floatToGoString(bound), running))
    return buckets, total[-1]


# ---------------------------------------------------------------- several processes: prometheus-client


class _ClientMetrics:
    """prometheus-client's metrics, which multiprocess mode backs with the workers' shared files."""

    def __init__(self, reg: Any) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter("bento_requests", _HELP["requests"], ["api", "status"], registry=reg)
        self.latency = Histogram("bento_request_duration_seconds", _HELP["latency"],
                                 ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.in_flight = Gauge("bento_requests_in_flight", _HELP["in_flight"],
                               ["api"], multiprocess_mode="livesum", registry=reg)
        self.batch_size = Histogram("bento_batch_size", _HELP["batch_size"],
                                    ["api"], buckets=_SIZE_BUCKETS, registry=reg)
        self.batch_duration = Histogram("bento_batch_duration_seconds", _HELP["batch_duration"],
                                        ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.queue_wait = Histogram("bento_queue_wait_seconds", _HELP["queue_wait"],
                                    ["api"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.queue_depth = Gauge("bento_queue_depth", _HELP["queue_depth"],
                                 ["api"], multiprocess_mode="livesum", registry=reg)
        self.rejections = Counter("bento_rejections", _HELP["rejections"], ["api", "reason"], registry=reg)


class ClientAPIMetrics:
    """The children of one API, bound once, so the hot path does no label lookups."""

    def __init__(self, metrics: _ClientMetrics, api: str) -> None:
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
