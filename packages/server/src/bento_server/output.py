"""A connection's unsent output, held as references to the responses' own bytes.

waitress copies every response into a per-connection buffer that spills to a temporary file past
1 MiB: 264 clients that pipelined requests for a 1 MB file and read nothing made it write 2.3 GB
of temporary files. Here nothing is copied (a static file's bytes are shared by every connection
that has not read them yet) and nothing goes to disk; how much a connection may hold is bounded
by the channel (`server.output_buffer`)."""
from __future__ import annotations

from collections import deque

__all__ = ["UnsentOutput"]

# Writes smaller than this are joined to the chunk before them, so that a small response's
# headers and body leave in one send() (a copy of at most this many bytes).
_JOIN_BELOW = 16 * 1024


class UnsentOutput:
    """The buffer interface waitress' channel uses for its outbufs (append, get, skip, len, close)."""

    def __init__(self) -> None:
        self._chunks: deque = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if not data:
            return
        view = memoryview(data if isinstance(data, bytes) else bytes(data))
        chunks = self._chunks
        if len(view) < _JOIN_BELOW and chunks and len(chunks[-1]) < _JOIN_BELOW:
            chunks[-1] = memoryview(b"".join((chunks[-1], view)))
        else:
            chunks.append(view)
        self._size += len(view)

    def get(self, size: int = -1, skip: bool = False) -> memoryview:
        """Up to `size` bytes from the front (one chunk's worth at most): a send() takes less anyway."""
        first = self._chunks[0]
        if 0 <= size < len(first):
            first = first[:size]
        if skip:
            self.skip(len(first))
        return first

    def skip(self, size: int, allow_prune: bool = False) -> None:
        """Drop `size` bytes from the front: they were sent."""
        self._size -= size
        chunks = self._chunks
        while size:
            first = chunks[0]
            if size < len(first):
                chunks[0] = first[size:]
                return
            size -= len(first)
            chunks.popleft()

    def close(self) -> None:
        self._chunks.clear()
        self._size = 0
