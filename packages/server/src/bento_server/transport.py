"""The transport: waitress, fitted to the contract. Connections (channel.py) carry each request's
arrival time for deadlines, refuse ambiguous framing and bound what a client that does not read
may hold; the server here accepts bursts of new connections, keeps accepting at the connection
limit by closing the connections that have waited longest for nothing, closes connections that
are slow to send their headers, answers /healthz and /readyz on its I/O thread, and drains
gracefully: on a stop it first takes every connection the kernel has already accepted. It serves
any WSGI callable and knows nothing of Falcon."""
from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from typing import Any, Callable, Optional

from bento.exceptions import BentoError
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from . import arrival
from .channel import Channel, ClientDisconnected, Probe
from .config import ServerConfig
from .dozing import DOZE_AFTER, Dozing, can_doze
from .engine import KERNEL_SEND_BUFFER, SPARE_FILES, open_files_limit

__all__ = ["HTTPServer", "bind_socket"]

log = logging.getLogger(__name__)
# waitress warns once per request while its task queue is deeper than its idle threads:
# under load that is a log line per request on the hot path.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

_IDLE_LINGER = 0.5  # seconds an idle keep-alive connection is left open once draining
# Connections a lone worker accepts per wake-up of the listening socket. waitress takes one, and
# under load a main-loop pass lasts ~30 ms, so 256 new connections waited up to 3 s for accept
# (their first requests: p50 0.7 s). Workers sharing the socket keep taking one each: with bursts
# the first to wake took 203 of 256 connections and the pair served 19 % fewer requests. At the
# connection limit (a flood) every worker takes bursts: a probe waits behind the whole queue.
_ACCEPT_BURST = 32
# At the connection limit, this share of the limit is closed at once (the connections waiting
# longest for nothing) and as many are accepted in the next pass: a flood of 10,000 connections
# costs a hundred sorts, not 10,000, and the accept queue a probe waits in drains fast.
_EVICT_SHARE = 1 / 8
# When every open connection is being served, for this long new ones are taken over the limit (at
# most as many again), answered 503 at once and closed, rather than asking for room on each one.
_FULL_FOR = 0.1
# A connection is closed for room only once it has waited this long: what a new client sent with
# its connection is read within a pass or two of the I/O loop.
_MIN_WAIT = 0.25
_EVICT_LOG_EVERY = 60.0  # seconds between two warnings about evictions
_PROBE_CONNECTIONS = 64  # connection limit of the probe listener (server.probe_port)
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() drops what is unsent and resets


def _waiting_since(channel: Channel) -> float:
    """When the connection started to wait for nothing from the server: its partial request's
    first byte (a trickle keeps last_activity fresh), else its last activity."""
    partial = channel.request
    return partial.started if partial is not None else channel.last_activity


def _may_go(channel: Channel, cutoff: float) -> bool:
    """Whether closing `channel` for room costs no request in service: it has waited for nothing
    (idle, sending headers, or parked because it does not read) since before `cutoff`."""
    return (not channel.requests or channel.parked) and _waiting_since(channel) < cutoff


class _Server(TcpWSGIServer):
    channel_class = Channel
    draining = False
    accept_burst = 1
    probe: Optional[Probe] = None
    probes_only = False  # the probe listener: any other request is a 404

    def __init__(self, *args: Any, config: ServerConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = config
        self.output_buffer = config.output_buffer
        self._room_wanted = False
        self._full_until = 0.0
        self._closing: set = set()  # channels to close between passes (see close_later)
        self.dozing = Dozing(self._map) if can_doze() else None
        self._evicted = 0
        self._evict_logged_at = 0.0

    def readable(self) -> bool:
        """Asked before each pass of the I/O loop: housekeeping, and whether to take connections."""
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        return len(self.active_channels) < 2 * self.adj.connection_limit

    def handle_accept(self) -> None:
        """Accept what is pending, up to a burst. Past the connection limit, room is made after
        this pass (make_room); while none can be made, new connections are taken over the limit,
        at most as many again, and refused at once (channel.Channel.answer_here)."""
        limit = self.adj.connection_limit
        flood = len(self.active_channels) >= limit - _ACCEPT_BURST
        for _ in range(max(_ACCEPT_BURST, int(limit * _EVICT_SHARE)) if flood else self.accept_burst):
            open_now = len(self.active_channels)
            if open_now >= 2 * limit:
                return
            if not self._accept_one(open_now >= limit and not self._room_can_be_made()):
                return
            self._room_wanted |= open_now >= limit

    def _room_can_be_made(self) -> bool:
        """Whether some connection waits for nothing (cheap when one does: the oldest come first);
        when none does, the answer holds for _FULL_FOR seconds."""
        now = time.time()
        if now < self._full_until:
            return False
        cutoff = now - _MIN_WAIT
        if any(_may_go(c, cutoff) for c in self.active_channels.values()):
            return True
        self._full_until = now + _FULL_FOR
        return False

    def accept_backlog(self) -> None:
        """Take every connection the kernel has accepted (at most a backlog's worth), whatever the
        limit: they are served before the listener closes, else the kernel resets them."""
        for _ in range(self.adj.backlog):
            if not self._accept_one():
                return

    def _accept_one(self, overflow: bool = False) -> bool:
        """One pending connection as a channel; False when none is pending. An `overflow`
        connection (over the limit while every open one is being served) gets its request
        answered 503 at once, so that new connections, and the probes among them, never wait in
        the kernel's queue behind requests the server cannot take yet."""
        try:
            conn, addr = self.socket.accept()
        except BlockingIOError:
            return False
        except OSError as e:  # out of file descriptors, say: the next wake-up retries
            log.warning("accept failed: %s", e)
            return False
        try:
            self.set_socket_options(conn)
        except OSError:  # the peer left before its options could be set
            conn.close()
            return True
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map).overflow = overflow
        return True

    def close_later(self, channel: Channel) -> None:
        """Close `channel` between two passes of the I/O loop, once no request thread serves it.
        waitress closes a channel marked will_close only when its socket can take output, which
        never happens to a client that does not read: it would stay open, and its buffers with it.
        Output still unsent is dropped with the connection (a reset), or the kernel would keep
        it, and the socket, for minutes."""
        channel.will_close = True
        self._closing.add(channel)
        self.pull_trigger()

    def between_passes(self) -> None:
        """Close what close_later marked, then make room if a connection waits for it."""
        for channel in list(self._closing):
            if not channel.requests or channel.parked:
                self._closing.discard(channel)
                if channel.total_outbufs_len and channel.socket is not None:
                    channel.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                channel.handle_close()
        self.make_room()

    def make_room(self) -> None:
        """Past the connection limit, close the connections that have waited longest for nothing
        from the server (idle, still sending a request, or not reading their answer), never one a
        request thread serves, down to the limit less the next burst. Called between two passes of
        the I/O loop: a descriptor closed within a pass could be reused by a connection accepted
        in the same pass, which would then get the closed one's events."""
        if not self._room_wanted:
            return
        self._room_wanted = False
        now = time.time()
        limit = self.adj.connection_limit
        excess = len(self.active_channels) - limit + int(limit * _EVICT_SHARE)
        cutoff = now - _MIN_WAIT
        waiting = sorted((c for c in self.active_channels.values() if _may_go(c, cutoff)), key=_waiting_since)
        for channel in waiting[:excess]:
            channel.handle_close()
        self._evicted += min(len(waiting), excess)
        if waiting and now - self._evict_logged_at > _EVICT_LOG_EVERY:
            log.warning("%d connections open (server.connection_limit): closed the %d that had waited "
                        "longest for nothing", limit, self._evicted)
            self._evict_logged_at, self._evicted = now, 0

    def maintenance(self, now: float) -> None:
        """Close connections that take too long: headers not in within header_timeout of the
        connection's opening or of the request's first byte, a body still arriving when the
        request's own timeout is up, keep-alive idleness past idle_timeout. Connections idle for
        DOZE_AFTER leave the loop's map (dozing.py)."""
        config = self.config
        for channel in list(self.active_channels.values()):
            if self.dozing and channel.last_activity < now - DOZE_AFTER and channel.is_idle():
                self.dozing.doze(channel)
            if channel.parked:
                due = channel.last_activity + config.idle_timeout  # last time the client read anything
            elif channel.requests:
                continue
            elif channel.request is None:
                due = channel.last_activity + (config.idle_timeout if channel.answered else config.header_timeout)
            elif not channel.request.headers_finished:
                due = channel.request.started + config.header_timeout
            else:
                due = min(channel.request.started + config.timeout, channel.last_activity + config.idle_timeout)
            if now > due:
                self.close_later(channel)

    def add_task(self, channel: Channel) -> None:
        """waitress calls this, with channel.requests_lock held, when channel.requests[0] is the
        next request to serve. Probes are answered right here (usually on the I/O thread), so
        they are never queued behind requests for a thread."""
        requests = channel.requests
        if channel.will_close or channel.close_when_flushed:  # parsed after a probe that closes
            for request in requests:
                request.close()
            requests.clear()
            return
        if channel.total_outbufs_len > self.output_buffer:  # not reading: its next answer waits
            channel.parked = True
            return
        try:
            while requests and channel.answer_here(requests[0]):
                requests.pop(0).close()
        except ClientDisconnected:
            requests.clear()
        if requests:
            super().add_task(channel)


def bind_socket(host: str, port: int, backlog: int, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket (IPv4 or IPv6, from `host`); port 0 picks a free port. With
    `reuse_port`, other sockets may listen on the same port and the kernel spreads new
    connections over them (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise BentoError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    arrival.enable(sock)  # inherited by accepted sockets: stamps what arrives before accept too
    sock.listen(backlog)
    return sock


class HTTPServer:
    """waitress serving `app` on `sock`, and probes only on `probe_sock` when given; `run()`
    blocks the calling thread until stopped or drained. The default HTTP engine
    (`register_http_engines` name `waitress`, contract in engine.py)."""

    interface = "wsgi"
    socket_per_worker = False  # workers share the listening socket, each taking what it is woken for

    def __init__(self, app: Callable, sock: socket.socket, config: ServerConfig, probe: Optional[Probe] = None,
                 probe_sock: Optional[socket.socket] = None) -> None:
        """`probe(path, request_id)` answers the probe routes on the I/O thread (see channel.Probe).
        `probe_sock` is a listener of its own for them (server.probe_port): its accept queue holds
        probes only, so a flood of connections to `sock` cannot make a probe wait behind it."""
        self.config = config
        self.map: dict = {}
        self.tasks = ThreadedTaskDispatcher()
        self.tasks.set_thread_count(config.threads)
        self.server = self._listener(app, sock, config.connection_limit, probe)
        if config.workers == 1:
            self.server.accept_burst = _ACCEPT_BURST
        self.listeners = [self.server]
        # The probe listener has an I/O loop of its own, on a thread of its own (run()): a main loop
        # slowed by a flood (thousands of connections, request threads holding the GIL) took up to
        # 2.4 s a pass, and a probe on the probe port waited for it.
        self.probes: Optional[_Server] = None
        self.probe_map: dict = {}
        if probe_sock is not None:
            self.probes = self._listener(app, probe_sock, _PROBE_CONNECTIONS, probe, self.probe_map, probes_only=True)
            self.listeners.append(self.probes)
        self._probes_thread: Optional[threading.Thread] = None
        host, port = sock.getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._stop = False
        self._drain_until: Optional[float] = None
        self._open = list(self.listeners)  # listeners whose socket is still open

    def _listener(self, app: Callable, sock: socket.socket, connection_limit: int, probe: Optional[Probe],
                  loop_map: Optional[dict] = None, probes_only: bool = False) -> _Server:
        config = self.config
        # taken over the limit at most as many again, within the descriptors this process may open
        connection_limit = max(1, min(connection_limit, (open_files_limit() - SPARE_FILES) // 2))
        adj = Adjustments(
            threads=config.threads, connection_limit=connection_limit, cleanup_interval=1,
            max_request_body_size=config.max_request_size, max_request_header_size=config.max_header_size,
            backlog=config.backlog, asyncore_use_poll=True, channel_request_lookahead=1,
            clear_untrusted_proxy_headers=False, ident="bento")
        adj.socket_options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
                              (socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)]
        server = _Server(app, map=self.map if loop_map is None else loop_map, _sock=sock, dispatcher=self.tasks,
                         adj=adj, bind_socket=False, sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
                         config=config)
        server.probe, server.probes_only = probe, probes_only
        return server

    def run(self, on_drain: Optional[Callable[[], Any]] = None, keep_listener: bool = False) -> None:
        """Serve until `stop()`, or until a drain (`drain()`) has finished the work in flight.

        `keep_listener` leaves the listening sockets open on stop (the worker pool forks workers
        onto them after the loading phase)."""
        tick = 1.0
        if self.probes is not None:
            self._probes_thread = threading.Thread(target=self._serve_probes, name="bento-probes", daemon=True)
            self._probes_thread.start()
        try:
            while not self._stop:
                wasyncore.loop(timeout=tick, map=self.map, use_poll=True, count=1)
                self.server.between_passes()
                if self._drain_until is not None:
                    if self.server in self._open:  # the probe listener stays: liveness holds while draining
                        self.server.accept_backlog()
                        self._close_listener(self.server)
                        if on_drain:
                            on_drain()
                    tick = 0.05
                    if self._drained():
                        break
        finally:
            self._stop = True
            if self._probes_thread is not None:
                self.probes.pull_trigger()
                self._probes_thread.join()
            self._shutdown(keep_listener)

    def _serve_probes(self) -> None:
        """The probe listener's I/O loop, until run() ends."""
        while not self._stop:
            wasyncore.loop(timeout=1.0, map=self.probe_map, use_poll=True, count=1)
            self.probes.between_passes()

    def drain(self, grace: Optional[float] = None) -> None:
        """Stop accepting, finish what is in flight (at most `grace` seconds), then return from run().
        Safe from a signal handler or another thread."""
        if self._drain_until is None:
            self._drain_until = time.time() + (self.config.graceful_timeout if grace is None else grace)
            for listener in self.listeners:
                listener.draining = True
        self.server.pull_trigger()

    @property
    def draining_requested(self) -> bool:
        return self._drain_until is not None

    def stop(self) -> None:
        """Return from run() at once; connections are closed."""
        self._stop = True
        self.server.pull_trigger()

    def _close_listener(self, listener: _Server) -> None:
        wasyncore.dispatcher.close(listener)
        self._open.remove(listener)

    def _channels(self) -> list:
        """Every open connection of the main listener, dozing ones too (the probe listener's are
        its own thread's until run() ends)."""
        return list(self.server.active_channels.values())

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
        for listener in self.listeners:
            for channel in list(listener.active_channels.values()):
                channel.handle_close()
        for listener in list(self._open):
            if keep_listener:
                listener.del_channel()
            else:
                self._close_listener(listener)
        self.tasks.shutdown(cancel_pending=True, timeout=5)
        for listener in self.listeners:
            listener.trigger.close()
            if listener.dozing:
                listener.dozing.close()
