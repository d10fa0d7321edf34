"""The Yatai server process: the gRPC service (plus grpc.health.v1), the web UI, and a
background loop that probes the database and the store and garbage-collects dead uploads."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from concurrent import futures
from typing import Any, Mapping, Optional

import attrs

from bento.bundle.allowed_signers import load_allowed_signers
from bento.exceptions import InvalidArgument

from . import __version__
from .config import GiB

__all__ = ["ServerOptions", "YataiServer", "serve"]

log = logging.getLogger(__name__)
MAX_MESSAGE = 4 << 20  # gRPC's default; archives travel in 1 MiB chunks
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@attrs.frozen(kw_only=True)
class ServerOptions:
    db_url: str
    repo_base_url: str
    storage_options: Mapping[str, Any] = attrs.field(factory=dict)
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    ui_port: Optional[int] = 3000  # None: no UI
    token_file: Optional[str] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    max_upload_size: int = 20 * GiB
    gc_grace_seconds: float = 3600.0  # older temporary uploads are dead (every server sharing the store)
    gc_interval_seconds: float = 600.0
    probe_interval_seconds: float = 5.0
    workers: int = 32
    # Uploads and downloads run in these many slots (the rest of the pool stays for short calls)
    # and are cancelled after this long without a message.
    max_uploads: int = 16
    max_downloads: int = 8
    idle_timeout_seconds: float = 60.0
    allowed_signers: Optional[str] = None  # an OpenSSH allowed_signers file: every push must be signed by one
    plugins: Any = None  # whose `yatai_storage_backend` picks the store (default: the process' plugins)


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InvalidArgument(f"cannot read {what} {path}: {e.strerror}") from None


class YataiServer:
    """Build with options, `start()`, then `wait()` or `stop()`. Ports 0 pick free ports."""

    def __init__(self, options: ServerOptions) -> None:
        from .auth import Tokens
        from .db import Database
        from .metrics import Metrics
        from .registry import Registry
        from .storage import get_storage

        if bool(options.tls_cert) != bool(options.tls_key):
            raise InvalidArgument("TLS needs both --tls-cert and --tls-key")
        if options.max_uploads + options.max_downloads >= options.workers:
            raise InvalidArgument(f"uploads ({options.max_uploads}) and downloads ({options.max_downloads}) must leave "
                                  f"some of the {options.workers} worker threads to short calls")
        self.options = options
        self.required_signers = load_allowed_signers(options.allowed_signers) if options.allowed_signers else None
        self.tokens = Tokens.from_file(options.token_file) if options.token_file else None
        self.metrics = Metrics()
        self.db = Database(options.db_url)
        self.db.migrate()
        self.storage = get_storage(options.repo_base_url, options.storage_options, options.plugins)
        self.registry = Registry(self.db, self.storage)
        self._components: list = [("database", True, ""), ("storage", True, "")]
        self._stop = threading.Event()
        self._grpc: Any = None
        self._handlers: Optional[futures.ThreadPoolExecutor] = None
        self._ui: Any = None
        self._health: Any = None
        self._background_thread: Optional[threading.Thread] = None
        self._transfers: Any = None
        self.grpc_port = 0

    # ------------------------------------------------------------ probing and gc
    def components(self) -> list:
        """(name, ok, detail) of the database and the store, as of the last probe."""
        return list(self._components)

    def probe(self) -> list:
        from grpc_health.v1 import health_pb2

        results = []
        for name, check in (("database", self.db.check), ("storage", self.storage.check)):
            try:
                check()
                results.append((name, True, ""))
            except Exception as e:  # a probe reports, it never raises
                results.append((name, False, " ".join(str(e).split())))
            self.metrics.set_component(name, results[-1][1])
        self._components = results
        if self._health is not None:
            ok = all(r[1] for r in results)
            status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
            self._health.set("bento.yatai.v1.Yatai", status)
        return results

    def gc(self) -> int:
        removed = self.registry.gc(self.options.gc_grace_seconds)
        self.metrics.gc_removed.inc(removed)
        if removed:
            log.info("gc removed %d temporary or orphaned archive(s)", removed)
        return removed

    def _background(self) -> None:
        next_gc = 0.0
        while not self._stop.is_set():
            self.probe()
            if time.monotonic() >= next_gc:
                try:
                    self.gc()
                    next_gc = time.monotonic() + self.options.gc_interval_seconds
                except Exception as e:  # retried at the next probe
                    log.warning("gc failed, retrying in %.0f s: %s", self.options.probe_interval_seconds, e)
            self._stop.wait(self.options.probe_interval_seconds)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "YataiServer":
        import grpc
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc

        from .auth import AuthInterceptor
        from .proto import yatai_pb2_grpc
        from .servicer import YataiServicer
        from .transfers import Transfers
        from .ui import UIServer, make_app

        opts = self.options
        interceptors = [AuthInterceptor(self.tokens)] if self.tokens else []
        self._handlers = futures.ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="yatai-rpc")
        server = grpc.server(self._handlers, interceptors=interceptors,
                             options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                                      ("grpc.max_send_message_length", MAX_MESSAGE),
                                      ("grpc.so_reuseport", 0)])
        self._transfers = Transfers(opts.max_uploads, opts.max_downloads, opts.idle_timeout_seconds)
        yatai_pb2_grpc.add_YataiServicer_to_server(
            YataiServicer(self.registry, self.metrics, self.components, opts.max_upload_size, self._transfers,
                          self.required_signers), server)
        self._health = health.HealthServicer()
        self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        address = f"[{opts.host}]:{opts.grpc_port}" if ":" in opts.host else f"{opts.host}:{opts.grpc_port}"
        if opts.tls_cert:
            creds = grpc.ssl_server_credentials([(_read(opts.tls_key, "--tls-key"), _read(opts.tls_cert, "--tls-cert"))])
            self.grpc_port = server.add_secure_port(address, creds)
        else:
            self.grpc_port = server.add_insecure_port(address)
        if not self.grpc_port:
            raise InvalidArgument(f"cannot listen on {address}: the port is in use or the host is not local")
        self.probe()
        server.start()
        self._grpc = server
        if opts.ui_port is not None:
            self._ui = UIServer(make_app(self.registry, self.metrics, self.components, self.tokens),
                                opts.host, opts.ui_port).start()
        self._background_thread = threading.Thread(target=self._background, name="yatai-background", daemon=True)
        self._background_thread.start()
        if opts.host not in _LOOPBACK and not self.tokens:
            log.warning("Yatai listens on %s without --token-file: anyone who reaches it can push and delete",
                        opts.host)
        return self

    @property
    def address(self) -> str:
        scheme = "grpcs" if self.options.tls_cert else "grpc"
        return f"{scheme}://{self.options.host}:{self.grpc_port}"

    @property
    def ui_url(self) -> Optional[str]:
        return self._ui.url if self._ui else None

    def stop(self, grace: float = 5.0) -> None:
        self._stop.set()
        if self._ui is not None:
            self._ui.stop()
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
            # gRPC's stop returns once the calls are cancelled, not once their handlers have returned:
            # wait for those, so an upload cleans up its temporary bytes before the database closes
            self._handlers.shutdown(wait=True, cancel_futures=True)
        if self._background_thread is not None:
            self._background_thread.join(timeout=10)
        if self._transfers is not None:
            self._transfers.stop()
        self.db.close()

    def wait(self) -> None:
        self._grpc.wait_for_termination()


def serve(options: ServerOptions) -> None:
    """Run in the foreground until SIGINT/SIGTERM, then drain in-flight calls and exit."""
    server = YataiServer(options).start()
    from .db import redact_url

    print(f"Yatai {__version__} serving gRPC on {server.address}"
          + (f", web UI on {server.ui_url}" if server.ui_url else "")
          + f"\n  database: {redact_url(options.db_url)}\n  bundles:  {server.storage.url}"
          + ("\n  auth:     tokens from " + options.token_file if options.token_file else "\n  auth:     none")
          + (f"\n  signers:  pushes must be signed by a key of {options.allowed_signers}" if options.allowed_signers
             else ""),
          file=sys.stderr, flush=True)
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    while not stopping.wait(1.0):
        pass
    print("Yatai stopping: draining in-flight calls", file=sys.stderr, flush=True)
    server.stop(grace=10.0)
