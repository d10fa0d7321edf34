"""InferenceAPI: one pipeline from tasks to results, shared by direct calls, `bento run` and the server."""
from __future__ import annotations

import inspect
import logging
import re
from typing import Any, Callable, Optional, Sequence

import attrs

from .adapters import BaseInputAdapter, BaseOutputAdapter
from .exceptions import APIError, BadInput, InvalidArgument
from .types import InferenceError, InferenceResult, InferenceTask

__all__ = ["APIConfig", "InferenceAPI"]

log = logging.getLogger(__name__)

_ROUTE = re.compile(r"^[A-Za-z0-9_\-./]+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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
        if not _NAME.match(name):
            raise InvalidArgument(f"API name {name!r} must be a Python identifier")
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
        if not route or not _ROUTE.match(route) or ".." in route:
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
        """Results aligned with `tasks`; a failing item fails only its own result."""
        done: dict[int, InferenceResult] = {}
        live = [t for t in tasks if not t.is_discarded]
        if live:
            if self.batch:
                done.update(self._run(live, single=False))
            else:
                for task in live:
                    done.update(self._run([task], single=True))
        return [t.error if t.is_discarded else done[id(t)] for t in tasks]

    def _run(self, tasks: list, single: bool) -> dict:
        """Call the function once over `tasks`; failures are recorded on the tasks themselves."""
        try:
            args = self.input_adapter.extract_user_func_args(tasks)
            live = [t for t in tasks if not t.is_discarded]
            if not live:
                return {}
            if len(live) != len(tasks):
                args = self.input_adapter.extract_user_func_args(live)
            if single:
                args = tuple(a[0] for a in args)
            extra = ((live[0] if single else live),) if self._wants_tasks else ()
            value = self._func(*args, *extra)
            live = [t for t in live if not t.is_discarded]
            if single:
                value = [value] if live else []
            results = self.output_adapter.pack_user_func_return_value(value, live)
        except BadInput as e:  # the input is wrong, not the code (e.g. a model rejected its shape)
            live = [t for t in tasks if not t.is_discarded]
            if len(live) > 1:  # blame only the inputs that fail on their own, not their batch-mates
                return {k: v for task in live for k, v in self._run([task], single).items()}
            results = [InferenceError(str(e), e.http_status)] * len(live)
        except APIError as e:
            log.error("API '%s' broke its contract: %s", self.name, e)
            live = [t for t in tasks if not t.is_discarded]
            results = [InferenceError(f"API '{self.name}': {e}", 500, whole_batch=len(live) > 1)] * len(live)
        except Exception as e:  # user code: the message stays in the log, not in the response
            log.exception("API '%s' raised %s on a batch of %d", self.name, type(e).__name__, len(tasks))
            live = [t for t in tasks if not t.is_discarded]
            results = [InferenceError(f"API '{self.name}' failed: {type(e).__name__}", 500,
                                      whole_batch=len(live) > 1)] * len(live)
        done = {}
        for task, result in zip(live, results):
            if isinstance(result, InferenceError):
                task.error = result
            else:
                done[id(task)] = result
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
