"""Bundles in a local directory: `tmp/<upload id>` while uploading, then renamed (atomic on one
filesystem) to `bundles/<name>/<version>/<upload id>.tar.gz`."""
from __future__ import annotations

import os
import time
from typing import BinaryIO, Callable, Iterator

from bento.exceptions import NotFound

from ..errors import Unavailable
from . import BUNDLES_PREFIX, CHUNK_SIZE

__all__ = ["LocalStorage"]

TMP_PREFIX = "tmp/"


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.url = self.root
        os.makedirs(os.path.join(self.root, TMP_PREFIX), exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({self.root!r})"

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def write_temp(self, upload_id: str, stream: BinaryIO) -> str:
        key = TMP_PREFIX + upload_id
        path = self._path(key)
        try:
            with open(path, "xb") as f:
                for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())  # the row that makes it visible must not outlive the bytes
        except BaseException:
            self.discard(key)
            raise
        return key

    def promote(self, temp_key: str, final_key: str) -> str:
        dst = self._path(final_key)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.rename(self._path(temp_key), dst)
        except FileNotFoundError:
            if not os.path.exists(dst):
                raise
        return final_key

    def read(self, key: str) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"archive {key} is missing from {self.root}") from None
        with f:
            yield from iter(lambda: f.read(CHUNK_SIZE), b"")

    def discard(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def check(self) -> None:
        if not os.access(os.path.join(self.root, TMP_PREFIX), os.W_OK):
            raise Unavailable(f"bundle directory {self.root} is not writable")

    def gc(self, grace_seconds: float, referenced: Callable[[str], bool]) -> int:
        cutoff = time.time() - grace_seconds
        removed = 0
        for prefix in (TMP_PREFIX, BUNDLES_PREFIX):
            for dirpath, _, files in os.walk(self._path(prefix)):
                for name in files:
                    path = os.path.join(dirpath, name)
                    key = os.path.relpath(path, self.root).replace(os.sep, "/")
                    try:
                        stale = os.stat(path).st_mtime < cutoff
                    except FileNotFoundError:
                        continue
                    if stale and not referenced(key):
                        self.discard(key)
                        removed += 1
        return removed
