"""One client connection as the transport serves it: waitress' channel, parser and tasks, fitted
to the contract. Requests carry the kernel's arrival time (arrival.py); a request framed both by
Content-Length and Transfer-Encoding is refused; waitress' own refusals are JSON; and a client
that does not read never holds a request thread, memory beyond `server.output_buffer` plus one
response, or disk."""
from __future__ import annotations

import socket
import time
from typing import Any, Callable, Optional

from waitress.adjustments import Adjustments
from waitress.buffers import ReadOnlyFileBasedBuffer
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import build_http_date
from waitress.wasyncore import _DISCONNECTED

from . import arrival
from .errors import REASONS, Overloaded, error_body, request_id
from .output import UnsentOutput

__all__ = ["Channel", "ClientDisconnected", "Probe"]

# probe(path, request_id): (status, JSON body) when `path` is a probe route, else None.
Probe = Callable[[str, str], Optional[tuple[int, bytes]]]

# The [server] key behind each of waitress' own limits, named in its refusals.
_LIMIT_KEYS = {413: "server.max_request_size", 431: "server.max_header_size"}


class _Parser(HTTPRequestParser):
    """Remembers when the first byte of the request arrived (wall clock); refuses ambiguous framing."""

    def __init__(self, adj: Adjustments, started: Optional[float] = None) -> None:
        super().__init__(adj)
        self.started = started or time.time()

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        # waitress takes chunked over Content-Length (HTTP/1.1) or ignores Transfer-Encoding
        # (HTTP/1.0); a proxy in front may do the other, and what one of them reads as the body
        # the other reads as a second, smuggled request (RFC 9112 6.1, 6.3).
        framed_twice = "CONTENT_LENGTH" in self.headers and self.chunked
        if framed_twice or "TRANSFER_ENCODING" in self.headers:
            raise ParsingError("a request may not carry both Content-Length and Transfer-Encoding, nor "
                               "Transfer-Encoding in HTTP/1.0")


class _Task(WSGITask):
    def build_response_header(self) -> bytes:
        if self.channel.server.draining:  # the client must not send more on this connection
            self.set_close_on_finish()
        return super().build_response_header()

    def get_environment(self) -> dict:
        env = super().get_environment()
        env[arrival.ARRIVED_KEY] = self.request.started
        return env


class _ErrorTask(ErrorTask):
    """waitress' own refusals (body or headers over a limit, malformed HTTP) in the server's JSON shape."""

    def execute(self) -> None:
        error = self.request.error
        rid = request_id(self.request.headers.get("X_REQUEST_ID"))
        key = _LIMIT_KEYS.get(error.code)
        body = error_body(f"{error.reason}: {error.body}" + (f" ({key})" if key else ""), rid)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Request-Id", rid)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class Channel(HTTPChannel):
    task_class = _Task
    error_task_class = _ErrorTask

    def __init__(self, server: Any, sock: socket.socket, addr: Any, adj: Adjustments, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.outbufs = [UnsentOutput()]
        self.stamped = arrival.enable(sock)
        self.received_at: Optional[float] = None  # the kernel's time for the last bytes read
        self.answered = 0  # requests answered; before the first, the header timeout applies
        self.overflow = False  # accepted over the connection limit: answered 503 at once, then closed
        # Requests wait unserved while the client has not read what it was sent (transport's add_task).
        self.parked = False

    def parser_class(self, adj: Adjustments) -> _Parser:
        """waitress makes each request's parser with self.parser_class(adj)."""
        return _Parser(adj, self.received_at)

    def recv(self, buffer_size: int) -> bytes:
        if not self.stamped:
            return super().recv(buffer_size)
        try:
            data, self.received_at = arrival.recv(self.socket, buffer_size)
        except OSError as e:
            if e.args[0] not in _DISCONNECTED:
                raise
            data = b""
        if not data:  # the peer closed (or reset) the connection
            self.handle_close()
        return data

    def service(self) -> None:
        super().service()
        self.answered += 1

    def is_idle(self) -> bool:
        """Nothing to serve, nothing arriving, nothing to send, not closing."""
        return not (self.requests or self.request is not None or self.total_outbufs_len or self.will_close
                    or self.close_when_flushed)

    def del_channel(self, map: Any = None) -> None:
        if self.server.dozing:
            self.server.dozing.forget(self)
        super().del_channel(map)

    def handle_write(self) -> None:
        """Send what the socket takes; once a parked client has read enough, serve its next request."""
        super().handle_write()
        if self.parked and self.connected and self.total_outbufs_len <= self.server.output_buffer:
            with self.requests_lock:
                self.parked = False
                if self.requests:
                    self.server.add_task(self)

    def answer_here(self, request: _Parser) -> bool:
        """Answer `request` on the calling thread (usually the I/O thread), never queued for a
        request thread, when it is a probe (a bodiless GET or HEAD of a probe route), came to the
        probe port (404) or came on a connection taken over the connection limit (503); the
        latter two close the connection. False when a request thread must serve it. Called with
        requests_lock held."""
        if request.error:  # waitress' error task answers it
            return False
        rid = request_id(request.headers.get("X_REQUEST_ID"))
        answer = self._probe_answer(request, rid)
        if answer is None and self.server.probes_only:
            answer = (404, error_body(f"no route {request.command} {request.path} on the probe port "
                                      "(/healthz, /readyz)", rid))
        elif answer is None and self.overflow:
            answer = (Overloaded.status, error_body(
                "server busy: every connection it keeps open (server.connection_limit) is being served", rid))
        if answer is None:
            return False
        status, body = answer
        close = request.connection_close or self.server.draining or self.overflow or status == 404
        head = [f"HTTP/{request.version} {status} {REASONS[status]}", "Server: bento",
                f"Date: {build_http_date(time.time())}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", f"X-Request-Id: {rid}"]
        if status == Overloaded.status:
            head.append(f"Retry-After: {Overloaded.retry_after}")
        if close:
            head.append("Connection: close")
        elif request.version == "1.0":
            head.append("Connection: Keep-Alive")
        head.append("\r\n")
        self.write_soon("\r\n".join(head).encode("latin-1") + (b"" if request.command == "HEAD" else body))
        self.answered += 1
        self.last_activity = time.time()
        if close:
            self.close_when_flushed = True
            for later in self.requests[1:]:
                later.close()
            del self.requests[1:]
        return True

    def _probe_answer(self, request: _Parser, rid: str) -> Optional[tuple[int, bytes]]:
        probe = self.server.probe
        if probe is None or request.command not in ("GET", "HEAD") or request.content_length or request.chunked:
            return None
        return probe(request.path, rid)

    def write_soon(self, data: Any) -> int:
        """Queue `data` for the client and send what the socket takes now, never waiting for the
        client to read: when more than `output_buffer` bytes written before are still unsent, the
        client is not reading, and the connection is closed instead (ClientDisconnected)."""
        if not self.connected:
            raise ClientDisconnected
        if not data:
            return 0
        with self.outbuf_lock:
            if not self.connected:
                raise ClientDisconnected
            if self.total_outbufs_len > self.server.output_buffer:
                self.server.close_later(self)
                raise ClientDisconnected
            size = len(data)
            if isinstance(data, ReadOnlyFileBasedBuffer):  # wsgi.file_wrapper: read from the file as sent
                self.outbufs.extend((data, UnsentOutput()))
            else:
                self.outbufs[-1].append(data)
            self.total_outbufs_len += size
            _, failed = self._flush_exception(self._flush_some, do_close=False)
            if failed or self.total_outbufs_len:
                self.server.pull_trigger()  # the I/O thread sends the rest (or closes)
        return size

    def _flush_outbufs_below_high_watermark(self) -> None:
        """waitress makes a request thread wait here for a slow reader; write_soon refuses instead."""
