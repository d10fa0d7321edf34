"""A bundle's files checked against MANIFEST.sha256, with the standard library only.

This module's source is also written into every bundle as the first part of its pip build
backend (`_bento_build.py`), which runs where bento is not installed: `bento.load` and
`pip install <bundle>` refuse exactly the same bundles. Nothing an author controls is exempt:
compiled bytecode and links are refused wherever they are, and every other file must be listed.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat

MANIFEST = "MANIFEST.sha256"
SIGNATURE_FILE = "MANIFEST.sha256.sig"  # an SSH signature of MANIFEST.sha256, written by a registry client
ORIGIN_FILE = ".bento-origin"  # where a pulled bundle came from, written by a registry client
# Written beside MANIFEST.sha256 after the bundle was made; read as data, never executed.
PROVENANCE_FILES = (SIGNATURE_FILE, ORIGIN_FILE)
_BYTECODE = re.compile(r"(^|/)__pycache__(/|$)|\.py[co]$")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class BundleFileError(Exception):
    """A bundle file that is not what MANIFEST.sha256 says, or that no bundle may hold."""


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_relpath(rel: str, where: str) -> str:
    """`rel` if it is a plain relative '/'-separated path inside the bundle, else BundleFileError."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel or any(p in ("", ".", "..") for p in parts):
        raise BundleFileError(f"{where}: {rel!r} is not a plain relative path inside the bundle")
    return rel


def read_manifest(root: str) -> dict:
    """{relative path: sha256} of MANIFEST.sha256, every path checked."""
    path = os.path.join(root, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            return parse_manifest(f.read(), path)
    except FileNotFoundError:
        raise BundleFileError(f"{root} has no {MANIFEST}: not a bundle, or an incomplete one") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BundleFileError(f"cannot read {path}: {e}") from None


def parse_manifest(text: str, path: str = MANIFEST) -> dict:
    """{relative path: sha256} of the manifest `text`, every line and path checked."""
    lines = text.split("\n")
    expected: dict = {}
    for n, line in enumerate(lines[:-1] if lines[-1] == "" else lines, 1):
        digest, sep, rel = line.partition("  ")
        if not sep or not _DIGEST.fullmatch(digest):
            raise BundleFileError(f"{path}: line {n} is malformed")
        if check_relpath(rel, f"{path}: line {n}") in expected or rel == MANIFEST:
            raise BundleFileError(f"{path}: line {n} lists {rel} again")
        expected[rel] = digest
    return expected


def bundle_files(root: str) -> list:
    """Every file of the bundle but MANIFEST.sha256 and its provenance (relative, sorted by
    directory), refusing links, special files and compiled bytecode."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                raise BundleFileError(f"bundle path {rel} is a symbolic link: bundles hold no links, refused")
            if rel == MANIFEST or rel in PROVENANCE_FILES:
                continue
            if _BYTECODE.search(rel):
                raise BundleFileError(f"bundle path {rel} is compiled Python bytecode: bundles carry source only, "
                                      "refused (delete the __pycache__ folders; older versions of bento wrote them)")
            if stat.S_ISREG(mode):
                found.append(rel)
            elif not stat.S_ISDIR(mode):
                raise BundleFileError(f"bundle path {rel} is not a regular file: refused")
        dirnames.sort()
    return found


def check_files(root: str, copy_to: str = "") -> dict:
    """Raise BundleFileError naming the first file that was changed, added or removed; return
    the manifest. With `copy_to`, the listed files are copied there and the copies checked, so
    what is built is what was checked."""
    expected = read_manifest(root)
    remaining = dict(expected)
    for rel in bundle_files(root):
        if rel not in remaining:
            raise BundleFileError(f"bundle file {rel} is not listed in {MANIFEST}: the bundle was modified")
        src = os.path.join(root, *rel.split("/"))
        checked = src
        if copy_to:
            checked = os.path.join(copy_to, *rel.split("/"))
            os.makedirs(os.path.dirname(checked), exist_ok=True)
            shutil.copyfile(src, checked)
        if sha256_file(checked) != remaining.pop(rel):
            raise BundleFileError(f"bundle file {rel} does not match {MANIFEST}: the bundle was modified or corrupted")
    if remaining:
        raise BundleFileError(f"bundle file {next(iter(remaining))} listed in {MANIFEST} is missing")
    return expected
