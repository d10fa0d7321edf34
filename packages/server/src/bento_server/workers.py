"""Pre-forked worker processes: the parent has loaded the model once and forks workers that
share it copy-on-write and accept from one listening socket. A dead worker is replaced;
SIGTERM/SIGINT drain every worker (each finishes its in-flight requests) and the parent exits 0
once they have. What a worker runs is the caller's: this module knows no app and no server."""
from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import time
from collections import deque
from typing import Any, Callable, Sequence

from bento.exceptions import BentoError

from .affinity import run_on_one_cpu
from .config import ServerConfig
from .metrics import MULTIPROC_ENV

__all__ = ["WorkerPool", "STOP_SIGNALS"]

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_CRASH_WINDOW = 10.0  # seconds: this many quick deaths in a row mean the workers cannot run
_CRASH_LIMIT = 5


class WorkerPool:
    """`server.workers` forked processes, each running `work(slot)` (serving `socks` until a stop
    signal has drained it; `slot` 0..workers-1, a replacement gets its predecessor's). A worker
    starts with STOP_SIGNALS blocked: `work` unblocks them once its own handlers are installed."""

    def __init__(self, work: Callable[[int], None], socks: Sequence[socket.socket], server: ServerConfig) -> None:
        self.work = work
        self.socks = socks
        self.server = server
        self.workers: dict[int, int] = {}  # pid -> slot (0..workers-1), which picks its CPU
        self._stopping = False
        self._deaths: deque = deque(maxlen=_CRASH_LIMIT)
        self._first_slot = os.getpid()  # servers sharing a machine start their workers on different CPUs

    def run(self) -> None:
        """Keep `workers` processes alive until a stop signal, then drain them; raise if they keep dying."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        old_wakeup = signal.set_wakeup_fd(wake_w)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        gc.freeze()  # the loaded model stays in shared pages instead of being touched by every gc pass
        try:
            for slot in range(self.server.workers):
                self._spawn(slot, wake_r, wake_w)
            self._supervise(wake_r, wake_w)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            os.close(wake_r)
            os.close(wake_w)
            self._cleanup()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _supervise(self, wake_r: int, wake_w: int) -> None:
        kill_at = None
        while True:
            for pid, code in self._reap():
                slot = self._forget(pid)
                if not self._stopping:
                    log.warning("worker %d exited (%s); starting a new one", pid, code)
                    self._note_death(pid, code)
                    self._spawn(slot, wake_r, wake_w)
            if self._stopping:
                if kill_at is None:
                    for sock in self.socks:  # the workers hold them until they have drained
                        sock.close()
                    self._signal_all(signal.SIGTERM)
                    kill_at = time.monotonic() + self.server.graceful_timeout + 5
                if not self.workers:
                    return
                if time.monotonic() > kill_at:
                    self._signal_all(signal.SIGKILL)
            try:
                select.select([wake_r], [], [], 1.0)
                os.read(wake_r, 4096)
            except (BlockingIOError, InterruptedError):
                pass

    def _spawn(self, slot: int, wake_r: int, wake_w: int) -> None:
        # A stop signal that reaches a new worker before it has installed its own handlers would
        # run the parent's inherited one and be lost, and the worker would only stop at the
        # SIGKILL after the grace period: the worker starts with them blocked and `work` unblocks
        # them once it can drain.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            self.workers[pid] = slot
            return
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            if self.server.cpu_affinity:
                cpu = run_on_one_cpu(self._first_slot + slot)
                if cpu is not None:
                    log.info("worker %d runs on CPU %d", os.getpid(), cpu)
            self.work(slot)
            code = 0
        except BaseException:
            log.exception("worker %d failed", os.getpid())
        finally:
            os._exit(code)

    def _reap(self) -> list:
        gone = []
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.workers:
                gone.append((pid, _describe(status)))
        return gone

    def _note_death(self, pid: int, code: str) -> None:
        """Raise when workers die as fast as they are started (a crash loop, not a one-off)."""
        now = time.monotonic()
        self._deaths.append(now)
        if len(self._deaths) == _CRASH_LIMIT and now - self._deaths[0] < _CRASH_WINDOW:
            self._stopping = True
            self._signal_all(signal.SIGKILL)
            raise BentoError(f"workers keep dying ({_CRASH_LIMIT} in {_CRASH_WINDOW:.0f} s, last: {code}); "
                             "see the log above")

    def _forget(self, pid: int) -> int:
        """Drop a dead worker; its slot is the replacement's."""
        slot = self.workers.pop(pid)
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess  # not at the top: it reads MULTIPROC_ENV when first imported

            multiprocess.mark_process_dead(pid)
        return slot

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.workers):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def _cleanup(self) -> None:
        self._signal_all(signal.SIGKILL)
        for pid in list(self.workers):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
