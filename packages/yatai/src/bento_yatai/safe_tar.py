"""Extract a pulled bundle archive without trusting it.

Refused: absolute names, `..`, links of any kind (bundles hold none: a link inside a bundle
could lead a server's static files or a loader outside it), devices and fifos, duplicate names,
more members than `max_members`, more bytes than `max_bytes` (counted on what is decompressed,
so a gzip bomb stops at the cap), and oversized tar headers. On any error the destination is
removed: it either holds the whole archive or does not exist.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import tarfile
import zlib
from typing import Any, BinaryIO

import attrs

from bento.exceptions import BundleError

__all__ = ["Limits", "UnsafeArchive", "safe_extract"]

_READ = 1 << 20
_MAX_HEADER = 4 << 20  # pax / GNU long-name headers are read whole: refuse big ones
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchive(BundleError):
    """The archive tries to write outside its directory or exceeds a limit; nothing was kept."""


@attrs.frozen(kw_only=True)
class Limits:
    max_bytes: int
    max_members: int


class _CappedReader:
    """A seekable view of the decompressed stream that stops at `cap` bytes."""

    def __init__(self, raw: Any, cap: int) -> None:
        self._raw = raw
        self._cap = cap

    def _check(self) -> None:
        if self._raw.tell() > self._cap:
            raise UnsafeArchive(f"archive unpacks to more than {self._cap} bytes (a gzip bomb?): refused")

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > _MAX_HEADER:
            raise UnsafeArchive(f"archive asks to read {n} bytes at once (an oversized tar header): refused")
        data = self._raw.read(n)
        self._check()
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self._raw.seek(offset, whence)
        self._check()
        return pos

    def tell(self) -> int:
        return self._raw.tell()


def _member_path(name: str) -> str:
    """The member's relative path, or UnsafeArchive for absolute names and `..`."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafeArchive(f"archive member {name!r} has an absolute path: refused")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive member {name!r} climbs out with '..': refused")
    return "/".join(parts)


def _path(root: str, rel: str) -> str:
    return os.path.join(root, *rel.split("/"))


def _copy(src: BinaryIO, dst: str, budget: int) -> int:
    written = 0
    with open(dst, "xb") as out:
        for chunk in iter(lambda: src.read(_READ), b""):
            written += len(chunk)
            if written > budget:
                raise UnsafeArchive("archive holds more bytes than it declares: refused")
            out.write(chunk)
    return written


def _extract_into(tar: tarfile.TarFile, root: str, limits: Limits) -> None:
    total = 0
    dirs: set = {root}
    for count, member in enumerate(tar, 1):
        if count > limits.max_members:
            raise UnsafeArchive(f"archive has more than {limits.max_members} members: refused "
                                "(raise yatai.max_members if this bundle is genuine)")
        rel = _member_path(member.name)
        if not rel:
            continue
        path = _path(root, rel)  # no link is ever made: none can redirect this path
        if member.isdir():
            os.makedirs(path, exist_ok=True)
            dirs.add(path)
        elif member.isreg():
            total += member.size
            if total > limits.max_bytes:
                raise UnsafeArchive(f"archive unpacks to more than {limits.max_bytes} bytes: refused "
                                    "(raise yatai.max_unpacked_size or yatai.max_unpack_ratio if this bundle is genuine)")
            parent = os.path.dirname(path)
            if parent not in dirs:
                os.makedirs(parent, exist_ok=True)
                dirs.add(parent)
            src = tar.extractfile(member)
            assert src is not None
            try:
                _copy(src, path, member.size)
            except FileExistsError:
                raise UnsafeArchive(f"archive member {rel!r} appears twice: refused") from None
            if member.mode & 0o111:
                os.chmod(path, 0o755)
        elif member.issym() or member.islnk():
            raise UnsafeArchive(f"archive member {rel!r} is a link to {member.linkname!r}: bundles hold no links, "
                                "refused")
        else:
            raise UnsafeArchive(f"archive member {rel!r} is a device, fifo or other special file: refused")


def safe_extract(archive_path: str, dest: str, limits: Limits) -> None:
    """Extract the .tar.gz at `archive_path` into the new directory `dest`."""
    os.makedirs(dest)
    try:
        with gzip.GzipFile(archive_path, "rb") as gz:
            cap = limits.max_bytes + 1024 * limits.max_members + (1 << 20)  # data + headers + padding
            try:
                with tarfile.open(fileobj=_CappedReader(gz, cap), mode="r:") as tar:  # type: ignore[call-overload]
                    _extract_into(tar, os.path.realpath(dest), limits)
            except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as e:
                raise UnsafeArchive(f"not a valid bundle archive: {type(e).__name__}: {e}") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
