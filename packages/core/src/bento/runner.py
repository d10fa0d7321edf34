"""Offline inference for `bento run`: stream input batches through an API, write results as they come."""
from __future__ import annotations

import contextlib
from typing import IO, Any, Callable, Iterator, Optional

import attrs

from .adapters import CliInput
from .batching import BatchPolicy
from .exceptions import APIError
from .types import InferenceError

__all__ = ["run_api"]


def run_api(service: Any, api_name: str, cli: CliInput, out: IO[str], output_format: str = "json",
            progress: Optional[Callable[[Optional[int]], Any]] = None, on_error: Callable[[str], None] = print,
            batcher: str = "offline") -> tuple[int, int]:
    """Run every input of `cli` through the API and write the results to `out`.

    Tasks go to the batcher registered as `batcher` with an offline policy (calls of up to
    `cli.batch_size` rows, no deadlines). Results of row-carrying tasks read from files are
    written one line per row (JSON Lines or CSV); any other result is one line. A row or input
    that fails is reported through `on_error` as one line naming it (1-based), and only it
    fails. Returns (rows and inputs failed, rows and inputs in all).
    """
    api = service.get_inference_api(api_name)
    adapter = api.input_adapter
    from_files = bool(cli.input_files) or output_format == "csv"
    policy = BatchPolicy(max_batch_rows=cli.batch_size)
    runner = service.plugins.registry.batcher(batcher)(api, policy)
    failed = 0
    header = True
    bar_cm = progress(adapter.cli_progress_total(cli)) if progress else contextlib.nullcontext(None)
    with bar_cm as bar:
        if bar is not None:
            cli = attrs.evolve(cli, on_progress=bar.update)
        position = 1
        try:
            for task, result in runner.run(_batches(adapter, cli)):
                per_row = from_files and task.batch is not None
                if isinstance(result, InferenceError):
                    failed += task.rows if per_row else 1
                    where = f"row {position}" if per_row and task.rows == 1 else (
                        f"rows {position}-{position + task.rows - 1}" if per_row else f"input {position}")
                    on_error(f"{where}: {result.describe()} ({result.http_status})")
                else:
                    for line in api.output_adapter.to_cli_lines(result, output_format, per_row, header):
                        out.write(line + "\n")
                    header = False
                position += task.rows if per_row else 1
        finally:
            runner.close()
    out.flush()
    return failed, position - 1


def _batches(adapter: Any, cli: CliInput) -> Iterator[list]:
    try:
        yield from adapter.iter_cli_batches(cli)
    except NotImplementedError:
        raise APIError(f"{adapter.type_name()} does not support `bento run`") from None
