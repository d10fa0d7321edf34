"""granian as bento-server's HTTP engine (`bento serve --engine granian`).

granian is a Rust HTTP server: connections, HTTP parsing and keep-alive run on its own threads
without the GIL, and the app runs on one asyncio event loop per process, so a request waiting
for its batch holds no thread. It serves the service's ASGI app (`BentoApp.asgi`) on the socket
`bento serve` bound; bento's lifecycle stays in charge (its workers fork after the model is
loaded, its signals drain), which is why this engine runs granian's ASGI worker in the calling
process instead of granian's own process manager.

Which guarantee comes from which setting:
* connections held at once per process: granian's `backpressure`, set to what the process may
  open (its file-descriptor limit, less the spare ones). An idle or half-sent connection costs
  granian under 1 KB and is closed at `header_timeout`, so holding thousands is cheap, while a
  bound below an idle flood would leave probes queued in the kernel behind it
  (`connection_limit` is waitress' bound, for its thread-served channels);
* a request head must arrive within `header_timeout`, and a keep-alive connection idle for as
  long is closed: granian's HTTP/1 `header_read_timeout` (one timer for both);
* request heads are bounded by granian's HTTP/1 read buffer: set to half `max_header_size`
  (at least granian's minimum, 8 KiB), since granian reads in growing steps and takes a head up
  to twice its buffer (measured: 64 KiB buffer, 100 KB heads served; 8 KiB, 8,147 bytes served and
  8,247 refused). A head is refused (431) somewhere between half `max_header_size` and all of it;
* a client that stops reading (or a peer that vanished) loses its connection once its data has
  waited `idle_timeout` unread: the kernel's TCP_USER_TIMEOUT, and at most the kernel's send
  buffer every engine uses waits for it there; both set on the listening socket and inherited
  by every connection (granian has no write timeout of its own);
* bodies, slow bodies, large answers in pieces, `Connection: close` while draining: guard.py;
* probes also on `probe_port`: a second granian worker on that socket (probes.py), on an event
  loop of its own thread, so that a main loop busy with a flood (10,000 clients asking for the
  1 MB Swagger bundle at once kept it busy for seconds) cannot delay them; it serves until the
  end of a drain;
* draining serves what the kernel has already accepted (backlog.py), then granian stops
  accepting and finishes the requests it has."""
from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from typing import Any, Callable, Optional

from bento_server.config import ServerConfig
from bento_server.engine import KERNEL_SEND_BUFFER, SPARE_FILES, open_files_limit
from granian._futures import _future_watcher_wrapper, _new_cbscheduler
from granian._granian import ASGIWorker, SocketHolder, WorkerSignal
from granian.asgi import _callback_wrapper
from granian.http import HTTP1Settings

from .backlog import accept_queue
from .guard import Guard
from .probes import ProbeApp

__all__ = ["GranianEngine"]

_BACKLOG_POLL = 0.02  # seconds between looks at the accept queue while draining
_STOP_WAIT = 5.0  # seconds stop() waits for granian's threads to end (so that a fork after it is clean)
_MAX_CONNECTIONS = 1 << 20
_MIN_BUFFER = 8192  # granian's (hyper's) smallest HTTP/1 read buffer: a smaller one aborts the process
_TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", None)  # Linux


class GranianEngine:
    """granian serving the ASGI `app` on `sock` (and the probes on `probe_sock`); `run()` blocks
    the calling thread (its event loop) until stopped or drained. The engine registered as
    `granian` (contract: engine.py of bento-server)."""

    interface = "asgi"
    # granian accepts every pending connection when it wakes: on one shared socket the first
    # worker awake took all 32 of a benchmark's connections (lifecycle.serve_in_this_process).
    socket_per_worker = True

    def __init__(self, app: Callable, sock: socket.socket, config: ServerConfig, probe: Optional[Callable] = None,
                 probe_sock: Optional[socket.socket] = None) -> None:
        self.config = config
        self.guard = Guard(app, config)
        self.main = _Listener(sock, self.guard, config)
        self.probes = None if probe_sock is None else _ProbeThread(_Listener(probe_sock, ProbeApp(probe), config))
        host, port = sock.getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        self._drain_until: Optional[float] = None
        self._stop = False

    def run(self, on_drain: Optional[Callable[[], Any]] = None, keep_listener: bool = False) -> None:
        """Serve until `stop()`, or until a drain (`drain()`) has finished the work accepted.

        `keep_listener` leaves the listening sockets open (workers are forked onto them next)."""
        loop = _event_loop()
        asyncio.set_event_loop(loop)
        listeners = [self.main] if self.probes is None else [self.main, self.probes.listener]
        try:
            if not self._stop:
                loop.run_until_complete(self._serve(loop, on_drain, keep_listener))
        finally:
            self._loop = None
            loop.close()
            asyncio.set_event_loop(None)
            if not keep_listener:
                for listener in listeners:
                    listener.sock.close()

    def drain(self, grace: Optional[float] = None) -> None:
        """Stop accepting once the accept queue is served, finish what is in flight (at most
        `grace` seconds), then return from run(). Safe from a signal handler or another thread."""
        if self._drain_until is None:
            self._drain_until = time.time() + (self.config.graceful_timeout if grace is None else grace)
        self._poke()

    @property
    def draining_requested(self) -> bool:
        return self._drain_until is not None

    def stop(self) -> None:
        """Return from run() as soon as granian has stopped (at most a few seconds)."""
        self._stop = True
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has just closed: run() is returning anyway
                pass

    async def _serve(self, loop: asyncio.AbstractEventLoop, on_drain: Optional[Callable[[], Any]],
                     keep_listener: bool) -> None:
        self._wake = asyncio.Event()
        self.main.start(loop)
        if self.probes is not None:
            self.probes.start()
        self._loop = loop
        while not self._stop and self._drain_until is None:
            await self._wake.wait()
            self._wake.clear()
        if not self._stop:
            if on_drain:
                on_drain()
            self.guard.draining = True
            while accept_queue(self.main.sock) and not self._stop and time.time() < self._drain_until:
                await asyncio.sleep(_BACKLOG_POLL)
        self.main.signal.set()  # granian stops accepting, closes idle connections, finishes the others
        if not keep_listener:  # new connections are refused from now on, not queued and then reset
            self.main.sock.close()
        await self._until(self.main.finished, time.time() + _STOP_WAIT if self._stop else self._drain_until)
        if self.probes is not None:  # liveness held while the main port drained
            self.probes.stop(_STOP_WAIT)

    async def _until(self, finished: asyncio.Future, until: float) -> None:
        """Wait for a listener to finish, at most until `until` (wall clock); a stop() during a
        drain ends the wait at once."""
        draining = not self._stop
        while not finished.done() and time.time() < until and not (draining and self._stop):
            self._wake.clear()
            woken = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait([finished, woken], timeout=until - time.time(), return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()


class _Listener:
    """One granian worker: `app` on `sock`, with the socket options every connection inherits."""

    def __init__(self, sock: socket.socket, app: Callable, config: ServerConfig) -> None:
        self.sock = sock
        self.app = app
        self.config = config
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)
        if _TCP_USER_TIMEOUT is not None:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, max(1, int(config.idle_timeout * 1000)))
        self.signal = WorkerSignal()
        self.finished: Optional[asyncio.Future] = None  # done once granian has stopped serving

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.finished = finished = loop.create_future()
        self.signal.add_cb(lambda: _complete_threadsafe(loop, finished))
        config = self.config
        holder = SocketHolder(os.dup(self.sock.fileno()), False, config.backlog)
        worker = ASGIWorker(
            worker_id=1, sock=(None, holder), ipc=None, threads=1, blocking_threads=1, py_threads=1,
            py_threads_idle_timeout=30, backpressure=min(_MAX_CONNECTIONS, open_files_limit() - SPARE_FILES),
            http_mode="1", http1_opts=HTTP1Settings(
                header_read_timeout=max(1, int(config.header_timeout * 1000)), keep_alive=True,
                max_buffer_size=max(_MIN_BUFFER, config.max_header_size // 2)),
            http2_opts=None, websockets_enabled=False, static_files=None, ssl_enabled=False, ssl_cert=None,
            ssl_key=None, ssl_key_password=None, ssl_protocol_min="1.3", ssl_ca=None, ssl_crl=[],
            ssl_client_verify=False, metrics=(None, None))
        scheduler = _new_cbscheduler(loop, _future_watcher_wrapper(_callback_wrapper(self.app, {}, {})),
                                     impl_asyncio=True)
        worker.serve_str(scheduler, loop, self.signal)


class _ProbeThread:
    """A listener served by an event loop of its own, on a thread of its own."""

    def __init__(self, listener: _Listener) -> None:
        self.listener = listener
        self.thread = threading.Thread(target=self._run, name="bento-probes", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        loop = _event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.listener.start(loop)
            loop.run_until_complete(self.listener.finished)
        finally:
            loop.close()

    def stop(self, wait: float) -> None:
        self.listener.signal.set()
        self.thread.join(wait)


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed: its wake-ups from granian's threads cost less than asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _complete_threadsafe(loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
    def complete() -> None:
        if not future.done():
            future.set_result(None)

    try:
        loop.call_soon_threadsafe(complete)
    except RuntimeError:  # stop() gave up waiting and the loop is closed
        pass
