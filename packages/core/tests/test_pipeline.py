"""Core's one inference pipeline: groups, isolation of failures, rows split out for offline runs,
and the offline batcher `bento run` uses. Property-based where the rule holds for every input."""
from __future__ import annotations

import asyncio
import io
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_adapters import ToyJsonInput, ToyRowsInput

from bento import BentoService, api
from bento.adapters import CliInput
from bento.batching import Batcher, BatchPolicy, OfflineBatcher
from bento.exceptions import BadInput
from bento.runner import run_api
from bento.types import InferenceError, InferenceResult, InferenceTask


class TypedInput(ToyJsonInput):
    """Tasks of different JSON types must not share a call."""

    def group_key(self, task):
        return type(task.data).__name__


class SplittableRows(ToyRowsInput):
    def split_rows(self, task):
        return [InferenceTask(data=[row], batch=1, request_id=task.request_id) for row in task.data]


CALLS: list = []


class Pipeline(BentoService):
    @api(input=TypedInput(), batch=True)
    def kinds(self, items):
        CALLS.append(items)
        return [f"{type(items[0]).__name__}:{len(items)}" for _ in items]

    @api(input=ToyJsonInput(), batch=True)
    def strict(self, items):
        """Raises for any batch holding a negative number; BadInput for a string."""
        for x in items:
            if isinstance(x, str):
                raise BadInput(f"{x!r} is not a number")
            if x < 0:
                raise ValueError(f"negative: {x}")
        return [x * 10 for x in items]

    @api(input=SplittableRows(), batch=True)
    def rows(self, rows):
        if any(r[0] < 0 for r in rows):
            raise ValueError("a negative row")
        return [r[0] * 10 for r in rows]


def _outcome(result):
    return result.data if isinstance(result, InferenceResult) else (result.http_status, result.err_msg)


def test_tasks_of_different_groups_are_called_apart_in_one_cycle():
    CALLS.clear()
    results = Pipeline().get_inference_api("kinds").infer([InferenceTask(data=d) for d in (1, "a", 2, "b", 3)])
    assert [r.data for r in results] == ["int:3", "str:2", "int:3", "str:2", "int:3"]
    assert CALLS == [[1, 2, 3], ["a", "b"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 50), st.sampled_from(["x", "y"])), min_size=1, max_size=20))
def test_every_task_gets_what_it_gets_alone(items):
    """The same answer alone or in any batch: a raising item fails alone (500, no message), a
    BadInput from the function is that item's 400, every other item gets its own result."""
    strict = Pipeline().get_inference_api("strict")
    together = [_outcome(r) for r in strict.infer([InferenceTask(data=x) for x in items])]
    alone = [_outcome(strict.infer([InferenceTask(data=x)])[0]) for x in items]
    assert together == alone
    assert len(together) == len(items)


def test_failure_keeps_the_cause_for_its_owner_and_not_in_the_message():
    (result,) = Pipeline().get_inference_api("strict").infer([InferenceTask(data=-3)])
    assert (result.http_status, result.err_msg, result.cause) == (500, "API 'strict' failed: ValueError", "negative: -3")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 9), min_size=1, max_size=6), min_size=1, max_size=6))
def test_infer_rows_fails_only_the_rows_that_break_the_function(tasks_rows):
    rows_api = Pipeline().get_inference_api("rows")
    tasks = [InferenceTask(data=[[v] for v in values], batch=len(values)) for values in tasks_rows]
    got = []
    for task, result in rows_api.infer_rows(tasks):
        got += [_outcome(result)] * task.rows if isinstance(result, InferenceError) else list(result.data)
    flat = [v for values in tasks_rows for v in values]
    assert len(got) == len(flat)  # every row accounted for
    assert got == [(500, "API 'rows' failed: ValueError") if v < 0 else v * 10 for v in flat]


def test_a_batcher_that_only_blocks_is_awaited_on_another_thread_by_default():
    """An ASGI server awaits `submit_async`; a batcher written for threads still works under it,
    and its blocking `submit` never runs on the event loop's thread."""
    seen = {}

    class Blocking(Batcher):
        def submit(self, task, arrived, deadline, disconnected=None):
            seen["thread"] = threading.current_thread()
            return task.data * 2

    async def serve() -> object:
        seen["loop thread"] = threading.current_thread()
        return await Blocking(None, BatchPolicy(max_batch_rows=1)).submit_async(InferenceTask(data=21), 0.0, 1.0)

    assert asyncio.run(serve()) == 42
    assert seen["thread"] is not seen["loop thread"]


def test_the_offline_batcher_fills_calls_up_to_the_row_limit():
    CALLS.clear()
    kinds = Pipeline().get_inference_api("kinds")
    batcher = OfflineBatcher(kinds, BatchPolicy(max_batch_rows=3))
    pairs = list(batcher.run([[InferenceTask(data=i) for i in range(2)], [InferenceTask(data=i) for i in range(4)]]))
    assert len(pairs) == 6 and CALLS == [[0, 1, 0], [1, 2, 3]]


def test_bento_run_names_the_failing_rows_and_goes_on(tmp_path):
    """The CLI's pipeline with row-carrying tasks from a file: failing rows are named, the rest printed."""
    lines = tmp_path / "rows.jsonl"
    lines.write_text("\n".join(str(x) for x in (1, -1, 2, 3, -2)) + "\n")
    out, errors = io.StringIO(), []

    class Offline(BentoService):
        @api(input=ToyJsonInput(), batch=True)
        def strict(self, items):
            return Pipeline.strict.__wrapped__(self, items)

    failed, total = run_api(Offline(), "strict", CliInput(input_files={"": [str(lines)]}, batch_size=10), out,
                            on_error=errors.append)
    assert (failed, total) == (2, 5)
    assert out.getvalue().split() == ["10", "20", "30"]
    assert errors == ["input 2: API 'strict' failed: ValueError: negative: -1 (500)",
                      "input 5: API 'strict' failed: ValueError: negative: -2 (500)"]
