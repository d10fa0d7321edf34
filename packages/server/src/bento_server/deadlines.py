"""Things due at growing times on an event loop, with one timer for all of them.

A timer per request (uvloop's `call_later` and its `cancel`) cost about 4 µs, as much as the
batcher's own work for a request. Requests come in order and wait the same time (one server
timeout, one watch delay), so the oldest entry is always the next due: one timer, armed for it.
Entries settled behind an unsettled oldest one (a hung model's request, while later ones go
away) are swept out whenever the queue has doubled since the last sweep, so it holds at most
about twice the unsettled entries.
"""
from __future__ import annotations

import asyncio
from collections import deque
from time import monotonic
from typing import Any, Callable, Optional

__all__ = ["Deadlines"]

_SWEEP_MIN = 64


class Deadlines:
    """`act(entry)` at each entry's due time (monotonic clock) unless `settled(entry)` by then.

    Call `add` on the event loop's thread; `act` runs there too. An entry due before the last one
    added gets a timer of its own, so order is a speed-up, never a condition."""

    __slots__ = ("act", "settled", "pending", "timer", "sweep_at")

    def __init__(self, act: Callable[[Any], None], settled: Callable[[Any], bool]) -> None:
        self.act = act
        self.settled = settled
        self.pending: deque = deque()  # (due, entry), due times growing
        self.timer: Optional[asyncio.TimerHandle] = None
        self.sweep_at = _SWEEP_MIN

    def add(self, due: float, entry: Any) -> None:
        pending = self.pending
        while pending and self.settled(pending[0][1]):
            pending.popleft()
        if len(pending) >= self.sweep_at:
            pending = self.pending = deque(e for e in pending if not self.settled(e[1]))
            self.sweep_at = max(_SWEEP_MIN, 2 * len(pending))
        loop = asyncio.get_running_loop()
        if pending and due < pending[-1][0]:
            loop.call_later(max(0.0, due - monotonic()), self._act_unless_settled, entry)
            return
        pending.append((due, entry))
        if self.timer is None:
            self.timer = loop.call_later(max(0.0, due - monotonic()), self._due)

    def _act_unless_settled(self, entry: Any) -> None:
        if not self.settled(entry):
            self.act(entry)

    def _due(self) -> None:
        """Act on the entries due by now, then wait for the next one."""
        self.timer = None
        pending = self.pending
        now = monotonic()
        while pending and (pending[0][0] <= now or self.settled(pending[0][1])):
            self._act_unless_settled(pending.popleft()[1])
        if pending:
            self.timer = asyncio.get_running_loop().call_later(pending[0][0] - now, self._due)
