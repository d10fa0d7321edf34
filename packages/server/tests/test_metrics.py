"""/metrics of one process (per-thread tallies summed at each read) against prometheus-client's own
metrics (what several workers use): the same events give the same samples, and no count is lost
when many threads record at once."""
from __future__ import annotations

import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from bento_server.metrics import Metrics


def samples(metrics: Metrics) -> dict:
    """{(sample name, labels): value} of the exposition, without prometheus-client's `_created`."""
    text = metrics.exposition()[0].decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


seconds = st.floats(0, 60, allow_nan=False)
events = st.lists(st.tuples(st.sampled_from(["predict", "echo"]), st.one_of(
    st.tuples(st.just("request"), st.sampled_from([200, 400, 503, 504]), seconds),
    st.tuples(st.just("rejected"), st.sampled_from(["timeout", "deadline", "queue_full"])),
    st.tuples(st.just("queued"), st.integers(0, 5000)),
    st.tuples(st.just("waited"), seconds),
    st.tuples(st.just("ran"), st.integers(1, 5000), seconds),
    st.tuples(st.just("inc"),),
    st.tuples(st.just("dec"),),
)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(events)
def test_one_process_exports_what_prometheus_client_would(events):
    tallies, client = Metrics(shared=False), Metrics(shared=True)
    for metrics in (tallies, client):
        apis = {name: metrics.for_api(name) for name in ("predict", "echo")}
        for api, (what, *args) in events:
            if what in ("inc", "dec"):
                getattr(apis[api].in_flight, what)()
            else:
                getattr(apis[api], what)(*args)
    expected = samples(client)
    got = samples(tallies)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) <= 1e-9 * max(1.0, abs(value)), key


def test_no_count_is_lost_when_threads_record_at_once():
    """Threads that switch every microsecond, and end before the read: every request is counted."""
    metrics = Metrics(shared=False)
    api = metrics.for_api("predict")
    per_thread, threads = 20_000, 8

    def record() -> None:
        for _ in range(per_thread):
            api.in_flight.inc()
            api.request(200, 0.001)
            api.in_flight.dec()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=record) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        sys.setswitchinterval(interval)
    got = samples(metrics)
    assert got[("bento_requests_total", (("api", "predict"), ("status", "200")))] == per_thread * threads
    assert got[("bento_request_duration_seconds_count", (("api", "predict"),))] == per_thread * threads
    assert got[("bento_requests_in_flight", (("api", "predict"),))] == 0
