"""JSON from clients, bounded before it is trusted: a size cap before parsing and a depth cap
after, so a huge or deeply nested document is INVALID_ARGUMENT, never an internal error or a row
too big for the messages that would carry it later."""
from __future__ import annotations

import json
from typing import Any

from bento.exceptions import InvalidArgument

__all__ = ["loads_bounded", "MAX_JSON_BYTES", "MAX_JSON_DEPTH"]

MAX_JSON_BYTES = 1 << 20  # every record must fit a 4 MiB gRPC message with room to spare
MAX_JSON_DEPTH = 32


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads_bounded(text: str, what: str, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidArgument(f"{what} is {size} bytes; this Yatai accepts at most {max_bytes}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidArgument(f"{what} is nested more than {max_depth} levels deep") from None
    except ValueError as e:
        raise InvalidArgument(f"{what} is not JSON: {e}") from None
    if _depth(value) > max_depth:
        raise InvalidArgument(f"{what} is nested more than {max_depth} levels deep")
    return value
