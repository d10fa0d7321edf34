"""`bento run`: offline inference on CLI values and files, streamed in batches."""
from __future__ import annotations

import contextlib
import re
import sys
from typing import Any, Optional

import click

from ..adapters import CliInput
from ..exceptions import APIError, InvalidArgument
from ..inference import failures_reported_elsewhere
from ..runner import run_api
from .options import CliContext, echo_err, is_quiet, is_verbose, pass_cli

_FILE_OPT = re.compile(r"--input-file-([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?", re.DOTALL)


def _named_files(args: list) -> dict:
    """`--input-file-<name> PATH` pairs (click cannot declare options with open-ended names)."""
    files: dict[str, list] = {}
    i = 0
    while i < len(args):
        m = _FILE_OPT.fullmatch(args[i])
        if not m:
            raise InvalidArgument(f"unexpected argument {args[i]!r} (see `bento run --help`)")
        if m.group(2) is not None:
            path, i = m.group(2), i + 1
        elif i + 1 < len(args):
            path, i = args[i + 1], i + 2
        else:
            raise InvalidArgument(f"{args[i]} needs a file path")
        files.setdefault(m.group(1), []).append(path)
    return files


class _Progress:
    """click's progress bar on stderr, drawn from the first finished batch on: an input refused
    before any batch ran leaves its error as the one line on stderr."""

    def __init__(self, total: int) -> None:
        self._bar = click.progressbar(length=total, label="bento run", file=sys.stderr, show_eta=True,
                                      show_percent=True)
        self._drawn = False

    def update(self, n: int) -> None:
        self._drawn = True
        self._bar.update(n)

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._drawn:
            self._bar.render_finish()


def _progress(total: Optional[int]):
    if total is None or is_quiet():
        return contextlib.nullcontext(None)
    return _Progress(total)


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("bento")
@click.argument("api_name", metavar="API")
@click.option("--input", "input_text", default=None, help="The input itself (JSON, CSV text or a string).")
@click.option("--input-file", "input_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Input file(s); large CSV files are streamed in batches. --input-file-<name> for multi-input APIs.")
@click.option("--format", "input_format", type=click.Choice(["json", "csv"]), default=None,
              help="Input format when the file extension does not say.")
@click.option("--output", "output_format", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="Result format (file inputs: one line per row).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Rows per batch [config run.batch_size].")
@click.option("--trust-pickle", is_flag=True, default=None, help="Load pickle-based artifacts from a registry bundle.")
@click.pass_context
@pass_cli
def run_cmd(cli: CliContext, ctx: click.Context, bento: str, api_name: str, input_text: Optional[str], input_files: tuple,
            input_format: Optional[str], output_format: str, batch_size: Optional[int],
            trust_pickle: Optional[bool]) -> None:
    """Run API of BENTO on --input or --input-file and print the results."""
    named = _named_files(list(ctx.args))
    if input_text is None and not input_files and not named:
        raise InvalidArgument("give --input TEXT or --input-file PATH")
    for paths in named.values():
        for p in paths:
            click.Path(exists=True, dir_okay=False).convert(p, None, ctx)
    files = {"": list(input_files), **named} if input_files else named
    given = CliInput(input=input_text, input_files=files, format=input_format,
                     batch_size=batch_size or cli.config.run.batch_size, cli_args=tuple(sys.argv[1:]))
    service = cli.load(bento, trust_pickle)
    failures: list = []

    def on_error(line: str) -> None:
        failures.append(line)
        if len(failures) <= 10:
            echo_err(f"Error: {line}")

    # a failing row's cause is on its error line; the log's traceback is left to --verbose
    with contextlib.nullcontext() if is_verbose() else failures_reported_elsewhere():
        failed, total = run_api(service, api_name, given, sys.stdout, output_format, progress=_progress,
                                on_error=on_error, batcher=cli.config.run.batcher)
    if failed:
        raise APIError(f"{failed:,} of {total:,} rows/inputs failed" + ("" if failed <= 10 else " (first 10 shown)"))
