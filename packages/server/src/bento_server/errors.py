"""What the server answers when it does not answer with a result: one JSON shape for every error.

Falcon-free, so the batcher and the transport share it with the app.
"""
from __future__ import annotations

import itertools
import os
import re
from typing import Optional

import orjson

__all__ = ["HTTPFault", "Overloaded", "TimedOut", "error_body", "request_id", "REASONS"]

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}\Z")

REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


class HTTPFault(Exception):
    """A request answered with an error instead of a result; `retry_after` in seconds."""

    status = 500
    retry_after: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class Overloaded(HTTPFault):
    """Refused before compute: not ready, draining, queue full, or the deadline cannot be met."""

    status = 503
    retry_after = 1


class TimedOut(HTTPFault):
    """The API did not answer within the server's --timeout."""

    status = 504


class _Ids:
    """Fresh ids: a random per-process prefix and a counter (a uuid4 per request costs more)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _Ids()


def request_id(sent: Optional[str]) -> str:
    """The client's X-Request-Id when it is a sane token, else a fresh one."""
    if sent and _SANE_ID.match(sent):
        return sent
    return _ids.next()


def error_body(message: str, rid: Optional[str]) -> bytes:
    return orjson.dumps({"error": message, "request_id": rid})
