"""Request bodies within limits: the size cap (the engine enforces it on the wire, before
buffering, for Content-Length and chunked bodies alike) and gzip decoding under the same cap, so
a compression bomb costs at most the cap in memory. WSGI environs and ASGI requests alike."""
from __future__ import annotations

import zlib
from typing import Any, Callable, Mapping, Optional

from .errors import HTTPFault

__all__ = ["read_body", "read_body_async", "receive_body", "request_headers", "asgi_request_headers"]

_GZIP_WBITS = 16 + zlib.MAX_WBITS


def read_body(env: Mapping, max_size: int) -> bytes:
    """The decoded body of a WSGI request, at most `max_size` bytes before and after decoding."""
    length = env.get("CONTENT_LENGTH")
    size = int(length) if length else 0
    if size > max_size:
        raise HTTPFault(f"request body of {size} bytes exceeds the limit of {max_size} bytes", 413)
    body = env["wsgi.input"].read(size) if size else b""
    if len(body) != size:
        raise HTTPFault(f"request body ended after {len(body)} of {size} bytes", 400)
    return _decoded(body, env.get("HTTP_CONTENT_ENCODING", ""), max_size)


async def read_body_async(req: Any, max_size: int) -> bytes:
    """The decoded body of a Falcon ASGI request, within the same limits. An engine that
    buffers the body before calling the app (as granian's does, with its limits) makes this a
    copy-free read; another ASGI engine is read as it sends."""
    size = req.content_length
    if size is not None and size > max_size:
        raise HTTPFault(f"request body of {size} bytes exceeds the limit of {max_size} bytes", 413)
    body = await req.stream.read(max_size + 1)
    if len(body) > max_size:
        raise HTTPFault(f"request body exceeds the limit of {max_size} bytes", 413)
    return _decoded(body, req.get_header("Content-Encoding") or "", max_size)


async def receive_body(receive: Callable, declared: Optional[str], encoding: str, max_size: int) -> bytes:
    """The decoded body of a raw ASGI request (`declared`: its Content-Length header, if any),
    within the same limits; an engine that buffers the body sends it in one event."""
    if declared is not None and declared.isdigit() and int(declared) > max_size:
        raise HTTPFault(f"request body of {declared} bytes exceeds the limit of {max_size} bytes", 413)
    chunks, size, more = [], 0, True
    while more:
        event = await receive()
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > max_size:
            raise HTTPFault(f"request body exceeds the limit of {max_size} bytes", 413)
        chunks.append(chunk)
        more = event.get("more_body", False)
    return _decoded(chunks[0] if len(chunks) == 1 else b"".join(chunks), encoding, max_size)


def _decoded(body: bytes, encoding: str, max_size: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise HTTPFault(f"Content-Encoding '{encoding}' is not supported (send gzip or identity)", 415)
    return gunzip(body, max_size)


def gunzip(data: bytes, max_size: int) -> bytes:
    """`data` gunzipped; 413 past `max_size` decoded bytes, 400 when it is not one whole gzip stream."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        out = inflater.decompress(data, max_size + 1)
    except zlib.error as e:
        raise HTTPFault(f"body is not valid gzip: {e}", 400) from None
    if len(out) > max_size or inflater.unconsumed_tail:
        raise HTTPFault(f"gzip body decodes to more than the limit of {max_size} bytes", 413)
    if not inflater.eof:
        raise HTTPFault("gzip body is truncated", 400)
    if inflater.unused_data.strip(b"\0"):
        raise HTTPFault("gzip body has trailing data after the compressed stream", 400)
    return out


def request_headers(env: Mapping) -> dict:
    """Lower-cased request headers as adapters read them; Content-Encoding is gone once decoded."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in env.items()
               if key.startswith("HTTP_") and key != "HTTP_CONTENT_ENCODING"}
    if "CONTENT_TYPE" in env:
        headers["content-type"] = env["CONTENT_TYPE"]
    return headers


def asgi_request_headers(scope: Mapping) -> dict:
    """Lower-case request headers of an ASGI scope, Content-Encoding included (the caller decodes
    the body with it, then drops it); a repeated header is joined with ", " as WSGI servers do."""
    headers: dict = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
