"""The transport: waitress, fitted to the contract. JSON errors from waitress itself (413 before
a body is buffered, 400 for malformed HTTP), the arrival time of each request for deadlines (the
kernel's, see arrival.py), a bound on clients that trickle a request forever, bursts of new
connections accepted at once, and a graceful drain driven from the main loop. It serves any
WSGI callable and knows nothing of Falcon."""
from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable, Optional

from bento.exceptions import BentoError
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.wasyncore import _DISCONNECTED

from . import arrival
from .config import ServerConfig
from .errors import error_body, request_id

__all__ = ["HTTPServer", "bind_socket"]

log = logging.getLogger(__name__)
# waitress warns once per request while its task queue is deeper than its idle threads:
# under load that is a log line per request on the hot path.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

_IDLE_LINGER = 0.5  # seconds an idle keep-alive connection is left open once draining
# Connections a lone worker accepts per wake-up of the listening socket. waitress takes one, and
# under load a main-loop pass lasts ~30 ms, so 256 new connections waited up to 3 s for accept
# (their first requests: p50 0.7 s). Workers sharing the socket keep taking one each: with bursts
# the first to wake took 203 of 256 connections and the pair served 19 % fewer requests.
_ACCEPT_BURST = 32


class _Parser(HTTPRequestParser):
    """Remembers when the first byte of the request arrived (wall clock)."""

    def __init__(self, adj: Adjustments, started: Optional[float] = None) -> None:
        super().__init__(adj)
        self.started = started or time.time()


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
    """waitress' own refusals (body over the limit, malformed HTTP) in the server's JSON shape."""

    def execute(self) -> None:
        error = self.request.error
        rid = request_id(self.request.headers.get("X_REQUEST_ID"))
        body = error_body(f"{error.reason}: {error.body}", rid)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Request-Id", rid)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    task_class = _Task
    error_task_class = _ErrorTask

    def __init__(self, server: Any, sock: socket.socket, addr: Any, adj: Adjustments, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.stamped = arrival.enable(sock)
        self.received_at: Optional[float] = None  # the kernel's time for the last bytes read

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


class _Server(TcpWSGIServer):
    channel_class = _Channel
    draining = False
    accept_burst = 1

    def handle_accept(self) -> None:
        """Accept what is pending, up to accept_burst and the connection limit."""
        for _ in range(self.accept_burst):
            if len(self._map) >= self.adj.connection_limit:
                return
            try:
                conn, addr = self.socket.accept()
            except BlockingIOError:
                return
            except OSError as e:  # out of file descriptors, say: the next wake-up retries
                log.warning("accept failed: %s", e)
                return
            try:
                self.set_socket_options(conn)
            except OSError:  # the peer left before its options could be set
                conn.close()
                continue
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def maintenance(self, now: float) -> None:
        """Besides idle connections, close those whose request has been arriving for longer than
        channel_timeout: a client trickling bytes (slowloris) keeps last_activity fresh forever."""
        super().maintenance(now)
        cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            partial = channel.request
            if partial is not None and not channel.requests and partial.started < cutoff:
                channel.will_close = True


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket (IPv4 or IPv6, from `host`); port 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise BentoError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    arrival.enable(sock)  # inherited by accepted sockets: stamps what arrives before accept too
    sock.listen(backlog)
    return sock


class HTTPServer:
    """waitress serving `app` on `sock`; `run()` blocks the calling thread until stopped or drained."""

    def __init__(self, app: Callable, sock: socket.socket, config: ServerConfig) -> None:
        self.config = config
        adj = Adjustments(
            threads=config.threads, connection_limit=config.connection_limit,
            channel_timeout=config.channel_timeout, cleanup_interval=max(1, min(30, int(config.channel_timeout / 2))),
            max_request_body_size=config.max_request_size, backlog=config.backlog, asyncore_use_poll=True,
            channel_request_lookahead=1, clear_untrusted_proxy_headers=False, ident="bento")
        self.map: dict = {}
        self.tasks = ThreadedTaskDispatcher()
        self.tasks.set_thread_count(adj.threads)
        self.server = _Server(app, map=self.map, _sock=sock, dispatcher=self.tasks, adj=adj, bind_socket=False,
                              sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()))
        if config.workers == 1:
            self.server.accept_burst = _ACCEPT_BURST
        host, port = sock.getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._stop = False
        self._drain_until: Optional[float] = None
        self._listening = True

    def run(self, on_drain: Optional[Callable[[], Any]] = None, keep_listener: bool = False) -> None:
        """Serve until `stop()`, or until a drain (`drain()`) has finished the work in flight.

        `keep_listener` leaves the listening socket open on stop (the worker pool forks workers
        onto it after the loading phase)."""
        tick = 1.0
        try:
            while not self._stop:
                wasyncore.loop(timeout=tick, map=self.map, use_poll=True, count=1)
                if self._drain_until is not None:
                    if self._listening:
                        self._close_listener()
                        if on_drain:
                            on_drain()
                    tick = 0.05
                    if self._drained():
                        break
        finally:
            self._shutdown(keep_listener)

    def drain(self, grace: Optional[float] = None) -> None:
        """Stop accepting, finish what is in flight (at most `grace` seconds), then return from run().
        Safe from a signal handler or another thread."""
        if self._drain_until is None:
            self._drain_until = time.time() + (self.config.graceful_timeout if grace is None else grace)
            self.server.draining = True
        self.server.pull_trigger()

    @property
    def draining_requested(self) -> bool:
        return self._drain_until is not None

    def stop(self) -> None:
        """Return from run() at once; connections are closed."""
        self._stop = True
        self.server.pull_trigger()

    def _close_listener(self) -> None:
        wasyncore.dispatcher.close(self.server)
        self._listening = False

    def _channels(self) -> list:
        return [c for c in list(self.map.values()) if isinstance(c, HTTPChannel)]

    def _drained(self) -> bool:
        now = time.time()
        channels = self._channels()
        busy = bool(self.tasks.queue) or any(
            c.requests or c.request is not None or c.total_outbufs_len for c in channels)
        if busy:
            return now >= self._drain_until
        for channel in channels:
            if channel.last_activity < now - _IDLE_LINGER:
                channel.handle_close()
        return not self._channels() or now >= self._drain_until

    def _shutdown(self, keep_listener: bool) -> None:
        for channel in self._channels():
            channel.handle_close()
        if self._listening:
            if keep_listener:
                self.server.del_channel()
            else:
                self._close_listener()
        self.tasks.shutdown(cancel_pending=True, timeout=5)
        self.server.trigger.close()
