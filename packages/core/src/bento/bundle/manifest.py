"""MANIFEST.sha256: the sha256 of every file of a bundle, checked on load, pull and install."""
from __future__ import annotations

import hashlib
import os
from typing import Iterator

from ..exceptions import ManifestMismatch
from .layout import MANIFEST, ORIGIN_FILE

__all__ = ["write_manifest", "verify_manifest", "sha256_file"]

# Files a registry may add to a bundle it hands out (never executed, never trusted).
UNLISTED = {ORIGIN_FILE}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _skipped_dir(dirpath: str, root: str, name: str) -> bool:
    """Caches and what `pip install <bundle>` leaves at the top (build/, *.egg-info): not bundle files."""
    if name == "__pycache__":
        return True
    return dirpath == root and (name in ("build", "dist") or name.endswith(".egg-info"))


def _files(root: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(dirpath, root, d))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel != MANIFEST and rel not in UNLISTED:
                yield rel


def write_manifest(root: str) -> None:
    lines = [f"{sha256_file(os.path.join(root, rel))}  {rel}\n" for rel in _files(root)]
    with open(os.path.join(root, MANIFEST), "w", encoding="utf-8") as f:
        f.writelines(lines)


def verify_manifest(root: str) -> None:
    """Raise ManifestMismatch naming the first file that was changed, added or removed."""
    path = os.path.join(root, MANIFEST)
    if not os.path.isfile(path):
        raise ManifestMismatch(f"{root} has no {MANIFEST}: not a bundle, or an incomplete one")
    expected: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            digest, sep, rel = line.rstrip("\n").partition("  ")
            if not sep or len(digest) != 64:
                raise ManifestMismatch(f"{path}: line {n} is malformed")
            expected[rel] = digest
    for rel in _files(root):
        if rel not in expected:
            raise ManifestMismatch(f"bundle file {rel} is not listed in {MANIFEST}: the bundle was modified")
        if sha256_file(os.path.join(root, rel)) != expected.pop(rel):
            raise ManifestMismatch(f"bundle file {rel} does not match {MANIFEST}: the bundle was modified or corrupted")
    if expected:
        raise ManifestMismatch(f"bundle file {next(iter(expected))} listed in {MANIFEST} is missing")
