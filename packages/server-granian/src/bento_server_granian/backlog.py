"""How many connections wait in a listening socket's accept queue: the kernel has completed their
handshake, so closing the listener would reset them. A draining engine serves them first."""
from __future__ import annotations

import socket
import struct

__all__ = ["accept_queue"]

# struct tcp_info: 8 one-byte fields, then u32 rto, ato, snd_mss, rcv_mss, unacked. For a
# listening socket Linux reports the accept queue's length as tcpi_unacked.
_UNACKED = struct.Struct("=24xI")
_TCP_INFO = getattr(socket, "TCP_INFO", None)


def accept_queue(sock: socket.socket) -> int:
    """Connections waiting to be accepted on `sock` (0 where the kernel does not say)."""
    if _TCP_INFO is None:
        return 0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _UNACKED.size)
    except OSError:
        return 0
    return _UNACKED.unpack_from(info)[0] if len(info) >= _UNACKED.size else 0
