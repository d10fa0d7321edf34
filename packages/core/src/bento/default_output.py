"""The output of an API that names none, when bento-adapters is not installed: JSON-able values
as JSON. bento-adapters registers a richer `DefaultOutput` (numpy, pandas, CSV) that wins."""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from .adapters import BaseOutputAdapter
from .exceptions import InvalidArgument
from .markers import hookimpl
from .types import InferenceResult

__all__ = ["DefaultOutput", "register_output_adapters"]


class DefaultOutput(BaseOutputAdapter):
    """Each result as JSON (lists, dicts, strings, numbers, booleans and None)."""

    def to_http_body(self, result: InferenceResult) -> tuple[bytes, str]:
        return json.dumps(result.data).encode(), "application/json"

    def to_cli_lines(self, result: InferenceResult, fmt: str, per_row: bool, header: bool) -> Iterable[str]:
        if fmt != "json":
            raise InvalidArgument(f"--output {fmt} needs bento-adapters (pip install bento-adapters); use json")
        rows = result.data if per_row and isinstance(result.data, (list, tuple)) else [result.data]
        return [json.dumps(row) for row in rows]


@hookimpl(trylast=True)
def register_output_adapters(register: Callable[[type], None]) -> None:
    register(DefaultOutput)
