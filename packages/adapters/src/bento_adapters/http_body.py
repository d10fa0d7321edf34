"""Reading request bodies: content types, charsets and JSON, with errors a client can act on."""
from __future__ import annotations

import codecs
from typing import Any, Optional

from bento.adapters import HTTPRequest
from bento.exceptions import BadInput

from ._lazy import orjson
from .form_data import single_part

__all__ = [
    "MULTIPART",
    "UnsupportedContentType",
    "is_json_type",
    "is_text_type",
    "content_charset",
    "decode_text",
    "parse_json",
    "request_text",
]

MULTIPART = "multipart/form-data"

# Bodies StringInput/JsonInput read as text. x-www-form-urlencoded is what `curl -d` sends
# when the user forgets -H "Content-Type: application/json"; "" is a client that sent none.
_TEXT_TYPES = frozenset({"", "application/json", "application/xml", "application/x-www-form-urlencoded"})


class UnsupportedContentType(BadInput):
    """The request's Content-Type is not one the adapter reads (HTTP 415)."""

    http_status = 415

    def __init__(self, content_type: str, adapter: str, accepted: str) -> None:
        super().__init__(f"content type '{content_type or '(none)'}' not accepted by {adapter} (accepted: {accepted})")


def is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def is_text_type(content_type: str) -> bool:
    return content_type in _TEXT_TYPES or content_type.startswith("text/") or content_type.endswith(("+json", "+xml"))


def content_charset(request: HTTPRequest) -> Optional[str]:
    return request.header_param("content-type", "charset")


def decode_text(data: bytes, charset: Optional[str]) -> str:
    """Text of a body in `charset` (utf-8 when the client named none, a leading BOM dropped)."""
    name = charset or "utf-8"
    try:
        if charset is None:  # the C codec: "utf-8-sig" is Python code, a few µs a request
            return (data[3:] if data.startswith(codecs.BOM_UTF8) else data).decode("utf-8")
        codecs.lookup(name)
        return data.decode(name)
    except LookupError:
        raise BadInput(f"charset '{name}' unknown") from None
    except UnicodeDecodeError as e:
        hint = "" if charset else "; send a charset in Content-Type"
        raise BadInput(f"text is not valid {name} (byte {e.start}){hint}") from None


MAX_JSON_DEPTH = 256


def parse_json(text: str | bytes) -> Any:
    json = orjson()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if _brackets(text) > MAX_JSON_DEPTH and _too_deep(value, MAX_JSON_DEPTH):
        raise BadInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _brackets(text: str | bytes) -> int:
    """An upper bound of the nesting depth, counted at C speed (most bodies stop here)."""
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


def _too_deep(value: Any, limit: int) -> bool:
    """True when containers nest deeper than `limit` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
    return False


def request_text(request: HTTPRequest, adapter: str) -> str:
    """The text of a body sent as text (any charset) or as the one file of a multipart form."""
    content_type = request.content_type
    if content_type == MULTIPART:
        part = single_part(request)
        return decode_text(part.data, part.charset)
    if not is_text_type(content_type):
        raise UnsupportedContentType(content_type, adapter, "text/*, application/json, multipart/form-data")
    return decode_text(request.body, content_charset(request))
