"""The first two members of an upload's archive, MANIFEST.sha256 and bento.yml, read from its
chunks as they stream past (only the first few MiB are inflated), so the registry checks the
signature and the metadata against what it actually stores, without reading the archive twice."""
from __future__ import annotations

import io
import tarfile
import zlib
from typing import Optional

from bento.bundle.layout import MANIFEST, METADATA_FILE

__all__ = ["ArchiveHead", "HEAD_LIMIT"]

HEAD_LIMIT = 8 << 20  # the manifest of 20,000 files is about 2 MB
_MEMBERS = (MANIFEST, METADATA_FILE)


class ArchiveHead:
    """Feed it the archive's chunks; `files` is {name: bytes} once both members were read,
    `problem` says why they never will be."""

    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self._limit = limit
        self._inflate = zlib.decompressobj(31)
        self._tar = bytearray()
        self.files: Optional[dict] = None
        self.problem: Optional[str] = None

    def feed(self, chunk: bytes) -> None:
        if self.files is not None or self.problem is not None:
            return
        data = chunk
        try:
            while data and len(self._tar) <= self._limit:
                self._tar += self._inflate.decompress(data, self._limit + 1 - len(self._tar))
                if self._inflate.eof:  # one gzip member ended; the next starts in what is left
                    data = self._inflate.unused_data
                    self._inflate = zlib.decompressobj(31)
                else:
                    data = self._inflate.unconsumed_tail
        except zlib.error as e:
            self.problem = f"the archive is not gzip data ({e})"
            return
        self._parse()
        if self.files is None and self.problem is None and len(self._tar) > self._limit:
            self.problem = f"the archive's {MANIFEST} and {METADATA_FILE} take more than {self._limit} bytes"

    def _parse(self) -> None:
        files = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(self._tar)), mode="r:") as tar:  # type: ignore[call-overload]
                for expected in _MEMBERS:
                    member = tar.next()
                    if member is None:
                        return
                    if member.name != expected or not member.isreg():
                        self.problem = f"the archive must start with {MANIFEST}, then {METADATA_FILE}"
                        return
                    data = tar.extractfile(member).read()  # type: ignore[union-attr]
                    if len(data) < member.size:
                        return
                    files[expected] = data
        except (tarfile.TarError, EOFError):
            return  # not enough of it yet
        self.files = files
