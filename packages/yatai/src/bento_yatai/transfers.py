"""Long calls hold a thread of the gRPC pool for as long as their client keeps them open. Uploads
and downloads therefore run in a bounded number of slots, so short calls (get, list, delete)
always find a thread, and one that makes no progress for the idle timeout is cancelled, so a
client that sends a header and goes silent cannot keep a slot."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Iterator

from .errors import Busy

__all__ = ["Transfers", "UPLOAD", "DOWNLOAD"]

log = logging.getLogger(__name__)
UPLOAD, DOWNLOAD = "upload", "download"


class Transfers:
    def __init__(self, max_uploads: int, max_downloads: int, idle_timeout: float) -> None:
        self._limits = {UPLOAD: max_uploads, DOWNLOAD: max_downloads}
        self._slots = {kind: threading.BoundedSemaphore(n) for kind, n in self._limits.items()}
        self.idle_timeout = idle_timeout
        self._active: dict = {}  # id -> [context, last progress (monotonic), what]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="yatai-idle-watch", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def slot(self, kind: str, context: Any, what: str) -> Iterator[Callable[[], None]]:
        """Hold a slot of `kind` while the call runs; the yielded function records progress."""
        if not self._slots[kind].acquire(blocking=False):
            raise Busy(f"this Yatai already runs {self._limits[kind]} {kind}s, its limit: retry in a moment")
        key = object()
        entry = [context, time.monotonic(), what]
        with self._lock:
            self._active[id(key)] = entry

        def progress() -> None:
            entry[1] = time.monotonic()

        try:
            yield progress
        finally:
            with self._lock:
                self._active.pop(id(key), None)
            self._slots[kind].release()

    def _watch(self) -> None:
        interval = max(0.05, min(1.0, self.idle_timeout / 4))
        while not self._stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                idle = [e for e in self._active.values() if now - e[1] > self.idle_timeout]
            for context, _, what in idle:
                log.warning("%s made no progress for %.0f s: cancelled", what, self.idle_timeout)
                context.cancel()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
