"""The batcher contract: how one API's tasks are grouped into calls of `InferenceAPI.infer`.

Batchers are plugins (`register_batchers`): bento-server's adaptive batcher serves HTTP,
core's `offline` batcher serves `bento run`. A batcher only decides *which* tasks share a call
and *when*; what a call does with them (groups, isolation of failures) is the API's pipeline.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional, Protocol

import attrs

from .markers import hookimpl
from .types import InferenceTask

__all__ = ["BatchPolicy", "BatchObserver", "Batcher", "OfflineBatcher", "register_batchers"]


@attrs.frozen(kw_only=True)
class BatchPolicy:
    """What a batcher may do with one API's tasks.

    `max_batch_rows`: rows per call (a task of N rows is never split); `max_latency`: seconds
    from a task's arrival it should be answered within (None: no deadline, offline);
    `grouping`: False calls the function once per task; `max_queue_rows`: rows waiting beyond
    which new tasks are refused (None: no bound)."""

    max_batch_rows: int = attrs.field(validator=attrs.validators.ge(1))
    max_latency: Optional[float] = None
    grouping: bool = True
    max_queue_rows: Optional[int] = None


class BatchObserver(Protocol):
    """What a batcher reports (bento-server turns it into Prometheus metrics)."""

    def rejected(self, reason: str) -> None: ...

    def queued(self, rows: int) -> None: ...

    def waited(self, seconds: float) -> None: ...

    def ran(self, rows: int, seconds: float) -> None: ...


class _Unobserved:
    def rejected(self, reason: str) -> None:
        pass

    def queued(self, rows: int) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def ran(self, rows: int, seconds: float) -> None:
        pass


class Batcher:
    """Base of batchers, constructed as `cls(api, policy, observer)` from its registered name.

    Online (a server): request threads call `submit`, which returns the task's result or
    raises `bento.exceptions.Overloaded` (refused before compute) / `TimedOut`; a server on an
    event loop (an ASGI engine) awaits `submit_async` instead, with the same contract. Offline
    (`bento run`): `run` takes an iterable of task batches and yields (task, result) pairs in
    order. The defaults call the API at once, one submitted task per call and one batch per call."""

    def __init__(self, api: object, policy: BatchPolicy, observer: Optional[BatchObserver] = None) -> None:
        self.api = api
        self.policy = policy
        self.observer = observer or _Unobserved()

    def submit(self, task: InferenceTask, arrived: float, deadline: float,
               disconnected: Optional[Callable[[], bool]] = None) -> object:
        """The result of `task` (called from a request thread)."""
        (result,) = self.api.infer([task])
        return result

    async def submit_async(self, task: InferenceTask, arrived: float, deadline: float,
                           disconnected: Optional[Callable[[], bool]] = None) -> object:
        """`submit`, awaited on an event loop. The default runs `submit` in the loop's default
        executor, so a batcher that only blocks works under every engine, with at most that
        executor's threads waiting at once; a batcher that can wake a coroutine overrides it."""
        import asyncio  # only servers on an event loop pay for it

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.submit, task, arrived, deadline, disconnected)

    def run(self, batches: Iterable[list]) -> Iterator[tuple]:
        """(task, result) pairs, in order; a task of several rows whose call failed comes back
        as its rows, each with its own result."""
        for tasks in batches:
            yield from self.api.infer_rows(tasks)

    def close(self, timeout: float = 5.0) -> None:
        """Finish what was submitted, then release threads and queues."""


class OfflineBatcher(Batcher):
    """`bento run`'s batcher: fills calls up to `max_batch_rows` rows from the input's batches,
    no deadlines, no refusals."""

    def run(self, batches: Iterable[list]) -> Iterator[tuple]:
        held: list = []
        rows = 0
        for tasks in batches:
            for task in tasks:
                if held and rows + task.rows > self.policy.max_batch_rows:
                    yield from self.api.infer_rows(held)
                    held, rows = [], 0
                held.append(task)
                rows += task.rows
        if held:
            yield from self.api.infer_rows(held)


@hookimpl(trylast=True)
def register_batchers(register: Callable[[str, type], None]) -> None:
    register("offline", OfflineBatcher)
