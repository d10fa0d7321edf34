"""Getting a bundle to the executors with Spark's own file distribution.

The driver packs the bundle into a reproducible tar.gz named after its sha256 and registers it
with `SparkContext.addFile`; Spark copies it to every executor. There, `local_bundle` checks the
archive's sha256, unpacks it once per executor (atomically, as several Python workers may race)
and returns the directory, which `bento.load` then verifies against MANIFEST.sha256.
"""
from __future__ import annotations

import atexit
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
from typing import Any

import attrs
from bento.bundle.layout import MANIFEST, PROVENANCE_FILES
from bento.bundle.inventory import read_manifest
from bento.bundle.manifest import sha256_file
from bento.exceptions import BundleError

__all__ = ["ShippedBundle", "ship", "local_bundle"]


@attrs.frozen(kw_only=True)
class ShippedBundle:
    """What an executor needs to find the bundle: the archive's name and sha256 (also the key of
    the per-process model cache), and whether its pickle-based artifacts are trusted."""

    archive: str
    sha256: str
    trust_pickle: bool = False


# Driver side: archives made by this process (by bundle content) and where each was registered.
_ARCHIVES: dict = {}
_REGISTERED: set = set()
_WORKDIR: list = []


def ship(spark_context: Any, bundle_dir: str, trust_pickle: bool) -> ShippedBundle:
    """Pack `bundle_dir` (once per content) and add it to `spark_context`'s files (once per app)."""
    with open(os.path.join(bundle_dir, MANIFEST), "rb") as f:
        key = (bundle_dir, hashlib.sha256(f.read()).hexdigest())
    if key not in _ARCHIVES:
        _ARCHIVES[key] = _pack(bundle_dir)
    path, sha256 = _ARCHIVES[key]
    registered = (spark_context.applicationId, path)
    if registered not in _REGISTERED:
        spark_context.addFile(path)
        _REGISTERED.add(registered)
    return ShippedBundle(archive=os.path.basename(path), sha256=sha256, trust_pickle=trust_pickle)


def _pack(bundle_dir: str) -> tuple:
    """(path, sha256) of a tar.gz of the bundle whose bytes depend only on its files (sorted, no
    times, no owners), so the same bundle always has the same sha256. It lives as long as this
    process: executors fetch it from the driver while jobs run."""
    if not _WORKDIR:
        _WORKDIR.append(tempfile.mkdtemp(prefix="bento-spark-"))
        atexit.register(shutil.rmtree, _WORKDIR[0], True)
    tmp = os.path.join(_WORKDIR[0], "packing.tar.gz")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in _bundle_files(bundle_dir):
            info = tar.gettarinfo(os.path.join(bundle_dir, rel), arcname=rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(os.path.join(bundle_dir, rel), "rb") as f:
                tar.addfile(info, f)
    sha256 = sha256_file(tmp)
    path = os.path.join(_WORKDIR[0], f"bento-bundle-{sha256[:20]}.tar.gz")
    os.replace(tmp, path)
    return path, sha256


def _bundle_files(root: str) -> list:
    """The manifest, the files it lists and the bundle's provenance (origin, signature): an
    executor checks the files and the signature itself, and trusts what the driver trusted."""
    return [MANIFEST, *(p for p in PROVENANCE_FILES if os.path.isfile(os.path.join(root, p))), *read_manifest(root)]


def local_bundle(bundle: ShippedBundle) -> str:
    """Executor side: the unpacked bundle directory, after checking the archive Spark delivered."""
    from pyspark import SparkFiles

    archive = SparkFiles.get(bundle.archive)
    if not os.path.isfile(archive):
        raise BundleError(f"bundle archive {bundle.archive} did not reach this executor ({archive})")
    target = os.path.join(SparkFiles.getRootDirectory(), f"bento-bundle-{bundle.sha256[:20]}")
    if os.path.isdir(target):
        return target
    if sha256_file(archive) != bundle.sha256:
        raise BundleError(f"bundle archive {bundle.archive} changed on its way to this executor (sha256 mismatch)")
    staging = tempfile.mkdtemp(prefix=".unpacking-", dir=os.path.dirname(target))
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(staging, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    try:
        os.rename(staging, target)
    except OSError:  # another Python worker of this executor unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
        if not os.path.isdir(target):
            raise
    return target
