"""The input files `bento run` hands adapters: read, decompressed, streamed into batches of tasks.

Progress: once `bento run` has finished a batch (asked for the next one), the adapter calls
`cli.on_progress(n)` with the input-file bytes that batch consumed, out of `cli_progress_total`.
"""
from __future__ import annotations

import contextlib
import importlib
import os
from typing import IO, Any, Callable, Iterable, Iterator, Optional

import attrs

from bento.adapters import CliInput
from bento.exceptions import BadInput
from bento.types import InferenceTask

from .http_body import parse_json

__all__ = ["ByteProgress", "errors_about", "all_input_files", "total_bytes", "file_format", "open_input",
           "open_decompressed", "read_bytes", "read_text", "iter_json_lines", "batch_tasks", "Unreadable"]

# Input files with these endings are decompressed while read (FileInput/ImageInput get them as is).
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class ByteProgress:
    """Bytes consumed so far across the input files (what `cli.on_progress` is told about)."""

    def __init__(self) -> None:
        self.finished = 0

    def at(self, stream: Optional[IO[bytes]] = None) -> int:
        """Bytes of finished files plus the read position in `stream` (the file being streamed)."""
        return self.finished + (stream.tell() if stream is not None else 0)

    def finish(self, path: str) -> int:
        self.finished += os.path.getsize(path)
        return self.finished


@contextlib.contextmanager
def errors_about(label: str) -> Iterator[None]:
    """Prefix BadInput messages raised while reading `label` (a path, a form field) with it."""
    try:
        yield
    except BadInput as e:
        raise BadInput(f"{label}: {e}") from None


def all_input_files(cli: CliInput) -> list[str]:
    return [p for paths in cli.input_files.values() for p in paths]


def total_bytes(cli: CliInput) -> Optional[int]:
    """Size of all input files that exist (missing ones are reported when read), or None."""
    paths = [p for p in all_input_files(cli) if os.path.isfile(p)]
    return sum(os.path.getsize(p) for p in paths) if paths else None


def file_format(path: str) -> Optional[str]:
    """"csv", "json" or "jsonl" from the file's extension (after any compression suffix)."""
    stem, ext = os.path.splitext(path.lower())
    if ext in _COMPRESSION:
        ext = os.path.splitext(stem)[1]
    return _FORMATS.get(ext)


def open_input(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise BadInput("file not found") from None
    except OSError as e:
        raise BadInput(f"cannot read the file: {e.strerror}") from None


@contextlib.contextmanager
def open_decompressed(path: str) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """The file and a stream of its content, decompressed when the path ends .gz, .bz2 or .xz.

    Read errors inside the block, a corrupt or not-compressed-at-all file above all, become
    BadInput (each decompressor has its own exception, some not an OSError)."""
    ext = os.path.splitext(path.lower())[1]
    module = _COMPRESSION.get(ext)
    with open_input(path) as raw:
        try:
            yield raw, importlib.import_module(module).open(raw) if module else raw
        except _read_errors() as e:
            raise BadInput(f"cannot decompress {ext}: {e}" if module else f"cannot read the file: {e}") from None


def _read_errors() -> tuple:
    """What reading (and decompressing) a file raises; evaluated only when an exception is matched."""
    import lzma
    import zlib

    return OSError, EOFError, zlib.error, lzma.LZMAError


def read_bytes(path: str) -> bytes:
    with open_decompressed(path) as (_, stream):
        return stream.read()


def read_text(path: str) -> str:
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadInput(f"text is not valid utf-8 (byte {e.start})") from None


@attrs.frozen
class Unreadable:
    """An item of an input file that cannot be read (a line that is not JSON, a value its
    schema refuses): it becomes a task that fails alone, naming its line, and the run goes on.
    `rows`: 1 where the file's items are rows (DataframeInput), None where they are items."""

    message: str
    rows: Optional[int] = None


def iter_json_lines(path: str, progress: ByteProgress, check: Callable[[Any], Any] = lambda v: v,
                    rows: Optional[int] = None) -> Iterator[tuple[Any, int]]:
    """Each value of a JSON Lines file (`check`ed), streamed, with the progress through the file
    after it; a line that fails is an `Unreadable` naming it."""
    with open_decompressed(path) as (raw, stream):
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    value = check(parse_json(line))
                except BadInput as e:
                    value = Unreadable(f"{path}: line {number}: {e}", rows)
                yield value, progress.at(raw)
    progress.finish(path)


def batch_tasks(items: Iterable[tuple[Any, Optional[int], Optional[int]]], cli: CliInput
                ) -> Iterator[list[InferenceTask]]:
    """Group `(data, rows, progress)` items into batches of about `cli.batch_size` rows, reporting
    each batch's bytes to `cli.on_progress` after the caller is done with it."""
    batch: list[InferenceTask] = []
    rows = reported = done = 0
    for data, task_rows, progress in items:
        task = InferenceTask(data=data, batch=task_rows, cli_args=tuple(cli.cli_args))
        if isinstance(data, Unreadable):
            task.discard(400, data.message)
        batch.append(task)
        done = done if progress is None else progress
        rows += 1 if task_rows is None else task_rows
        if rows >= cli.batch_size:
            yield batch
            reported = _report(cli, reported, done)
            batch, rows = [], 0
    if batch:
        yield batch
        _report(cli, reported, done)


def _report(cli: CliInput, reported: int, done: int) -> int:
    if done > reported:
        cli.on_progress(done - reported)
    return done
