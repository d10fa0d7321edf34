"""The lifecycle of a server: `bento serve` and the dev server. Listen first, answer /healthz and
/readyz (503) while the bundle loads, switch to the service's app, serve it in this process or in
pre-forked workers, and drain on SIGTERM/SIGINT, whatever HTTP engine serves (engine.py)."""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from functools import partial
from typing import Any, Callable, Optional

from .affinity import run_on_one_cpu
from .app import BentoApp, loading_app
from .config import BatchingConfig, ServerConfig
from .memory import return_freed_memory
from .metrics import shared_between_workers
from .engine import HTTPEngine
from .probes import ServingState, probe_answer
from .transport import HTTPServer, bind_socket
from .workers import STOP_SIGNALS, WorkerPool

__all__ = ["serve", "DevServer", "serve_in_this_process", "Switch"]


class Switch:
    """The app the engine serves: the loading app first, the service's app once loaded. WSGI or
    ASGI alike: it returns what the target returns (an ASGI app's coroutine, awaited by the engine)."""

    def __init__(self, target: Callable) -> None:
        self.target = target

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)


def serve(load: Callable[[], Any], server: ServerConfig, batching: BatchingConfig,
          engine: type[HTTPEngine] = HTTPServer) -> None:
    """Serve the service `load()` returns with `engine` until SIGTERM/SIGINT has drained it. A
    loading error is raised here (the CLI prints it on one line)."""
    return_freed_memory()
    sock = bind_socket(server.host, server.port, server.backlog, reuse_port=_socket_per_worker(engine, server))
    probe_sock = None if server.probe_port is None else bind_socket(server.host, server.probe_port, server.backlog)
    # before any thread starts; servers sharing a machine land on different CPUs
    cpu = run_on_one_cpu(os.getpid()) if server.cpu_affinity and server.workers == 1 else None
    probes = "" if probe_sock is None else f", probes also on port {probe_sock.getsockname()[1]}"
    print(f"bento serve: listening on http://{server.host}:{sock.getsockname()[1]} "
          f"({server.workers} worker{'s' if server.workers > 1 else ''}"
          f"{'' if cpu is None else f', on CPU {cpu}'}{probes})", file=sys.stderr, flush=True)
    with shared_between_workers(server.workers):
        service = _serve_while_loading(load, sock, probe_sock, server, batching, engine)
        if service is not None:
            work = partial(serve_in_this_process, service, sock, server, batching, probe_sock, engine)
            WorkerPool(work, [s for s in (sock, probe_sock) if s is not None], server).run()


def _serve_while_loading(load: Callable[[], Any], sock: Any, probe_sock: Any, server: ServerConfig,
                         batching: BatchingConfig, engine: type[HTTPEngine]) -> Any:
    """Serve the probes (and 503s) while `load()` runs, then, with one worker, the service until
    drained. With several, return the loaded service for the worker pool (None once a stop
    signal came during loading)."""
    state = ServingState()
    switch = Switch(loading_app(engine.interface))
    http = engine(switch, sock, server, probe=partial(probe_answer, state), probe_sock=probe_sock)
    loaded: dict = {}

    def load_in_background() -> None:
        try:
            service = loaded["service"] = load()
            if server.workers == 1:
                loaded["app"] = app = BentoApp(service, server, batching, state)
                # The model and every module loaded so far stay out of the garbage collector's
                # passes, as WorkerPool does before forking: a full pass over them took ~100 ms,
                # the p99 of a 1-worker server (granian, 32 connections: 68-100 ms, 11 ms frozen).
                gc.freeze()
                switch.target = app.serving(engine.interface)
            else:
                http.stop()  # the worker pool forks the workers onto the same socket
        except BaseException as e:  # reported by the main thread
            loaded["error"] = e
            http.stop()

    _on_stop_signals(http)
    threading.Thread(target=load_in_background, name="bento-load", daemon=True).start()
    try:
        http.run(on_drain=lambda: setattr(state, "draining", True), keep_listener=server.workers > 1)
    finally:
        if "app" in loaded:
            loaded["app"].close()
    if "error" in loaded:
        raise loaded["error"]
    return loaded.get("service") if server.workers > 1 and not http.draining_requested else None


def serve_in_this_process(service: Any, sock: Any, server: ServerConfig, batching: BatchingConfig,
                          probe_sock: Any = None, engine: type[HTTPEngine] = HTTPServer, slot: int = 0) -> None:
    """One worker (`slot`): the service's app on `sock` (probes also on `probe_sock`) until a stop
    signal has drained it. An engine that takes every pending connection on each wake-up
    (granian) gets a socket of its own in every worker but the first, so that the kernel spreads
    new connections over the workers instead of the first awake taking them all; the first
    serves the socket bound before the fork, and what queued on it while the workers started."""
    if slot and _socket_per_worker(engine, server):
        host, port = sock.getsockname()[:2]
        sock.close()
        sock = bind_socket(host, port, server.backlog, reuse_port=True)
    state = ServingState()
    app = BentoApp(service, server, batching, state)
    http = engine(app.serving(engine.interface), sock, server, probe=partial(probe_answer, state), probe_sock=probe_sock)
    _on_stop_signals(http, force_on_repeat=False)  # the pool's parent signals after the group did
    try:
        http.run(on_drain=lambda: setattr(state, "draining", True))
    finally:
        app.close()


def _socket_per_worker(engine: type[HTTPEngine], server: ServerConfig) -> bool:
    return server.workers > 1 and getattr(engine, "socket_per_worker", False)


def _on_stop_signals(http: HTTPEngine, force_on_repeat: bool = True) -> None:
    """SIGTERM/SIGINT drain; a second one stops at once when `force_on_repeat`. A worker is
    forked with them blocked (workers.WorkerPool): one that arrived meanwhile is handled now."""
    def handler(signum: int, frame: Any) -> None:
        if http.draining_requested and force_on_repeat:
            http.stop()
        else:
            http.drain()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class DevServer:
    """`BentoService.start_dev_server()`: the service served by a background thread of this process."""

    def __init__(self, service: Any, host: str, port: int, server: ServerConfig, batching: BatchingConfig,
                 engine: type[HTTPEngine] = HTTPServer) -> None:
        sock = bind_socket(host, port, server.backlog)
        self.app = BentoApp(service, server, batching)
        self.http = engine(self.app.serving(engine.interface), sock, server, probe=partial(probe_answer, self.app.state))
        self.url = self.http.url
        self._thread = threading.Thread(target=self.http.run, kwargs={
            "on_drain": lambda: setattr(self.app.state, "draining", True)}, name="bento-dev-server", daemon=True)
        self._thread.start()

    def stop(self, grace: Optional[float] = 5.0) -> None:
        """Drain (at most `grace` seconds), then stop the runners."""
        self.http.drain(grace)
        self._thread.join()
        self.app.close()

    def __repr__(self) -> str:
        return f"<DevServer {self.url}>"
