"""Tokens: `--token-file` holds one `read:TOKEN` or `write:TOKEN` per line (write implies read).
Clients send `authorization: Bearer TOKEN` as gRPC metadata; the web UI takes the token as the
HTTP Basic password. Without a token file there is no auth (bind to 127.0.0.1 then)."""
from __future__ import annotations

import hmac
from typing import Any, Callable, Optional

import grpc

from bento.exceptions import InvalidArgument

from .errors import PermissionDenied, Unauthenticated, status_code

__all__ = ["Tokens", "AuthInterceptor", "READ", "WRITE", "METHOD_SCOPES", "bearer_metadata"]

READ, WRITE = "read", "write"
_SERVICE = "/bento.yatai.v1.Yatai/"
# Health and version stay open so load balancers and `bento yatai` clients can probe.
METHOD_SCOPES = {
    **{_SERVICE + m: READ for m in ("GetBundle", "ListBundles", "DownloadBundle", "GetDeployment",
                                    "ListDeployments")},
    **{_SERVICE + m: WRITE for m in ("UploadBundle", "DeleteBundle", "UpdateLabels", "CreateDeployment",
                                     "ReplaceDeployment", "DeleteDeployment")},
    **{_SERVICE + m: None for m in ("Health", "GetVersion")},
}
_HOW = "pass --yatai-token, set BENTO_YATAI_TOKEN, or `bento config set yatai.token=...`"


def bearer_metadata(token: Optional[str]) -> tuple:
    return (("authorization", f"Bearer {token}"),) if token else ()


class Tokens:
    """The scopes of the tokens in a token file."""

    def __init__(self, scopes: dict) -> None:
        self._scopes = scopes

    @classmethod
    def from_file(cls, path: str) -> "Tokens":
        scopes: dict = {}
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise InvalidArgument(f"cannot read --token-file {path}: {e.strerror}") from None
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            scope, sep, token = line.partition(":")
            if not sep or scope not in (READ, WRITE) or not token.strip():
                raise InvalidArgument(f"{path}:{n}: expected `read:TOKEN` or `write:TOKEN`")
            scopes[token.strip()] = WRITE if WRITE in (scope, scopes.get(token.strip())) else READ
        if not scopes:
            raise InvalidArgument(f"{path} holds no token: add lines `read:TOKEN` or `write:TOKEN`")
        return cls(scopes)

    def scope_of(self, token: Optional[str]) -> Optional[str]:
        """The token's scope, compared in constant time against every known token."""
        found = None
        for known, scope in self._scopes.items():
            if token is not None and hmac.compare_digest(known.encode(), token.encode()):
                found = scope
        return found

    def authorize(self, token: Optional[str], needed: Optional[str], what: str) -> None:
        """Raise Unauthenticated or PermissionDenied unless `token` grants `needed` for `what`."""
        if needed is None:
            return
        if not token:
            raise Unauthenticated(f"this Yatai requires a token for {what}: {_HOW}")
        scope = self.scope_of(token)
        if scope is None:
            raise Unauthenticated(f"the token given for {what} is not known to this Yatai: check it, or ask "
                                  "the Yatai admin for one")
        if needed == WRITE and scope != WRITE:
            raise PermissionDenied(f"{what} needs a write token; the token given is read-only")


def _token_from_metadata(metadata: Any) -> Optional[str]:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class AuthInterceptor(grpc.ServerInterceptor):
    """Checks the token's scope before any handler runs."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def intercept_service(self, continuation: Callable, details: Any) -> Any:
        handler = continuation(details)
        method = details.method
        needed = METHOD_SCOPES.get(method, None if method.startswith("/grpc.") else WRITE)
        try:
            self.tokens.authorize(_token_from_metadata(details.invocation_metadata),
                                  needed, method.rsplit("/", 1)[-1])
        except (Unauthenticated, PermissionDenied) as e:
            code, message = status_code(e), str(e)
        else:
            return handler

        if handler is None:
            return None

        def deny(request: Any, context: Any) -> Any:
            context.abort(code, message)

        factory = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(handler.request_streaming, handler.response_streaming)]
        return factory(deny, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)
