"""MANIFEST.sha256: the sha256 of every file of a bundle, written at save and checked on load,
pull and install (the checks themselves are in `inventory`, shared with the build backend)."""
from __future__ import annotations

import os

from ..exceptions import ManifestMismatch
from .inventory import MANIFEST, BundleFileError, bundle_files, check_files, sha256_file

__all__ = ["write_manifest", "verify_manifest", "sha256_file"]


def write_manifest(root: str) -> None:
    """List every file of `root` (refusing links and bytecode, as every reader will)."""
    try:
        files = bundle_files(root)
    except BundleFileError as e:
        raise ManifestMismatch(str(e)) from None
    lines = [f"{sha256_file(os.path.join(root, rel))}  {rel}\n" for rel in files]
    with open(os.path.join(root, MANIFEST), "w", encoding="utf-8") as f:
        f.writelines(lines)


def verify_manifest(root: str) -> dict:
    """The manifest ({path: sha256}) if every file matches it, else ManifestMismatch naming the
    first file that was changed, added or removed, or that no bundle may hold."""
    try:
        return check_files(root)
    except BundleFileError as e:
        raise ManifestMismatch(str(e)) from None
