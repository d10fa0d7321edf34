"""The `adaptive` batcher: micro-batching in process, one runner thread per API, fed by the
request threads of a WSGI engine (`submit` blocks) or the coroutines of an ASGI engine
(`submit_async` awaits), registered through `register_batchers`; `[batching] batcher` picks it.

Algorithm (docs/serving.md has the long form):
* Work-conserving: when the model is idle, the runner takes whatever is queued at once, so a
  lone request adds no waiting. A batch is what queued while the previous batch ran, in FIFO
  order, up to `max_batch_rows` rows; a request of N rows (DataframeInput) is never split.
* An online latency model t(n) = a + b*n and the arrival rate r decide whether a short wait
  pays: at steady state a batch holds n* = r*a / (1 - r*b) rows; with fewer queued, the runner
  waits for them at most a (the fixed cost it saves), never past the oldest request's deadline.
* Admission: a request whose deadline (arrival + max latency) cannot be met given the running
  batch, the rows queued ahead and the model is refused at once (503 + Retry-After); one that
  became hopeless while queued is refused before compute, as is one whose client left.
* Work conservation beats deadlines: an idle model takes a late request rather than refuse it,
  and a batch keeps its newest item even when all are late, so a burst that outran every
  deadline is still served (the newest first), never refused as a whole.
Isolation of failures is the API's (`InferenceAPI.infer`), not the batcher's. The runner, not
the request thread, calls the model, so a hung function cannot keep a request from answering
504 at its timeout. A batch's waiting coroutines are woken with one call into their event loop,
not one per request: each wake-up of the loop costs a GIL hand-over.
"""
from __future__ import annotations

import logging
import threading
import weakref
from asyncio import get_running_loop
from collections import deque
from time import monotonic
from typing import Any, Callable, Optional

from bento.batching import Batcher, BatchObserver, BatchPolicy
from bento.exceptions import Overloaded, TimedOut
from bento.types import InferenceError

from .deadlines import Deadlines
from .latency import ArrivalRate, LatencyModel

__all__ = ["AdaptiveBatcher"]

log = logging.getLogger(__name__)

_QUEUED, _RUNNING, _DONE, _ABANDONED = range(4)


class _Item:
    """A submitted task and what became of it; subclasses say how its submitter waits."""

    __slots__ = ("task", "rows", "arrived", "deadline", "disconnected", "state", "result", "error")
    loop: Any = None  # the event loop of a waiting coroutine

    def __init__(self, task: Any, arrived: float, deadline: float, disconnected: Optional[Callable]) -> None:
        self.task = task
        self.rows = task.rows
        self.arrived = arrived
        self.deadline = deadline
        self.disconnected = disconnected
        self.state = _QUEUED
        self.result = None
        self.error: Optional[Exception] = None

    def outcome(self) -> Any:
        """The delivered result, or the refusal it got instead."""
        if self.error is not None:
            raise self.error
        return self.result


class _Waiter(_Item):
    """Submitted by a thread that blocks on a lock until its result is there."""

    __slots__ = ("_lock",)

    def __init__(self, task: Any, arrived: float, deadline: float, disconnected: Optional[Callable]) -> None:
        super().__init__(task, arrived, deadline, disconnected)
        self._lock = threading.Lock()
        self._lock.acquire()

    def wait(self, seconds: float) -> bool:
        return seconds > 0 and self._lock.acquire(timeout=seconds)

    def wake(self) -> None:
        self._lock.release()


class _Awaiter(_Item):
    """Submitted by a coroutine that awaits `future`: True once delivered, False at its timeout."""

    __slots__ = ("future", "loop")

    def __init__(self, task: Any, arrived: float, deadline: float, disconnected: Optional[Callable], loop: Any) -> None:
        super().__init__(task, arrived, deadline, disconnected)
        self.loop = loop
        self.future = loop.create_future()


def _timed_out(future: Any) -> None:
    future.set_result(False)


def _answered(future: Any) -> bool:
    return future.done()


def _resolve(futures: list, value: bool = True) -> None:
    """Complete the futures not completed yet (on their loop's thread)."""
    for future in futures:
        if not future.done():
            future.set_result(value)


def _wake(items: list) -> None:
    """Wake the submitters of delivered items: threads one by one, coroutines one call per loop."""
    loops: dict = {}
    for item in items:
        if item.loop is None:
            item.wake()
        else:
            loops.setdefault(item.loop, []).append(item.future)
    for loop, futures in loops.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures)
        except RuntimeError:  # the loop was closed: no one awaits these any more
            pass


class AdaptiveBatcher(Batcher):
    """Runs one API's tasks on a runner thread, grouping them into batches when the policy's
    `grouping` is on; without `max_latency` a task's deadline is its timeout."""

    def __init__(self, api: Any, policy: BatchPolicy, observer: Optional[BatchObserver] = None) -> None:
        super().__init__(api, policy, observer)
        self.grouping = policy.grouping
        self.max_batch_rows = policy.max_batch_rows if policy.grouping else 1
        self.max_latency = policy.max_latency if policy.max_latency is not None else float("inf")
        self.max_queue_rows = policy.max_queue_rows
        self.model = LatencyModel()
        self.rate = ArrivalRate()
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._running_rows = 0
        self._running_since = 0.0
        self._cv = threading.Condition(threading.Lock())
        self._waiting = False  # the runner sleeps on the condition (idle, or waiting for more rows)
        self._timeouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> Deadlines
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"bento-runner-{api.name}", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- request threads and coroutines
    def submit(self, task: Any, arrived: float, timeout_at: float,
               disconnected: Optional[Callable[[], bool]] = None) -> Any:
        """The InferenceResult/InferenceError of `task`; raises Overloaded (503) or TimedOut (504)."""
        item = _Waiter(task, arrived, min(arrived + self.max_latency, timeout_at), disconnected)
        self._enqueue(item)
        if not item.wait(timeout_at - monotonic()):
            self._expire(item)
        return item.outcome()

    async def submit_async(self, task: Any, arrived: float, timeout_at: float,
                           disconnected: Optional[Callable[[], bool]] = None) -> Any:
        """`submit` for a coroutine: it awaits a future the runner completes, holding no thread."""
        loop = get_running_loop()
        item = _Awaiter(task, arrived, min(arrived + self.max_latency, timeout_at), disconnected, loop)
        self._enqueue(item)
        timeouts = self._timeouts.get(loop)
        if timeouts is None:
            timeouts = self._timeouts[loop] = Deadlines(_timed_out, _answered)
        timeouts.add(timeout_at, item.future)
        delivered = await item.future
        if not delivered:
            self._expire(item)
        return item.outcome()

    def _enqueue(self, item: _Item) -> None:
        """Admit `item` into the queue, or raise Overloaded."""
        now = monotonic()
        with self._cv:
            if self._closed:
                raise Overloaded("the server is shutting down")
            if self.max_queue_rows is not None and self._queue and self._queued_rows + item.rows > self.max_queue_rows:
                self.observer.rejected("queue_full")
                raise Overloaded(f"the queue of API '{self.api.name}' is full")
            if self._hopeless(now, item):
                self.observer.rejected("deadline")
                raise Overloaded(f"API '{self.api.name}' cannot answer within its latency bound right now")
            self._queue.append(item)
            self._queued_rows += item.rows
            self.rate.arrived(now, item.rows)
            self.observer.queued(self._queued_rows)
            if self._waiting:  # a busy runner looks at the queue anyway when its batch is done
                self._cv.notify()

    def _expire(self, item: _Item) -> None:
        """`item`'s timeout passed: raise unless its result was delivered meanwhile."""
        with self._cv:
            if item.state == _QUEUED:
                self._queue.remove(item)
                self._queued_rows -= item.rows
                self.observer.rejected("timeout")
                raise Overloaded("the request waited for the model longer than the server timeout")
            if item.state == _RUNNING:
                item.state = _ABANDONED
                self.observer.rejected("timeout")
                raise TimedOut("the API did not answer within the server timeout")

    def _hopeless(self, now: float, item: _Item) -> bool:
        """True when the item would finish after its deadline, by the latency model (lock held).
        An idle model takes any request: refusing cannot make it faster, and late beats never."""
        model = self.model
        if not (self._queue or self._running_rows):
            return False
        if now >= item.deadline:
            return True
        if not model.ready:
            return False
        busy = 0.0
        if self._running_rows:
            elapsed = now - self._running_since
            expected = model.predict(self._running_rows)
            # Overdue work is assumed to run as much longer again: a hung model sheds load.
            busy = expected - elapsed if elapsed <= expected else elapsed - expected
        rows = self._queued_rows + item.rows
        calls = -(-rows // self.max_batch_rows) if self.grouping else len(self._queue) + 1
        return now + busy + calls * model.a + rows * model.b > item.deadline

    # ---------------------------------------------------------------- runner thread
    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._execute(batch)
            except BaseException:  # the runner must outlive anything a batch does
                log.exception("API '%s': batch of %d failed outside the API", self.api.name, len(batch))
                self._deliver(batch, [InferenceError("internal server error", 500)] * len(batch))

    def _next_batch(self) -> Optional[list]:
        with self._cv:
            cork_until = None
            while True:
                if not self._queue:
                    if self._closed:
                        return None
                    self._sleep(None)
                    continue
                now = monotonic()
                wait = self._cork_time(now)
                if cork_until is None:
                    cork_until = now + wait
                if wait <= 0 or now >= cork_until or self._closed:
                    break
                self._sleep(min(wait, cork_until - now))
            batch = self._take()
        return self._admit(batch)

    def _sleep(self, seconds: Optional[float]) -> None:
        self._waiting = True
        self._cv.wait(seconds)
        self._waiting = False

    def _cork_time(self, now: float) -> float:
        """How long to wait for more rows before running what is queued (lock held)."""
        model = self.model
        rate = self.rate.per_second
        if not self.grouping or not model.ready or rate <= 0:
            return 0.0
        load = rate * model.b
        target = self.max_batch_rows if load >= 1 else min(self.max_batch_rows, rate * model.a / (1 - load))
        missing = target - self._queued_rows
        if missing < 1:
            return 0.0
        slack = self._queue[0].deadline - now - model.predict(target)
        return max(0.0, min(missing / rate, model.a, slack))

    def _take(self) -> list:
        """FIFO items up to the row limit; the first always goes, whatever its size (lock held)."""
        queue = self._queue
        first = queue.popleft()
        batch, rows = [first], first.rows
        while queue and rows + queue[0].rows <= self.max_batch_rows:
            item = queue.popleft()
            batch.append(item)
            rows += item.rows
        for item in batch:
            item.state = _RUNNING
        self._queued_rows -= rows
        self._running_rows = rows
        self._running_since = monotonic()
        self.observer.queued(self._queued_rows)
        return batch

    def _admit(self, batch: list) -> list:
        """The items still worth computing; the others are answered now.

        Deadlines grow in FIFO order, so the oldest items are the ones a batch can miss: they are
        dropped from the front while the batch would finish after their deadline. The newest
        item is always kept, late or not: the model never sits idle while requests wait, and its
        latency model keeps learning even when it predicts too slow."""
        now = monotonic()
        dropped = []
        live = []
        for item in batch:
            if item.disconnected is not None and item.disconnected():
                self.observer.rejected("disconnected")
                item.error = Overloaded("client disconnected")
                dropped.append(item)
            else:
                live.append(item)
        rows = sum(i.rows for i in live)
        while len(live) > 1 and (now >= live[0].deadline or (
                self.model.ready and now + self.model.predict(rows) > live[0].deadline)):
            item = live.pop(0)
            rows -= item.rows
            self.observer.rejected("deadline")
            item.error = Overloaded(f"API '{self.api.name}' could not start this request in time")
            dropped.append(item)
        for item in live:
            self.observer.waited(now - item.arrived)
        if dropped:
            self._deliver(dropped, [None] * len(dropped), running_rows=rows)
        return live

    def _execute(self, batch: list) -> None:
        if not batch:
            return
        tasks = [item.task for item in batch]
        rows = sum(item.rows for item in batch)
        start = monotonic()
        results = self.api.infer(tasks)
        seconds = monotonic() - start
        self.model.observe(rows, seconds)
        self.observer.ran(rows, seconds)
        self._deliver(batch, results)

    def _deliver(self, batch: list, results: list, running_rows: int = 0) -> None:
        """Hand results to their waiting submitters; `running_rows` is what still computes."""
        delivered = []
        with self._cv:
            self._running_rows = running_rows
            for item, result in zip(batch, results):
                if item.state == _RUNNING:
                    item.state = _DONE
                    item.result = result
                    delivered.append(item)
        _wake(delivered)

    # ---------------------------------------------------------------- lifecycle
    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then stop the runner."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout)

