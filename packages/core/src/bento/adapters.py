"""Base classes for input and output adapters: how a request body, CLI flags or a Python value
becomes the arguments of an API function, and how its return value becomes a response.

Concrete adapters live in plugins (bento-adapters, bento-artifacts-tensorflow); core only
fixes the contract so the service model, the server and `bento run` can drive any of them.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Hashable, Iterable, Iterator, Mapping, Optional, Sequence

import attrs

from .exceptions import APIError
from .types import InferenceError, InferenceResult, InferenceTask

__all__ = ["HTTPRequest", "CliInput", "BaseInputAdapter", "BaseOutputAdapter"]


@attrs.frozen
class HTTPRequest:
    """A request as the server hands it to an input adapter: lower-cased headers, whole body."""

    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    request_id: Optional[str] = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def header_param(self, header: str, param: str) -> Optional[str]:
        """A parameter of a header, e.g. `charset` of Content-Type."""
        for part in self.headers.get(header, "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == param:
                return value.strip().strip('"')
        return None


@attrs.frozen
class CliInput:
    """What `bento run` was given: `--input`, `--input-file` (key "") and `--input-file-<name>`.

    Adapters that stream files call `on_progress(n)` with the bytes consumed since the last
    call (the total is `cli_progress_total`); `bento run` turns that into its progress bar.
    """

    input: Optional[str] = None
    input_files: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    format: Optional[str] = None
    batch_size: int = 10_000
    cli_args: Sequence[str] = ()
    on_progress: Callable[[int], None] = attrs.field(default=lambda n: None, eq=False, repr=False)

    @property
    def files(self) -> Sequence[str]:
        return self.input_files.get("", ())


class _Adapter:
    """Shared by input and output adapters: the config written to bento.yml.

    A subclass with options declares them in its own `__init__` and passes them on here; one
    without takes none, so a misspelled or unsupported option is a TypeError naming it when the
    service class is defined, never an option silently ignored."""

    def __init__(self, **config: Any) -> None:
        if config and type(self).__init__ is _Adapter.__init__:
            raise TypeError(f"{self.type_name()}() got unexpected keyword argument(s) "
                            f"{', '.join(sorted(config))}: it takes no options")
        self._config = {k: v for k, v in config.items() if v is not None}

    @property
    def config(self) -> dict:
        """JSON/YAML-safe constructor arguments, recorded in bento.yml and /metadata."""
        return dict(self._config)

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{self.type_name()}({args})"


class BaseInputAdapter(_Adapter):
    """Turns one request / CLI input / Python value into InferenceTasks and a batch into arguments.

    Adapters that can parse a whole micro-batch at once keep the raw payload in `task.data`
    from `from_http_request` and do the real parsing in `extract_user_func_args`.
    """

    BATCH_MODE_SUPPORTED: ClassVar[bool] = True
    SINGLE_MODE_SUPPORTED: ClassVar[bool] = True
    HTTP_METHODS: ClassVar[tuple] = ("POST",)

    @property
    def num_args(self) -> int:
        """How many positional arguments the API function takes (before the tasks argument)."""
        return 1

    def request_schema(self) -> dict:
        """OpenAPI 3 `requestBody.content` for this adapter."""
        return {"application/json": {"schema": {}}}

    def from_http_request(self, request: HTTPRequest) -> InferenceTask:
        raise NotImplementedError

    def from_python(self, args: Sequence[Any], batch: bool) -> list[InferenceTask]:
        """Tasks for a direct call: with `batch`, `args[i]` is a batch (a list, a DataFrame)."""
        if self.num_args != 1:
            raise NotImplementedError
        values = args[0] if batch else [args[0]]
        return [InferenceTask(data=v) for v in values]

    def iter_cli_batches(self, cli: CliInput) -> Iterator[list[InferenceTask]]:
        """Tasks for `bento run`, in batches of about `cli.batch_size` rows (streamed from files)."""
        raise NotImplementedError

    def cli_progress_total(self, cli: CliInput) -> Optional[int]:
        """Total units (bytes) the progress bar counts, or None for no bar."""
        return None

    def extract_user_func_args(self, tasks: Sequence[InferenceTask]) -> tuple:
        """One argument per `num_args`, each covering all (non-discarded) tasks.

        May discard tasks whose data turns out to be malformed; discarded tasks must not
        contribute to the arguments.
        """
        return ([t.data for t in tasks],)

    def group_key(self, task: InferenceTask) -> Hashable:
        """Tasks with equal keys may share one call of the API function; others are called
        apart, in the same batch cycle. An adapter whose argument for a group depends on its
        members (a DataFrame's columns and dtypes) keys on that, so no task's answer depends on
        its batch-mates."""
        return None

    def split_rows(self, task: InferenceTask) -> Optional[list]:
        """One task per row of a task that carries rows (`batch` set), in order, so an offline
        run can fail only the rows that break a call; None when the task cannot be split."""
        return None


class BaseOutputAdapter(_Adapter):
    """Splits a batch return value into per-task results and serialises them."""

    def response_schema(self) -> dict:
        return {"application/json": {"schema": {}}}

    def pack_user_func_return_value(
        self, return_value: Any, tasks: Sequence[InferenceTask]
    ) -> list:
        """One InferenceResult/InferenceError per non-discarded task, in order.

        A task with `batch=N` takes N consecutive items of the return value as its result.
        """
        tasks = [t for t in tasks if not t.is_discarded]
        expected = sum(t.rows for t in tasks)
        try:
            got = len(return_value)
        except TypeError:
            raise APIError(
                f"API returned a {type(return_value).__name__}, expected a sequence of {expected} results"
            ) from None
        if got != expected:
            raise APIError(f"API returned {got} results for {expected} inputs")
        out: list = []
        pos = 0
        for task in tasks:
            if task.batch is None:
                out.append(_as_result(self.item(return_value, pos)))
            else:
                out.append(InferenceResult(data=self.slice(return_value, pos, pos + task.batch), wrapped=True))
            pos += task.rows
        return out

    def item(self, value: Any, i: int) -> Any:
        return value[i]

    def slice(self, value: Any, start: int, stop: int) -> Any:
        return value[start:stop]

    def to_http_body(self, result: InferenceResult) -> tuple[bytes, str]:
        """Body bytes and Content-Type for a successful result."""
        raise NotImplementedError

    def to_python(self, result: InferenceResult) -> Any:
        """What a direct Python call returns for one result."""
        return result.data

    def to_cli_lines(self, result: InferenceResult, fmt: str, per_row: bool, header: bool) -> Iterable[str]:
        """Text lines `bento run` prints for one result (one line per row when `per_row`)."""
        raise NotImplementedError


def _as_result(value: Any) -> Any:
    if isinstance(value, (InferenceResult, InferenceError)):
        return value
    return InferenceResult(data=value, wrapped=True)
