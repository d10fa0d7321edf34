"""bento_server.deadlines: one timer for the due entries of an event loop, and a queue that stays
small when the oldest entry is never settled (a hung model's request) while later ones are."""
from __future__ import annotations

import asyncio
from time import monotonic

from hypothesis import given, settings
from hypothesis import strategies as st

from bento_server.deadlines import Deadlines


class Entry:
    def __init__(self, name: int) -> None:
        self.name = name
        self.settled = False


async def _run(plan: list, hold: float = 0.0) -> tuple:
    """Add one entry per `plan` item (due offset in seconds, settled right after being added);
    return the names acted on, and the largest queue seen against the most entries unsettled at once."""
    acted: list = []
    d = Deadlines(lambda e: acted.append(e.name), lambda e: e.settled)
    start = monotonic()
    entries, largest, peak_unsettled = [], 0, 0
    for name, (offset, settle) in enumerate(plan):
        entry = Entry(name)
        d.add(start + hold + offset, entry)
        entry.settled = settle
        entries.append(entry)
        largest = max(largest, len(d.pending))
        peak_unsettled = max(peak_unsettled, sum(not e.settled for e in entries))
    unsettled = {e.name for e in entries if not e.settled}
    deadline = monotonic() + 60
    while set(acted) != unsettled and monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)  # nothing more is acted on
    return acted, unsettled, largest, peak_unsettled


def test_settled_entries_behind_a_hung_one_do_not_pile_up():
    """The first entry is never settled; 10,000 later ones are settled as soon as they are added
    (requests whose clients went away while the model hangs). Before the sweep, every one of them
    stayed queued until the first was due."""
    plan = [(0.0, False)] + [(i * 1e-6, True) for i in range(1, 10_001)] + [(0.02, False)]
    acted, unsettled, largest, _ = asyncio.run(_run(plan, hold=0.3))
    assert acted == [0, 10_001] and unsettled == {0, 10_001}
    assert largest <= 65, largest


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.05), st.booleans()), max_size=300))
def test_every_unsettled_entry_is_acted_on_once_and_the_queue_stays_within_twice_the_unsettled(plan):
    acted, unsettled, largest, peak_unsettled = asyncio.run(_run(plan))
    assert sorted(acted) == sorted(unsettled)
    assert largest <= max(64, 2 * peak_unsettled) + 1, (largest, peak_unsettled)
