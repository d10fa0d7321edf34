"""Request bodies for adapter tests (multipart forms, images, a PNG decompression bomb), a JSON POST
to a real server, and the example adapter plugin of docs/adapters.md, so adapter, server and
end-to-end tests build the same bytes and install the same plugin."""
from __future__ import annotations

import io
import json
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Optional

__all__ = ["multipart_body", "image_bytes", "png_header_only", "uniform_png", "post_json", "UPPER_PLUGIN",
           "write_upper_plugin"]

_BOUNDARY = "XbOuNdArYx"


def multipart_body(*fields: tuple[str, Optional[str], Optional[str], bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type; fields are (name, filename or None,
    content type or None, bytes)."""
    out = io.BytesIO()
    for name, filename, ctype, data in fields:
        out.write(f"--{_BOUNDARY}\r\n".encode())
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disp}\r\n".encode())
        if ctype:
            out.write(f"Content-Type: {ctype}\r\n".encode())
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{_BOUNDARY}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={_BOUNDARY}"


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, Any]:
    """(HTTP status, parsed JSON answer) of a POST of `body` as JSON; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3), mode: str = "RGB",
                color: tuple = (255, 0, 0)) -> bytes:
    """A small one-colour image encoded by Pillow in `fmt`."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(buf, format=fmt)
    return buf.getvalue()


def _png(width: int, height: int, color_type: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels: what a decompression bomb looks like
    before it is decoded (the pixel data is never reached)."""
    return _png(width, height, 0, zlib.compress(b"\0" * 64))


def uniform_png(width: int, height: int) -> bytes:
    """A whole, decodable RGBA PNG of one colour, made row by row (never width x height in memory):
    9400x9400 is a 1.5 MB body that decodes to 353 MB of pixels."""
    rows = (b"\0" + b"\x7f" * (4 * width)) * 64  # filter type 0, then the pixels; 64 rows at a time
    deflate = zlib.compressobj(1)
    blocks, rest = divmod(height, 64)
    parts = [deflate.compress(rows) for _ in range(blocks)]
    parts += [deflate.compress(rows[: len(rows) // 64 * rest]), deflate.flush()]
    return _png(width, height, 6, b"".join(parts))


# The third-party adapter plugin of docs/adapters.md ("Writing an adapter plugin"), file by file.
UPPER_PLUGIN = {
    "pyproject.toml": '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "bento-upper"
version = "0.3.0"
dependencies = ["bento-adapters"]

[project.entry-points.bento]
upper = "bento_upper"
''',
    "bento_upper.py": '''\
from bento import hookimpl
from bento_adapters.json_input import JsonInput


class UpperInput(JsonInput):
    """JSON values as upper-cased strings, over HTTP, on `bento run` and in direct calls."""

    def extract_user_func_args(self, tasks):
        return ([str(t.data).upper() for t in tasks],)


@hookimpl
def register_input_adapters(register):
    register(UpperInput)
''',
}


def write_upper_plugin(directory: Path) -> Path:
    """The example plugin's project written into `directory` (created), ready to pip-install."""
    directory.mkdir(parents=True)
    for name, text in UPPER_PLUGIN.items():
        (directory / name).write_text(text)
    return directory
