"""The adaptive batcher and its latency model, without HTTP (the HTTP behaviour is in the app tests)."""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from time import monotonic

import pytest
from bento.batching import BatchPolicy
from bento.exceptions import Overloaded, TimedOut
from bento.types import InferenceError, InferenceResult, InferenceTask
from hypothesis import given, settings
from hypothesis import strategies as st

from bento_server.batching import AdaptiveBatcher
from bento_server.latency import ArrivalRate, LatencyModel
from bento_server.metrics import Metrics


class FakeAPI:
    """Records each call's tasks; `delay` seconds per call."""

    name = "fake"

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: list = []

    def infer(self, tasks):
        self.calls.append([t.data for t in tasks])
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("broken pipeline")
        return [InferenceResult(data=t.data) for t in tasks]


def dispatcher(api, grouping=True, max_rows=100, latency=10.0, queue=None) -> AdaptiveBatcher:
    policy = BatchPolicy(max_batch_rows=max_rows, grouping=grouping, max_latency=latency, max_queue_rows=queue)
    return AdaptiveBatcher(api, policy, Metrics().for_api(api.name))


def submit(d: AdaptiveBatcher, data, rows=None, timeout=10.0):
    now = monotonic()
    return d.submit(InferenceTask(data=data, batch=rows), now, now + timeout)


def test_an_idle_model_takes_a_lone_request_at_once():
    api = FakeAPI()
    d = dispatcher(api)
    started = monotonic()
    assert submit(d, 1).data == 1
    assert monotonic() - started < 0.05 and api.calls == [[1]]
    d.close()


def test_what_queues_while_the_model_runs_is_one_fifo_batch():
    api = FakeAPI(delay=0.2)
    d = dispatcher(api)
    first = threading.Thread(target=submit, args=(d, "first"))
    first.start()
    time.sleep(0.05)
    with ThreadPoolExecutor(5) as pool:
        futures = []
        for i in range(5):
            futures.append(pool.submit(submit, d, i))
            time.sleep(0.01)  # a known arrival order
        assert [f.result().data for f in futures] == list(range(5))
    first.join()
    assert api.calls == [["first"], [0, 1, 2, 3, 4]]
    d.close()


def test_rows_bound_a_batch_and_a_request_is_never_split():
    api = FakeAPI(delay=0.1)
    d = dispatcher(api, max_rows=10)
    blocker = threading.Thread(target=submit, args=(d, "block"))
    blocker.start()
    time.sleep(0.03)
    sizes = [("a", 4), ("b", 4), ("c", 4), ("big", 25)]
    with ThreadPoolExecutor(4) as pool:
        futures = []
        for data, rows in sizes:
            futures.append(pool.submit(submit, d, data, rows))
            time.sleep(0.01)
        [f.result() for f in futures]
    blocker.join()
    assert api.calls == [["block"], ["a", "b"], ["c"], ["big"]]
    d.close()


def test_without_grouping_each_request_is_its_own_call():
    api = FakeAPI(delay=0.05)
    d = dispatcher(api, grouping=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: submit(d, i), range(4)))
    assert sorted(len(c) for c in api.calls) == [1, 1, 1, 1]
    d.close()


def test_a_request_that_cannot_meet_its_deadline_is_refused_before_compute():
    api = FakeAPI(delay=0.3)
    d = dispatcher(api, latency=0.2)
    d.model.observe(1, 0.3)
    d.model.observe(2, 0.3)
    busy = threading.Thread(target=submit, args=(d, "busy"))
    busy.start()
    time.sleep(0.05)
    started = monotonic()
    with pytest.raises(Overloaded):
        submit(d, "late")
    assert monotonic() - started < 0.05
    busy.join()
    assert ["late"] not in api.calls
    assert submit(d, "idle again").data == "idle again"  # an idle model always takes work
    d.close()


def test_a_full_queue_refuses():
    api = FakeAPI(delay=0.2)
    d = dispatcher(api, queue=2)
    threading.Thread(target=submit, args=(d, "running")).start()
    time.sleep(0.05)
    queued = [threading.Thread(target=submit, args=(d, i)) for i in range(2)]
    for t in queued:
        t.start()
    time.sleep(0.05)
    with pytest.raises(Overloaded, match="queue"):
        submit(d, "third")
    for t in queued:
        t.join()
    d.close()


def test_timeouts_504_while_running_503_while_queued():
    api = FakeAPI(delay=0.5)
    d = dispatcher(api)
    errors = {}

    def call(name):
        try:
            submit(d, name, timeout=0.2)
        except (TimedOut, Overloaded) as e:
            errors[name] = type(e)

    a = threading.Thread(target=call, args=("running",))
    a.start()
    time.sleep(0.05)
    call("queued")
    a.join()
    assert errors == {"running": TimedOut, "queued": Overloaded}
    time.sleep(0.5)
    assert api.calls == [["running"]]  # the queued one was never computed
    d.close()


async def _submit_async(d: AdaptiveBatcher, data, timeout=10.0):
    now = monotonic()
    return await d.submit_async(InferenceTask(data=data), now, now + timeout)


def test_coroutines_and_threads_queued_together_share_one_batch_holding_no_thread():
    """An ASGI engine's coroutines await the runner instead of blocking threads: 200 of them
    wait without a thread each, join the batch the blocked threads are in, and get their own
    results."""
    api = FakeAPI(delay=0.2)
    d = dispatcher(api, max_rows=1000, latency=1000)  # the fake's 0.2 s per call reads as 0.1 s per row
    blocker = threading.Thread(target=submit, args=(d, "block"))
    blocker.start()
    time.sleep(0.05)
    threads_before = threading.active_count()
    thread_result = {}
    in_a_thread = threading.Thread(target=lambda: thread_result.update(r=submit(d, "thread", timeout=1000).data))

    async def many():
        pending = [asyncio.ensure_future(_submit_async(d, i, timeout=1000)) for i in range(200)]
        await asyncio.sleep(0.02)
        assert threading.active_count() == threads_before  # nothing waits on a thread of its own
        in_a_thread.start()
        return [r.data for r in await asyncio.gather(*pending)]

    assert asyncio.run(many()) == list(range(200))
    in_a_thread.join()
    blocker.join()
    assert thread_result == {"r": "thread"}
    assert api.calls == [["block"], [*range(200), "thread"]]
    d.close()


def test_awaited_timeouts_504_while_running_503_while_queued():
    api = FakeAPI(delay=0.5)
    d = dispatcher(api)

    async def both():
        running = asyncio.ensure_future(_submit_async(d, "running", timeout=0.2))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(_submit_async(d, "queued", timeout=0.2))
        return await asyncio.gather(running, queued, return_exceptions=True)

    started = monotonic()
    assert [type(e) for e in asyncio.run(both())] == [TimedOut, Overloaded]
    assert monotonic() - started < 0.45  # answered at the timeout, not when the model finished
    time.sleep(0.5)
    assert api.calls == [["running"]]
    d.close()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=0.5), min_size=1, max_size=10))
def test_every_awaited_request_is_answered_at_its_own_timeout_in_deadline_order(timeouts):
    """Awaited requests share one timer per event loop: whatever order their deadlines come in
    (a shorter timeout after a longer one included), each is refused no sooner than its own
    deadline, and one that expires well before another is answered first, all while the model
    still hangs."""
    release = threading.Event()

    class Hung:
        name = "hung"

        def infer(self, tasks):
            release.wait(60)
            return [InferenceResult(data=t.data) for t in tasks]

    d = dispatcher(Hung())

    async def one(i: int, timeout: float):
        now = monotonic()
        with pytest.raises((TimedOut, Overloaded)):
            await d.submit_async(InferenceTask(data=i), now, now + timeout)
        return now + timeout, monotonic()

    async def every():
        return await asyncio.gather(*(one(i, t) for i, t in enumerate(timeouts)))

    try:
        answers = asyncio.run(every())
        assert not release.is_set()
    finally:
        release.set()
        d.close()
    for deadline, answered in answers:
        assert answered >= deadline
    for first, later in itertools.permutations(answers, 2):
        if first[0] + 0.05 < later[0]:
            assert first[1] <= later[1]


def test_the_runner_survives_a_broken_batch():
    d = dispatcher(FakeAPI(fail=True))
    result = submit(d, 1)
    assert isinstance(result, InferenceError) and result.http_status == 500
    d.api.fail = False
    assert submit(d, 2).data == 2
    d.close()


def test_latency_model_fits_fixed_and_per_row_cost():
    m = LatencyModel()
    for n in (1, 5, 10, 20, 3, 8):
        m.observe(n, 0.002 + 0.0005 * n)
    assert m.a == pytest.approx(0.002, rel=1e-6) and m.b == pytest.approx(0.0005, rel=1e-6)
    assert m.predict(40) == pytest.approx(0.022)


def test_latency_model_with_one_batch_size_splits_the_mean():
    m = LatencyModel()
    for _ in range(5):
        m.observe(4, 0.008)
    assert m.predict(4) == pytest.approx(0.008) and m.a == pytest.approx(0.004)


def test_latency_model_follows_drift():
    m = LatencyModel()
    for n in (1, 10) * 5:
        m.observe(n, 0.001 * n)
    for n in (1, 10) * 30:
        m.observe(n, 0.010 + 0.001 * n)
    assert m.a == pytest.approx(0.010, rel=0.05)


def test_arrival_rate():
    r = ArrivalRate()
    for i in range(50):
        r.arrived(i * 0.01, 1)
    assert r.per_second == pytest.approx(100)


def test_an_idle_model_serves_a_late_request_and_a_batch_keeps_its_newest():
    """Work conservation beats deadlines: late beats never when nothing else would run."""
    api = FakeAPI(delay=0.2)
    d = dispatcher(api, latency=0.05)
    blocker = threading.Thread(target=submit, args=(d, "block"))
    blocker.start()
    time.sleep(0.05)
    with ThreadPoolExecutor(3) as pool:  # queued behind the blocker, all past the 50 ms bound when it ends
        futures = []
        for i in range(3):
            futures.append(pool.submit(submit, d, i))
            time.sleep(0.01)
        outcomes = [f.exception() or f.result().data for f in futures]
    blocker.join()
    assert [type(o) for o in outcomes[:2]] == [Overloaded, Overloaded] and outcomes[2] == 2
    assert api.calls == [["block"], [2]]
    long_ago = monotonic() - 10
    assert d.submit(InferenceTask(data="late"), long_ago, long_ago + 60).data == "late"  # idle: served
    d.close()
