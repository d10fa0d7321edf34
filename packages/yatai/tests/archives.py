"""Bundle archives made by hand, as a hostile client would send them: the head the registry
checks (MANIFEST.sha256, then bento.yml) is intact, and whatever follows is up to the test."""
from __future__ import annotations

import io
import os
import tarfile
from typing import Iterable, Optional

__all__ = ["bundle_archive", "member"]


def member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, linkname
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def bundle_archive(bundle_dir: str, extra: Iterable[tuple] = (), skip: Optional[set] = None) -> bytes:
    """A .tar.gz of `bundle_dir` (MANIFEST.sha256 and bento.yml first), then the `extra` members."""
    names = []
    for dirpath, _, files in os.walk(bundle_dir):
        names += [os.path.relpath(os.path.join(dirpath, f), bundle_dir) for f in files]
    head = ["MANIFEST.sha256", "bento.yml"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in head + sorted(set(names) - set(head) - (skip or set())):
            tar.add(os.path.join(bundle_dir, rel), arcname=rel)
        for info, data in extra:
            tar.addfile(info, data)
    return buf.getvalue()
