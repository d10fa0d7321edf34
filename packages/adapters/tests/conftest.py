"""Request, image and file builders shared by the adapter tests (bytes from bento_adapters.testing)."""
from __future__ import annotations

from typing import Optional

import pytest
from bento.adapters import CliInput, HTTPRequest

from bento_adapters import testing as builders


def _request(body: bytes | str = b"", content_type: Optional[str] = "application/json", **headers: str) -> HTTPRequest:
    if isinstance(body, str):
        body = body.encode()
    hdrs = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    if content_type is not None:
        hdrs["content-type"] = content_type
    return HTTPRequest(headers=hdrs, body=body, request_id="req-1")


def _multipart(*fields: tuple) -> HTTPRequest:
    """Fields are (name, filename or None, content type or None, bytes)."""
    return _request(*builders.multipart_body(*fields))


@pytest.fixture
def request_of():
    return _request


@pytest.fixture
def multipart():
    return _multipart


@pytest.fixture
def image_bytes():
    return builders.image_bytes


@pytest.fixture
def png_header_only():
    return builders.png_header_only


@pytest.fixture
def cli():
    def make(input: Optional[str] = None, files=(), fmt: Optional[str] = None, batch_size: int = 10_000,
             progress: Optional[list] = None, **named):
        """A CliInput; `progress` collects what the adapter reports to `on_progress`."""
        input_files = {"": list(files)} if files else {}
        input_files.update({k: list(v) for k, v in named.items()})
        return CliInput(input=input, input_files=input_files, format=fmt, batch_size=batch_size,
                        cli_args=("--input", "x"), on_progress=(progress if progress is not None else []).append)

    return make
