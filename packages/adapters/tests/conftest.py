"""Request, image and file builders shared by the adapter tests."""
from __future__ import annotations

import io
import struct
import zlib
from typing import Optional

import pytest
from bento.adapters import CliInput, HTTPRequest


def _request(body: bytes | str = b"", content_type: Optional[str] = "application/json", **headers: str) -> HTTPRequest:
    if isinstance(body, str):
        body = body.encode()
    hdrs = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    if content_type is not None:
        hdrs["content-type"] = content_type
    return HTTPRequest(headers=hdrs, body=body, request_id="req-1")


def _multipart(*fields: tuple) -> HTTPRequest:
    """Fields are (name, filename or None, content type or None, bytes)."""
    boundary = "XbOuNdArYx"
    out = io.BytesIO()
    for name, filename, ctype, data in fields:
        out.write(f"--{boundary}\r\n".encode())
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disp}\r\n".encode())
        if ctype:
            out.write(f"Content-Type: {ctype}\r\n".encode())
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return _request(out.getvalue(), f"multipart/form-data; boundary={boundary}")


def _image(fmt: str = "PNG", size: tuple = (4, 3), mode: str = "RGB", color: tuple = (255, 0, 0)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(buf, format=fmt)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels: what a decompression bomb looks like
    before it is decoded (the pixel data is never reached)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def request_of():
    return _request


@pytest.fixture
def multipart():
    return _multipart


@pytest.fixture
def image_bytes():
    return _image


@pytest.fixture
def png_header_only():
    return _png_header_only


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
