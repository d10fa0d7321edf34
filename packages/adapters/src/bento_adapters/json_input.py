"""JsonInput: any JSON value, parsed before batching so a malformed body fails alone."""
from __future__ import annotations

from typing import Any, Iterator, Optional

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import BadInput, InvalidArgument

from ._lazy import jsonschema
from .base import InputAdapter
from .http_body import parse_json, request_text
from .input_files import ByteProgress, file_format, iter_json_lines, read_bytes

__all__ = ["JsonInput"]


class JsonInput(InputAdapter):
    """The API receives parsed JSON values; in a batch API one request body is one item,
    even when it is a JSON list. On the CLI a `.jsonl` file is one item per line, streamed.

    `request_schema`: a JSON Schema every value must match (a 400 names the first place that
    does not, on every path: HTTP, `bento run`, direct calls); published in the OpenAPI document."""

    CLI_USAGE = "--input JSON or --input-file PATH"

    def __init__(self, request_schema: Optional[dict] = None) -> None:
        self._validator = None
        if request_schema is not None:
            if not isinstance(request_schema, dict):
                raise InvalidArgument("JsonInput(request_schema=...) takes a JSON Schema as a dict")
            cls = jsonschema().validators.validator_for(request_schema)
            try:
                cls.check_schema(request_schema)
            except jsonschema().SchemaError as e:
                raise InvalidArgument(f"JsonInput(request_schema=...) is not a valid JSON Schema: {e.message}") from None
            self._validator = cls(request_schema)
        super().__init__(request_schema=request_schema)

    def request_schema(self) -> dict:
        return {"application/json": {"schema": self.config.get("request_schema", {})}}

    def coerce(self, value: Any) -> Any:
        return self._checked(value)

    def _checked(self, value: Any) -> Any:
        if self._validator is not None:
            error = jsonschema().exceptions.best_match(self._validator.iter_errors(value))
            if error is not None:
                raise BadInput(f"the JSON does not match the API's schema at {error.json_path}: {error.message}")
        return value

    def parse_http(self, request: HTTPRequest) -> Any:
        return self._checked(parse_json(request_text(request, self.type_name())))

    def cli_text(self, text: str, cli: CliInput) -> Any:
        _check_format(cli)
        return self._checked(parse_json(text))

    def cli_file(self, path: str, cli: CliInput) -> Any:
        _check_format(cli)
        return self._checked(parse_json(read_bytes(path)))

    def iter_cli_file(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Any, int]]:
        if file_format(path) == "jsonl":
            _check_format(cli)
            return iter_json_lines(path, progress, self._checked)
        return super().iter_cli_file(path, cli, progress)


def _check_format(cli: CliInput) -> None:
    if cli.format not in (None, "json"):
        raise BadInput(f"JsonInput reads JSON; --format {cli.format} is not supported")
