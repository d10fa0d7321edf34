"""StringInput: text in the charset the client names (utf-8 when it names none)."""
from __future__ import annotations

from bento.adapters import CliInput, HTTPRequest

from .base import InputAdapter
from .http_body import request_text
from .input_files import read_text
from .schemas import form_files

__all__ = ["StringInput"]


class StringInput(InputAdapter):
    """The API receives a `str` per request: the body, or the one file of a multipart form."""

    CLI_USAGE = "--input TEXT or --input-file PATH"

    def request_schema(self) -> dict:
        return {"text/plain": {"schema": {"type": "string"}}, **form_files(["file"])}

    def parse_http(self, request: HTTPRequest) -> str:
        return request_text(request, self.type_name())

    def cli_text(self, text: str, cli: CliInput) -> str:
        return text

    def cli_file(self, path: str, cli: CliInput) -> str:
        return read_text(path)

