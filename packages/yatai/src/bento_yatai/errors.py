"""Registry errors and their gRPC status codes, both ways: the server aborts with the code of a
BentoError, the client turns a status back into the same BentoError so the CLI prints one line."""
from __future__ import annotations

from typing import Any

from bento.exceptions import AlreadyExists, BentoError, BundleError, InvalidArgument, NotFound

__all__ = ["Unavailable", "Unauthenticated", "PermissionDenied", "Busy", "status_code", "from_rpc_error"]


class Unavailable(BentoError):
    """The registry, its database or its object store cannot be reached right now; retry later."""

    exit_code = 3
    http_status = 503


class Unauthenticated(BentoError):
    http_status = 401


class PermissionDenied(BentoError):
    http_status = 403


class Busy(BentoError):
    """The server runs as many long calls (uploads, downloads) as it allows; retry shortly."""

    exit_code = 3
    http_status = 503


# Most specific first: BundleError (a bad archive or metadata) is the client's fault.
_CODES = (
    (NotFound, "NOT_FOUND"),
    (AlreadyExists, "ALREADY_EXISTS"),
    (InvalidArgument, "INVALID_ARGUMENT"),
    (BundleError, "INVALID_ARGUMENT"),
    (Unauthenticated, "UNAUTHENTICATED"),
    (PermissionDenied, "PERMISSION_DENIED"),
    (Unavailable, "UNAVAILABLE"),
    (Busy, "RESOURCE_EXHAUSTED"),
)
_ERRORS = {code: cls for cls, code in reversed(_CODES)}


def status_code(exc: BaseException) -> Any:
    """The grpc.StatusCode for an error raised by a handler (INTERNAL for anything unexpected)."""
    import grpc

    for cls, code in _CODES:
        if isinstance(exc, cls):
            return getattr(grpc.StatusCode, code)
    return grpc.StatusCode.INTERNAL


def from_rpc_error(err: Any, target: str) -> BentoError:
    """A BentoError for a failed call to the registry at `target`, keeping the server's message."""
    import grpc

    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    details = (err.details() if callable(getattr(err, "details", None)) else None) or str(code)
    if code == grpc.StatusCode.UNAVAILABLE and ("connect" in details or "Socket closed" in details):
        return Unavailable(f"cannot reach Yatai at {target}: {details} (is `bento yatai start` running there?)")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Unavailable(f"Yatai at {target} did not answer in time: {details}")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if "retry in a moment" in details:
            return Busy(f"Yatai at {target} is busy: {details}")
        return InvalidArgument(f"Yatai at {target} refused the request: {details}")
    if code == grpc.StatusCode.CANCELLED:
        return Unavailable(f"Yatai at {target} cancelled the call (no progress for too long?): {details}")
    cls = _ERRORS.get(code.name, BentoError)
    return cls(details)
