"""InferenceAPI: one pipeline from tasks to results, shared by direct calls, `bento run` and the server."""
from __future__ import annotations

import contextlib
import inspect
import logging
import re
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import attrs

from .adapters import BaseInputAdapter, BaseOutputAdapter
from .exceptions import APIError, BadInput, InvalidArgument
from .labels import is_name
from .types import InferenceError, InferenceTask

__all__ = ["APIConfig", "InferenceAPI", "failures_reported_elsewhere"]

log = logging.getLogger(__name__)

_ROUTE = re.compile(r"[A-Za-z0-9_\-./]+")
DEFAULT_MAX_BATCH_SIZE = 4000
DEFAULT_MAX_LATENCY_MS = 10000


@attrs.frozen(kw_only=True)
class APIConfig:
    """What `@api(...)` declared, checked when the class is defined."""

    func: Callable = attrs.field(repr=False)
    input: BaseInputAdapter
    output: Optional[BaseOutputAdapter] = None
    batch: bool = False
    name: str
    route: str
    doc: str = ""
    mb_max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    mb_max_latency: int = DEFAULT_MAX_LATENCY_MS

    @classmethod
    def declare(cls, func: Callable, *, input: Any, output: Any, batch: bool, api_name: Optional[str],
                route: Optional[str], api_doc: Optional[str], mb_max_batch_size: int, mb_max_latency: int) -> "APIConfig":
        name = api_name or func.__name__
        if not is_name(name):
            raise InvalidArgument(f"API name {name!r} must be a Python identifier of at most 128 characters")
        if not isinstance(input, BaseInputAdapter):
            raise InvalidArgument(f"@api(input=...) of '{name}' must be an input adapter instance, got {input!r}")
        if output is not None and not isinstance(output, BaseOutputAdapter):
            raise InvalidArgument(f"@api(output=...) of '{name}' must be an output adapter instance, got {output!r}")
        adapter = input.type_name()
        if batch and not input.BATCH_MODE_SUPPORTED:
            raise InvalidArgument(f"API '{name}': {adapter} does not support batch=True; use batch=False")
        if not batch and not input.SINGLE_MODE_SUPPORTED:
            raise InvalidArgument(f"API '{name}': {adapter} supports only batch=True")
        route = (route if route is not None else name).strip("/")
        if not route or not _ROUTE.fullmatch(route) or ".." in route:
            raise InvalidArgument(f"API '{name}': route {route!r} may hold only letters, digits and -_./")
        if int(mb_max_batch_size) < 1 or int(mb_max_latency) < 1:
            raise InvalidArgument(f"API '{name}': mb_max_batch_size and mb_max_latency must be positive")
        return cls(func=func, input=input, output=output, batch=bool(batch), name=name, route=route,
                   doc=inspect.cleandoc(api_doc or func.__doc__ or ""),
                   mb_max_batch_size=int(mb_max_batch_size), mb_max_latency=int(mb_max_latency))


class InferenceAPI:
    """An API of one service instance: runs its function over tasks with the batch semantics
    of SPEC §2 and returns one InferenceResult/InferenceError per task, in order."""

    def __init__(self, service: Any, config: APIConfig, output: BaseOutputAdapter) -> None:
        self.service = service
        self.config = config
        self.output_adapter = output
        self._func = config.func.__get__(service, type(service))
        params = [
            p for p in inspect.signature(config.func).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ][1:]
        self._wants_tasks = len(params) > config.input.num_args

    # -- declared properties
    name = property(lambda self: self.config.name)
    route = property(lambda self: self.config.route)
    batch = property(lambda self: self.config.batch)
    doc = property(lambda self: self.config.doc)
    input_adapter = property(lambda self: self.config.input)
    mb_max_batch_size = property(lambda self: self.config.mb_max_batch_size)
    mb_max_latency = property(lambda self: self.config.mb_max_latency)

    def __repr__(self) -> str:
        return f"<InferenceAPI {self.name} input={self.input_adapter!r} batch={self.batch}>"

    # -- the pipeline
    def infer(self, tasks: Sequence[InferenceTask]) -> list:
        """One InferenceResult/InferenceError per task, in order; a failing task fails alone.

        The one place where tasks become calls of the API function, for every caller (the
        server's batcher, `bento run`, Spark, direct calls): tasks whose adapter `group_key`
        differs are called apart, and a call that fails for several tasks is re-run in halves
        until only the tasks that fail on their own fail."""
        done = self._infer(tasks, split_rows=False)
        return [t.error if t.is_discarded else done[id(t)][0][1] for t in tasks]

    def infer_rows(self, tasks: Sequence[InferenceTask]) -> list:
        """(task, result) pairs in input order, where a task of several rows whose call failed
        is replaced by its rows (`split_rows`), isolated in turn: an offline run fails only the
        rows that break the function, not the chunk of the file they came in."""
        done = self._infer(tasks, split_rows=True)
        return [pair for t in tasks for pair in ([(t, t.error)] if t.is_discarded else done[id(t)])]

    def _infer(self, tasks: Sequence[InferenceTask], split_rows: bool) -> dict:
        live = [t for t in tasks if not t.is_discarded]
        if not self.batch:
            groups: Iterable[list] = ([t] for t in live)
        else:
            by_key: dict = {}
            for task in live:
                by_key.setdefault(self.input_adapter.group_key(task), []).append(task)
            groups = by_key.values()
        done: dict = {}
        for group in groups:
            done.update(self._isolate(group, split_rows))
        return done

    def _isolate(self, group: list, split_rows: bool) -> dict:
        """id(task) -> [(task, result)] for each task of `group`, failures isolated."""
        outcome = self._call(group)
        if not isinstance(outcome, _Failure):
            return outcome
        live = [t for t in group if not t.is_discarded]
        if len(live) > 1:
            half = len(live) // 2
            return {**self._isolate(live[:half], split_rows), **self._isolate(live[half:], split_rows)}
        if not live:
            return {}
        task = live[0]
        rows = self.input_adapter.split_rows(task) if split_rows and task.rows > 1 else None
        if rows:
            parts = self._isolate(rows, split_rows)
            return {id(task): [pair for row in rows for pair in parts.get(id(row), [(row, row.error)])]}
        return {id(task): [(task, outcome.error_for(self.name, task))]}

    def _call(self, group: list) -> Any:
        """One call of the function over `group`: {id(task): [(task, result)]}, or a _Failure
        when the function (or its contract) failed for the group as a whole."""
        single = not self.batch
        try:
            args = self.input_adapter.extract_user_func_args(group)
            live = [t for t in group if not t.is_discarded]
            if not live:
                return {}
            if len(live) != len(group):
                args = self.input_adapter.extract_user_func_args(live)
            if single:
                args = tuple(a[0] for a in args)
            extra = ((live[0] if single else live),) if self._wants_tasks else ()
            value = self._func(*args, *extra)
            live = [t for t in live if not t.is_discarded]
            if single:
                value = [value] if live else []
            results = self.output_adapter.pack_user_func_return_value(value, live)
        except Exception as e:  # the API's code, or its contract with the adapters: isolated above
            return _Failure(e)
        done: dict = {}
        for task, result in zip(live, results):
            if isinstance(result, InferenceError):
                task.error = result
            else:
                done[id(task)] = [(task, result)]
        return done

    # -- direct Python call
    def __call__(self, *args: Any) -> Any:
        """Call the API as the server would: the same adapters, batching and error handling.

        Returns the function's value (InferenceResult wrappers removed); raises APIError if
        any input failed or was discarded.
        """
        if len(args) != self.input_adapter.num_args:
            raise InvalidArgument(f"API '{self.name}' takes {self.input_adapter.num_args} argument(s), got {len(args)}")
        tasks = self.input_adapter.from_python(args, self.batch)
        results = self.infer(tasks)
        failed = [(i, r) for i, r in enumerate(results) if isinstance(r, InferenceError)]
        if failed and len(failed) == len(results) and len({r.err_msg for _, r in failed}) == 1:
            raise APIError(failed[0][1].err_msg)
        if failed:
            detail = "; ".join(f"input {i}: {r.err_msg} ({r.http_status})" for i, r in failed[:5])
            raise APIError(f"API '{self.name}' failed for {len(failed)} of {len(results)} inputs: {detail}")
        values = [self.output_adapter.to_python(r) for r in results]
        if not self.batch or (len(tasks) == 1 and tasks[0].batch is not None):
            return values[0]  # one value, or one DataFrame of rows: its results as one value
        return values


@attrs.frozen
class _Failure:
    """A call that failed for its whole group; its exception says why."""

    exception: Exception

    def error_for(self, api: str, task: InferenceTask) -> InferenceError:
        """The error of a task that fails alone, logged with its request id. The client sees the
        message of a BadInput the API raised on purpose, never the text of another exception."""
        e = self.exception
        rid = task.request_id or "-"
        if isinstance(e, BadInput):  # the input is wrong, not the code (e.g. a model rejected its shape)
            return InferenceError(str(e), e.http_status)
        if isinstance(e, APIError):
            log.error("API '%s' broke its contract (request %s): %s", api, rid, e)
            return InferenceError(f"API '{api}': {e}", 500)
        log.error("API '%s' raised %s (request %s)", api, type(e).__name__, rid, exc_info=e)
        return InferenceError(f"API '{api}' failed: {type(e).__name__}", 500, cause=str(e))


@contextlib.contextmanager
def failures_reported_elsewhere() -> Iterator[None]:
    """Quiet the pipeline's log of failing tasks (a traceback each, what a server keeps) where
    each failure's cause is reported with it: `bento run`'s error lines, Spark's error column."""
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)
