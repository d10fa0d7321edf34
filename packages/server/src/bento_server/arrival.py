"""When a request's bytes reached this machine: the kernel's receive time of TCP data (Linux
SO_TIMESTAMPNS), read with the data.

Deadlines count from it. Under load a request waits unread in its socket until the one I/O
thread comes round to it (measured at 256 connections, one worker: p50 25 ms, p99 80 ms); a
deadline started by Python's first read did not see that wait, so admitted requests could miss
`mb_max_latency` at the client by that much."""
from __future__ import annotations

import socket
import struct
import sys
from typing import Optional

__all__ = ["ARRIVED_KEY", "enable", "recv"]

# The WSGI environ key under which the transport hands the app a request's arrival (wall clock).
ARRIVED_KEY = "bento.arrived"

# Linux's value on every architecture Python's socket module leaves it out of (asm-generic).
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_TIMESPEC = struct.Struct("qq")
_ANCILLARY_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp `sock`'s received data; False where it cannot."""
    if _SO_TIMESTAMPNS is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def recv(sock: socket.socket, size: int) -> tuple[bytes, Optional[float]]:
    """Up to `size` bytes and the wall-clock time the kernel received them (None if not stamped)."""
    data, ancillary, _flags, _addr = sock.recvmsg(size, _ANCILLARY_SPACE)
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(value)
            return data, seconds + nanoseconds * 1e-9
    return data, None
