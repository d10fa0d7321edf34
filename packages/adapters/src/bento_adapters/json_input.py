"""JsonInput: any JSON value, parsed before batching so a malformed body fails alone."""
from __future__ import annotations

from typing import Any, Iterator

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import BadInput

from .base import InputAdapter
from .http_body import parse_json, request_text
from .input_files import ByteProgress, file_format, iter_json_lines, read_bytes

__all__ = ["JsonInput"]


class JsonInput(InputAdapter):
    """The API receives parsed JSON values; in a batch API one request body is one item,
    even when it is a JSON list. On the CLI a `.jsonl` file is one item per line, streamed."""

    CLI_USAGE = "--input JSON or --input-file PATH"

    def request_schema(self) -> dict:
        return {"application/json": {"schema": {}}}

    def parse_http(self, request: HTTPRequest) -> Any:
        return parse_json(request_text(request, self.type_name()))

    def cli_text(self, text: str, cli: CliInput) -> Any:
        _check_format(cli)
        return parse_json(text)

    def cli_file(self, path: str, cli: CliInput) -> Any:
        _check_format(cli)
        return parse_json(read_bytes(path))

    def iter_cli_file(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Any, int]]:
        if file_format(path) == "jsonl":
            _check_format(cli)
            return iter_json_lines(path, progress)
        return super().iter_cli_file(path, cli, progress)


def _check_format(cli: CliInput) -> None:
    if cli.format not in (None, "json"):
        raise BadInput(f"JsonInput reads JSON; --format {cli.format} is not supported")
