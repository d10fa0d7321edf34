"""The local repository: $BENTO_HOME/repository/<Name>/<version>/ holds each bundle directory.
Registered `trylast`: it answers `repository_backend` when no plugin (Yatai) does."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..bundle.layout import METADATA_FILE, SIGNATURE_FILE
from ..bundle.manifest import verify_manifest
from ..bundle.metadata import BundleMetadata
from ..bundle.signature import BadSignature, parse_signature
from ..config import Config, bento_home
from ..exceptions import AlreadyExists, BundleError, NotFound
from ..markers import hookimpl
from ..labels import Requirement, matches
from .base import BundleInfo, parse_tag

__all__ = ["LocalRepository", "repository_backend"]


class LocalRepository:
    """Bundles are added by renaming a finished directory into place, so a reader never sees
    half a bundle and a crash leaves at most a staging directory behind."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> "LocalRepository":
        """The repository under $BENTO_HOME."""
        return cls(bento_home() / "repository")

    def __repr__(self) -> str:
        return f"LocalRepository({str(self.root)!r})"

    # -- writing
    def staging_dir(self) -> str:
        """An empty directory on the repository's filesystem to write a bundle into."""
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(dir=staging)

    def add(self, bundle_dir: str) -> BundleInfo:
        """Move a complete bundle directory into the repository (it is verified first)."""
        verify_manifest(bundle_dir)
        meta = _read(Path(bundle_dir))
        dst = self.root / meta.name / meta.version
        if dst.exists():
            raise AlreadyExists(f"{meta.tag} already exists in {self.root}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(bundle_dir)
        if not str(staged.resolve()).startswith(str((self.root / ".staging").resolve())):
            staged = Path(self.staging_dir()) / "bundle"
            shutil.copytree(bundle_dir, staged, symlinks=True)
        try:
            os.rename(staged, dst)
        except OSError as e:
            shutil.rmtree(staged, ignore_errors=True)
            if dst.exists():
                raise AlreadyExists(f"{meta.tag} already exists in {self.root}") from None
            raise BundleError(f"cannot add {meta.tag} to {self.root}: {e}") from None
        _cleanup_empty(staged.parent, self.root / ".staging")
        return _info(dst, meta)

    # -- reading
    def _iter(self, name: Optional[str]) -> Iterator[BundleInfo]:
        names = [name] if name else sorted(p.name for p in self._dirs(self.root) if not p.name.startswith("."))
        for n in names:
            for vdir in self._dirs(self.root / n):
                try:
                    yield _info(vdir)
                except BundleError:
                    continue  # a damaged entry is reported by `get`/`load`, not by `list`

    @staticmethod
    def _dirs(path: Path) -> list:
        try:
            return [p for p in path.iterdir() if p.is_dir()]
        except FileNotFoundError:
            return []

    def list(self, name: Optional[str] = None, selector: Sequence[Requirement] = (), limit: Optional[int] = None,
             offset: int = 0, ascending: bool = False) -> list:
        items = [b for b in self._iter(name) if matches(selector, b.labels)]
        items.sort(key=lambda b: (b.created_at, b.version), reverse=not ascending)
        return items[offset: offset + limit if limit is not None else None]

    def get(self, tag: str) -> BundleInfo:
        name, version = parse_tag(tag)
        if version is None:
            found = self.list(name, limit=1)
            if not found:
                raise NotFound(f"no bundle named {name} in {self.root}")
            return found[0]
        path = self.root / name / version
        if not path.is_dir():
            raise NotFound(f"bundle {name}:{version} not found in {self.root}")
        return _info(path)

    def fetch(self, tag: str) -> str:
        return self.get(tag).location

    def delete(self, tag: str) -> BundleInfo:
        info = self.get(tag)
        trash = Path(self.staging_dir()) / "deleted"
        os.rename(info.location, trash)  # atomic: a reader sees it or not
        shutil.rmtree(trash.parent, ignore_errors=True)
        _cleanup_empty(Path(info.location).parent, self.root)
        return info


def _info(bundle_dir: Path, meta: Optional[BundleMetadata] = None) -> BundleInfo:
    """What a listing shows; the signer is the fingerprint in the bundle's signature file
    (checked when the bundle was pulled, and again whenever it is loaded)."""
    try:
        signer: Optional[str] = parse_signature((bundle_dir / SIGNATURE_FILE).read_text(encoding="utf-8")).fingerprint
    except (OSError, BadSignature):
        signer = None
    return BundleInfo(metadata=meta or _read(bundle_dir), location=str(bundle_dir), signer=signer)


def _read(bundle_dir: Path) -> BundleMetadata:
    path = bundle_dir / METADATA_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise BundleError(f"{bundle_dir} is not a bundle: {e.strerror}: {path}") from None
    return BundleMetadata.from_yaml(text, str(path))


def _cleanup_empty(path: Path, stop: Path) -> None:
    try:
        if path != stop and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    except OSError:
        pass


@hookimpl(trylast=True)
def repository_backend(config: Config) -> LocalRepository:
    return LocalRepository.default()
