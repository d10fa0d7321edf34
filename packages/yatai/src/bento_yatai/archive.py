"""A bundle directory as a stream of .tar.gz chunks, built in a background thread while the
caller sends them (so compression and network overlap, and memory stays bounded).

Only MANIFEST.sha256 and the files it lists go in (the manifest and bento.yml first), after the
manifest is verified, so what is pushed is exactly what `verify_manifest` accepts on the other side. The gzip stream is a
sequence of members, one per 1 MiB block (valid gzip, as pigz writes it): blocks that do not
compress (model weights, mostly) are stored, the rest compressed, so pushing a large model is
not held up by zlib.
"""
from __future__ import annotations

import os
import queue
import tarfile
import threading
import zlib
from typing import Any, Iterator, Optional

from bento.bundle.layout import MANIFEST, METADATA_FILE
from bento.bundle.manifest import verify_manifest

__all__ = ["ArchiveStream", "bundle_files"]

CHUNK_SIZE = 1 << 20
_SAMPLE = 64 << 10
_END = object()


def bundle_files(bundle_dir: str) -> list:
    """MANIFEST.sha256, bento.yml and every other file the manifest lists (relative,
    '/'-separated), after verifying it: the registry reads the first two as they arrive."""
    listed = verify_manifest(bundle_dir)
    return [MANIFEST, METADATA_FILE] + [rel for rel in listed if rel != METADATA_FILE]


def _gzip_member(data: bytes) -> bytes:
    """One complete gzip member of `data`: stored if a sample shows it does not compress."""
    level = 1 if len(zlib.compress(data[:_SAMPLE], 1)) < 0.9 * min(len(data), _SAMPLE) else 0
    comp = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(data) + comp.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # magic, deflate, no flags, mtime 0, OS unknown
    return header + body + (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "little") + \
        (len(data) & 0xFFFFFFFF).to_bytes(4, "little")


class _Stopped(Exception):
    """The consumer went away: the producer thread stops."""


class _BlockGzipSink:
    """What tarfile writes to: gzip members per block, cut into chunks of at most CHUNK_SIZE."""

    def __init__(self, out: "queue.Queue[Any]", stopped: threading.Event) -> None:
        self._out = out
        self._stopped = stopped
        self._block = bytearray()
        self._pending = bytearray()
        self.consumed = 0  # tar bytes compressed so far

    def write(self, data: bytes) -> int:
        self._block += data
        while len(self._block) >= CHUNK_SIZE:
            self._emit(bytes(self._block[:CHUNK_SIZE]))
            del self._block[:CHUNK_SIZE]
        return len(data)

    def _emit(self, block: bytes) -> None:
        self.consumed += len(block)
        self._pending += _gzip_member(block)
        while len(self._pending) >= CHUNK_SIZE:
            self._put(bytes(self._pending[:CHUNK_SIZE]))
            del self._pending[:CHUNK_SIZE]

    def _put(self, item: Any) -> None:
        while True:
            if self._stopped.is_set():
                raise _Stopped()
            try:
                self._out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self._block:
            self._emit(bytes(self._block))
            self._block.clear()
        if self._pending:
            self._put(bytes(self._pending))
            self._pending.clear()
        self._put(_END)


def _normalize(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class ArchiveStream:
    """Iterate to get the archive's chunks; `total` is the bundle's size in bytes and
    `consumed` how much of it (plus tar headers) has been packed so far."""

    def __init__(self, bundle_dir: str) -> None:
        self.bundle_dir = bundle_dir
        self.files = bundle_files(bundle_dir)
        self.total = sum(os.path.getsize(os.path.join(bundle_dir, rel)) for rel in self.files)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=8)
        self._stopped = threading.Event()
        self._sink: Optional[_BlockGzipSink] = None

    @property
    def consumed(self) -> int:
        return min(self._sink.consumed, self.total) if self._sink else 0

    def _produce(self) -> None:
        sink = self._sink
        assert sink is not None
        try:
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for rel in self.files:
                    tar.add(os.path.join(self.bundle_dir, rel), arcname=rel, recursive=False, filter=_normalize)
            sink.close()
        except _Stopped:
            return
        except BaseException as e:  # handed to the consumer, which raises it
            try:
                sink._put(e)
            except _Stopped:
                return

    def __iter__(self) -> Iterator[bytes]:
        self._sink = _BlockGzipSink(self._queue, self._stopped)
        thread = threading.Thread(target=self._produce, name="bento-archive", daemon=True)
        thread.start()
        try:
            while not self._stopped.is_set():
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop packing (safe from any thread): the iterator ends and the producer exits."""
        self._stopped.set()
