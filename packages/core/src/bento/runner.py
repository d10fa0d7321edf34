"""Offline inference for `bento run`: stream input batches through an API, write results as they come."""
from __future__ import annotations

import contextlib
from typing import IO, Any, Callable, Iterator, Optional

import attrs

from .adapters import CliInput
from .exceptions import APIError
from .types import InferenceError

__all__ = ["run_api"]


def run_api(service: Any, api_name: str, cli: CliInput, out: IO[str], output_format: str = "json",
            progress: Optional[Callable[[Optional[int]], Any]] = None, on_error: Callable[[str], None] = print) -> int:
    """Run every input of `cli` through the API and write the results to `out`.

    Results of row-carrying tasks read from files are written one line per row (JSON Lines or
    CSV); any other result is one line. Returns the number of failed inputs; each failure is
    reported through `on_error` as one line.
    """
    api = service.get_inference_api(api_name)
    adapter = api.input_adapter
    from_files = bool(cli.input_files) or output_format == "csv"
    failed = 0
    header = True
    bar_cm = progress(adapter.cli_progress_total(cli)) if progress else contextlib.nullcontext(None)
    with bar_cm as bar:
        if bar is not None:
            cli = attrs.evolve(cli, on_progress=bar.update)
        index = 0
        for tasks in _batches(adapter, cli):
            for task, result in zip(tasks, api.infer(tasks)):
                if isinstance(result, InferenceError):
                    failed += 1
                    on_error(f"input {index}: {result.err_msg} ({result.http_status})")
                else:
                    per_row = from_files and task.batch is not None
                    for line in api.output_adapter.to_cli_lines(result, output_format, per_row, header):
                        out.write(line + "\n")
                    header = False
                index += 1
    out.flush()
    return failed


def _batches(adapter: Any, cli: CliInput) -> Iterator[list]:
    try:
        yield from adapter.iter_cli_batches(cli)
    except NotImplementedError:
        raise APIError(f"{adapter.type_name()} does not support `bento run`") from None
