"""The plumbing every bento-adapters input shares, so each adapter only says how to read a value.

Parsing helpers raise `BadInput`; over HTTP that becomes a discarded task (400, or 415 for an
unsupported content type), on the command line it propagates to `bento run`, which prints it.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterator, Optional, Sequence

from bento.adapters import BaseInputAdapter, CliInput, HTTPRequest
from bento.exceptions import BadInput, InvalidArgument
from bento.types import InferenceTask

from .input_files import ByteProgress, Unreadable, batch_tasks, errors_about, total_bytes

__all__ = ["InputAdapter"]


class InputAdapter(BaseInputAdapter):
    """Base of the bento-adapters inputs: HTTP errors as discarded tasks, CLI files as batches."""

    CLI_USAGE: ClassVar[str] = "--input-file PATH"

    # -- what subclasses implement
    def parse_http(self, request: HTTPRequest) -> Any:
        """The task data for a request; raises BadInput when the body is not acceptable."""
        raise NotImplementedError

    def rows(self, data: Any) -> Optional[int]:
        """`InferenceTask.batch` for `data`: None for one item, N for a payload of N rows."""
        return None

    def coerce(self, value: Any) -> Any:
        """The task data for one value of a direct Python call."""
        return value

    def cli_text(self, text: str, cli: CliInput) -> Any:
        raise BadInput(f"{self.type_name()} takes {self.CLI_USAGE}, not --input")

    def cli_file(self, path: str, cli: CliInput) -> Any:
        raise NotImplementedError

    def iter_cli_file(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Any, int]]:
        """`(data, progress)` for each item of one input file; one item per file by default."""
        yield self.cli_file(path, cli), progress.finish(path)

    # -- the BaseInputAdapter contract
    def from_http_request(self, request: HTTPRequest) -> InferenceTask:
        task = InferenceTask(http_headers=request.headers, request_id=request.request_id)
        try:
            task.data = self.parse_http(request)
            task.batch = self.rows(task.data)
        except BadInput as e:
            task.discard(e.http_status, str(e))
        return task

    def from_python(self, args: Sequence[Any], batch: bool) -> list[InferenceTask]:
        values = args[0]
        if batch and not isinstance(values, (list, tuple)):
            raise InvalidArgument(f"a batch API with {self.type_name()} takes a list of inputs, "
                                  f"got {type(values).__name__}")
        return [InferenceTask(data=self.coerce(v)) for v in (values if batch else [values])]

    def cli_progress_total(self, cli: CliInput) -> Optional[int]:
        return total_bytes(cli)

    def iter_cli_batches(self, cli: CliInput) -> Iterator[list[InferenceTask]]:
        items = ((data, data.rows if isinstance(data, Unreadable) else self.rows(data), progress)
                 for data, progress in self.iter_cli_items(cli))
        return batch_tasks(items, cli)

    def iter_cli_items(self, cli: CliInput) -> Iterator[tuple[Any, Optional[int]]]:
        if cli.input is None and not cli.files:
            raise BadInput(f"{self.type_name()} needs {self.CLI_USAGE}")
        progress = ByteProgress()
        if cli.input is not None:
            with errors_about("--input"):
                yield self.cli_text(cli.input, cli), None
        for path in cli.files:
            with errors_about(path):
                yield from self.iter_cli_file(path, cli, progress)
