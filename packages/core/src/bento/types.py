"""The values that flow through an inference API: tasks in, results or errors out."""
from __future__ import annotations

import io
from typing import Any, Mapping, Optional, Sequence

import attrs

__all__ = ["InferenceTask", "InferenceResult", "InferenceError", "FileLike"]


@attrs.frozen
class InferenceResult:
    """The successful outcome for one task; `data` is what the output adapter serialises.

    `wrapped`: Bento wrapped a plain return value. A result the API built itself whose `data`
    is str or bytes is sent as the response body, verbatim (as BentoML 0.13 did)."""

    data: Any = None
    http_status: int = 200
    http_headers: Mapping[str, str] = attrs.field(factory=dict)
    wrapped: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class InferenceError:
    """The failed outcome for one task: it fails only its own response.

    `cause`: the message of the exception the API's own code raised, for the logs and the
    owner of an offline job (`bento run`, Spark); an HTTP client sees only `err_msg`."""

    err_msg: str = ""
    http_status: int = 500
    http_headers: Mapping[str, str] = attrs.field(factory=dict)
    cause: str = attrs.field(default="", kw_only=True)

    def describe(self) -> str:
        """The message with its cause, on one line (what an offline job reports)."""
        text = f"{self.err_msg}: {self.cause}" if self.cause else self.err_msg
        return " ".join(text.split())


@attrs.define(eq=False)
class InferenceTask:
    """One input (one HTTP request, one CLI item or one Python value) on its way to the model.

    `batch` is the number of rows the task carries when an adapter packs many rows into one
    task (a DataframeInput request of N rows); None means the task is a single item.
    """

    data: Any = None
    http_headers: Mapping[str, str] = attrs.field(factory=dict)
    cli_args: Optional[Sequence[str]] = None
    batch: Optional[int] = None
    request_id: Optional[str] = None
    error: Optional[InferenceError] = None

    @property
    def is_discarded(self) -> bool:
        return self.error is not None

    def discard(self, http_status: int = 400, err_msg: str = "") -> None:
        """Drop this task: it gets `err_msg` with `http_status` and takes no result slot."""
        self.error = InferenceError(err_msg=err_msg, http_status=http_status)

    @property
    def rows(self) -> int:
        """How many results this task expects from a batch call."""
        return 1 if self.batch is None else self.batch


class FileLike:
    """A file handed to an API: `.name`, `.bytes`, `.read()`; backed by bytes or a path."""

    def __init__(self, name: str = "", data: bytes | None = None, path: str | None = None) -> None:
        if data is None and path is None:
            raise ValueError("FileLike needs data or path")
        self.name = name
        self._data = data
        self._path = path
        self._stream: io.BufferedIOBase | None = None

    @property
    def bytes(self) -> bytes:
        if self._data is None:
            with open(self._path, "rb") as f:  # type: ignore[arg-type]
                self._data = f.read()
        return self._data

    @property
    def stream(self) -> io.BufferedIOBase:
        if self._stream is None:
            self._stream = io.BytesIO(self.bytes)
        return self._stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def __repr__(self) -> str:
        return f"FileLike(name={self.name!r})"
