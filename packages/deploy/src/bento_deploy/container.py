"""Container images of bundles: the default tag, the build command, and whether an engine can run it."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional

from bento.bundle.manifest import verify_manifest
from bento.bundle.metadata import BundleMetadata
from bento.bundle.reader import read_metadata
from bento.bundle.templates import check_image_reference
from bento.exceptions import BundleError

__all__ = ["ENGINES", "default_image", "check_bundle", "build_command", "find_engine"]

ENGINES = ("docker", "podman")
BUILD_FILES = ("Dockerfile", "docker-entrypoint.sh", "requirements.txt")


def default_image(meta: BundleMetadata) -> str:
    """`<name lowercased>:<version>`, the tag `bento containerize` builds and Kubernetes pulls by default."""
    return f"{meta.name.lower()}:{meta.version}"


def check_bundle(bundle_dir: str) -> BundleMetadata:
    """The bundle's metadata, once its files match MANIFEST.sha256 and the build files are there."""
    verify_manifest(bundle_dir)
    missing = [f for f in BUILD_FILES if not os.path.isfile(os.path.join(bundle_dir, f))]
    if missing:
        raise BundleError(f"{bundle_dir} cannot be built into an image: no {', '.join(missing)}")
    return read_metadata(bundle_dir)


def build_command(engine: str, bundle_dir: str, tag: str, meta: BundleMetadata) -> list:
    """The argv of the build; labels go in as separate arguments, so no value can reach a shell."""
    cmd = [engine, "build", "-t", check_image_reference(tag, "image tag"),
           "--label", f"bento.name={meta.name}", "--label", f"bento.version={meta.version}"]
    for key, value in sorted(meta.labels.items()):
        cmd += ["--label", f"bento.label.{key}={value}"]
    return cmd + [bundle_dir]


def find_engine() -> tuple:
    """(engine name, None) for the first engine whose daemon answers `<engine> info`, else
    (None, why not) naming each engine tried."""
    reasons = []
    for engine in ENGINES:
        path: Optional[str] = shutil.which(engine)
        if path is None:
            reasons.append(f"{engine}: not installed")
            continue
        try:
            out = subprocess.run([path, "info"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as e:
            reasons.append(f"{engine}: {e}")
            continue
        if out.returncode == 0:
            return engine, None
        last = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
        reasons.append(f"{engine} info: {last}")
    return None, "; ".join(reasons)
