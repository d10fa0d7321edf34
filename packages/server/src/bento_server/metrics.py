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


# Every per-API family, for both ways of keeping them: (attribute, name, help, kind, the label
# beside "api" or None, buckets of a histogram or None).
_FAMILIES = (
    ("requests", "bento_requests", "Inference requests by API and HTTP status", "counter", "status", None),
    ("latency", "bento_request_duration_seconds", "Inference request latency in the app", "histogram", None,
     _LATENCY_BUCKETS),
    ("in_flight", "bento_requests_in_flight", "Inference requests being served", "gauge", None, None),
    ("batch_size", "bento_batch_size", "Rows per model call", "histogram", None, _SIZE_BUCKETS),
    ("batch_duration", "bento_batch_duration_seconds", "Model call time per batch", "histogram", None,
     _LATENCY_BUCKETS),
    ("queue_wait", "bento_queue_wait_seconds", "Time from arrival to the start of its batch", "histogram", None,
     _LATENCY_BUCKETS),
    ("queue_depth", "bento_queue_depth", "Rows waiting for the model", "gauge", None, None),
    ("rejections", "bento_rejections", "Requests refused before compute, by reason", "counter", "reason", None),
)


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
        if name not in self._tallies:
            self._tallies[name] = TallyAPIMetrics(name)
        return self._tallies[name]

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
        for attr, _, _, kind, _, buckets in _FAMILIES:
            if kind == "histogram":
                setattr(self, attr, [0.0] * (len(buckets) + 1))


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

        kinds = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily, "histogram": HistogramMetricFamily}
        apis = [(name, api, api.shards()) for name, api in list(self.apis.items())]
        for attr, name, help_text, kind, label, buckets in _FAMILIES:
            family = kinds[kind](name, help_text, labels=["api"] + ([label] if label else []))
            for api_name, api, shards in apis:
                if kind == "histogram":
                    family.add_metric([api_name], *_cumulative(buckets, [getattr(shard, attr) for shard in shards]))
                elif kind == "counter":
                    counts: dict = {}
                    for shard in shards:
                        for key, n in list(getattr(shard, attr).items()):
                            counts[key] = counts.get(key, 0) + n
                    for key, n in counts.items():
                        family.add_metric([api_name, str(key)], n)
                elif attr == "queue_depth":  # a gauge that is set: the last value, not a sum
                    family.add_metric([api_name], api.depth)
                else:
                    family.add_metric([api_name], sum(getattr(shard, attr) for shard in shards))
            yield family


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

        for attr, name, help_text, kind, label, buckets in _FAMILIES:
            labels = ["api"] + ([label] if label else [])
            if kind == "counter":
                metric = Counter(name, help_text, labels, registry=reg)
            elif kind == "gauge":
                metric = Gauge(name, help_text, labels, multiprocess_mode="livesum", registry=reg)
            else:
                metric = Histogram(name, help_text, labels, buckets=buckets, registry=reg)
            setattr(self, attr, metric)


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
