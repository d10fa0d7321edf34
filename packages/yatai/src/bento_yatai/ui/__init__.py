"""The web UI: a small WSGI app on a threaded stdlib server. Bundle list with a label filter,
bundle detail, deployments, plus /healthz and /metrics. With a token file, pages need a read
token as the HTTP Basic password (any user name); /healthz and /metrics stay open."""
from __future__ import annotations

import base64
import json
import logging
import socketserver
import threading
from typing import Any, Callable, Iterable, Optional
from urllib.parse import parse_qs, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bento.exceptions import BentoError, InvalidArgument, NotFound
from bento.labels import parse_selector

from ..auth import Tokens
from ..errors import status_code
from . import pages

__all__ = ["make_app", "UIServer"]

log = logging.getLogger(__name__)
PAGE = 50
_STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found",
           405: "405 Method Not Allowed", 503: "503 Service Unavailable"}
_HTTP = {"NOT_FOUND": 404, "INVALID_ARGUMENT": 400, "UNAVAILABLE": 503}


def _query(environ: dict) -> dict:
    return {k: v[-1].strip() for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _offset(params: dict) -> int:
    try:
        return max(0, int(params.get("offset", "0")))
    except ValueError:
        raise InvalidArgument("offset must be a whole number") from None


def _basic_token(environ: dict) -> Optional[str]:
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value).decode("utf-8").partition(":")[2] or None
    except (ValueError, UnicodeDecodeError):
        return None


def make_app(registry: Any, metrics: Any, health: Callable[[], list], tokens: Optional[Tokens]) -> Callable:
    """The WSGI application over `registry` (bento_yatai.registry.Registry)."""

    def bundles(params: dict, offset: int) -> tuple:
        error = None
        try:
            selector = parse_selector(params["labels"]) if params.get("labels") else []
            records = registry.list_bundles(params.get("name") or None, selector, PAGE, offset)
        except InvalidArgument as e:
            error, records = str(e), []
        return (400 if error else 200), pages.bundle_list(records, params, offset, PAGE, error)

    def deployments(params: dict, offset: int) -> tuple:
        error = None
        try:
            selector = parse_selector(params["labels"]) if params.get("labels") else []
            records = registry.list_deployments(selector, params.get("platform") or None, PAGE, offset)
        except InvalidArgument as e:
            error, records = str(e), []
        return (400 if error else 200), pages.deployment_list(records, params, offset, PAGE, error)

    def route(path: str, params: dict) -> tuple:
        if path in ("/", "/bundles"):
            return bundles(params, _offset(params))
        if path == "/deployments":
            return deployments(params, _offset(params))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) == 3 and parts[0] == "bundles":
            return 200, pages.bundle_detail(registry.get_bundle(parts[1], parts[2]))
        raise NotFound(f"no page at {path}")

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        headers = [("Content-Type", "text/html; charset=utf-8"), ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, body = 405, pages.message_page("Method not allowed", "The Yatai UI only reads: use GET.")
        elif path == "/healthz":
            components = health()
            status = 200
            headers[0] = ("Content-Type", "application/json")
            body = json.dumps({"status": "ok", "components": [
                {"name": n, "ok": ok, "detail": d} for n, ok, d in components]})
        elif path == "/metrics":
            data, content_type = metrics.exposition()
            start_response(_STATUS[200], [("Content-Type", content_type)])
            return [data]
        elif tokens is not None and tokens.scope_of(_basic_token(environ)) is None:
            status, body = 401, pages.message_page("Token needed", "This Yatai needs a token: enter it as the "
                                                   "password (any user name).")
            headers.append(("WWW-Authenticate", 'Basic realm="Yatai", charset="UTF-8"'))
        else:
            try:
                status, body = route(path, _query(environ))
            except BentoError as e:
                status = _HTTP.get(status_code(e).name, 400)
                body = pages.message_page("Error", str(e))
            except Exception:
                log.exception("UI error on %s", path)
                status, body = 503, pages.message_page("Error", "internal error; see the server log")
        data = body.encode("utf-8")
        start_response(_STATUS[status], headers + [("Content-Length", str(len(data)))])
        return [data]

    return app


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("ui: " + format, *args)


class UIServer:
    """The UI on host:port in a background thread."""

    def __init__(self, app: Callable, host: str, port: int) -> None:
        self._server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self.host, self.port = host, self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="yatai-ui", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "UIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
