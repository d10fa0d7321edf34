"""Processes and ports on this machine, as the local platform and its supervisor see them."""
from __future__ import annotations

import os
import signal
import socket
import time
import urllib.error
import urllib.request
from typing import Optional

from bento.exceptions import InvalidArgument

__all__ = ["HOST", "free_port", "check_port_free", "http_status", "process_alive", "wait_gone", "send_signal",
           "kill_group"]

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def check_port_free(port: int) -> None:
    """InvalidArgument if something already listens on `port` (checked by binding it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not "in use"
        try:
            s.bind((HOST, port))
        except OSError as e:
            raise InvalidArgument(f"port {port} on {HOST} is already in use ({e.strerror}): "
                                  "choose another with --option port=N, or leave it out for a free one") from None


# Loopback probes must not go through an http_proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 1.0) -> Optional[int]:
    """The HTTP status of GET `url`, or None when nothing answers."""
    try:
        with _opener.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def process_alive(pid: Optional[int], cwd: Optional[str] = None) -> bool:
    """Whether `pid` runs and is not a zombie; with `cwd`, also that it runs in that directory,
    so a recycled pid is never mistaken for (and never signalled as) one of ours."""
    if not pid:
        return False
    proc = f"/proc/{pid}"
    if not os.path.isdir("/proc/self"):  # no procfs (macOS): existence is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True
    try:
        with open(f"{proc}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[0]
        if state in ("Z", "X"):
            return False
        return cwd is None or os.path.realpath(os.readlink(f"{proc}/cwd")) == os.path.realpath(cwd)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except PermissionError:
        return cwd is None


def wait_gone(pid: int, timeout: float, cwd: Optional[str] = None) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit; True when it did."""
    deadline = time.monotonic() + timeout
    while process_alive(pid, cwd):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def send_signal(pid: int, sig: int) -> None:
    """Signal one process; gone already is fine."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group (a server and the workers it forked); gone already is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
