"""multipart/form-data bodies, parsed in memory with the `multipart` library.

Client-given filenames are reduced to a bare name for display (`FileLike.name`); nothing here
ever touches the filesystem with them.
"""
from __future__ import annotations

import re
from typing import Optional

import attrs
from bento.adapters import HTTPRequest
from bento.exceptions import BadInput
from bento.types import FileLike

__all__ = ["Part", "parse_form_data", "single_part", "safe_filename"]

_MAX_PARTS = 128
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@attrs.frozen
class Part:
    """One field of a form: its name, the client's filename (raw), content type and bytes."""

    name: str
    filename: Optional[str]
    content_type: str
    charset: Optional[str]
    data: bytes = attrs.field(repr=False)

    @property
    def display_name(self) -> str:
        return safe_filename(self.filename) if self.filename else self.name

    def file_like(self) -> FileLike:
        return FileLike(name=self.display_name, data=self.data)


def safe_filename(filename: str) -> str:
    """The last path component of a client filename, without control characters:
    `../../x` -> `x`, `C:\\a\\b.png` -> `b.png`, `..` -> ``."""
    base = _UNSAFE.sub("", filename).replace("\\", "/").rsplit("/", 1)[-1]
    return "" if base in (".", "..") else base


def parse_form_data(request: HTTPRequest) -> list[Part]:
    import multipart

    boundary = request.header_param("content-type", "boundary")
    if not boundary:
        raise BadInput("multipart/form-data without a boundary parameter in Content-Type")
    parts: list[Part] = []
    chunks: list[bytes] = []
    segment = None
    try:
        with multipart.PushMultipartParser(boundary, max_segment_count=_MAX_PARTS) as parser:
            for event in parser.parse(request.body):
                if isinstance(event, multipart.MultipartSegment):
                    segment, chunks = event, []
                elif event:
                    chunks.append(bytes(event))
                else:
                    parts.append(Part(segment.name or "", segment.filename, segment.content_type or "",
                                      segment.charset, b"".join(chunks)))
    except multipart.MultipartError as e:
        raise BadInput(f"malformed multipart body: {e}") from None
    return parts


def single_part(request: HTTPRequest) -> Part:
    """The one file of a form that should carry exactly one (a lone plain field counts too)."""
    parts = parse_form_data(request)
    files = [p for p in parts if p.filename is not None] or parts
    if len(files) != 1:
        names = ", ".join(repr(p.name) for p in files)
        got = f"{len(files)} ({names})" if files else "none"
        raise BadInput(f"expected one file in the multipart body, got {got}")
    return files[0]
