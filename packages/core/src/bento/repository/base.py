"""What every repository backend offers (the local one here, Yatai in bento-yatai)."""
from __future__ import annotations

from typing import Optional, Protocol, Sequence

import attrs

from ..bundle.metadata import BundleMetadata
from ..exceptions import InvalidArgument
from ..labels import Requirement, validate_name, validate_version

__all__ = ["BundleInfo", "Repository", "parse_tag"]


@attrs.frozen(kw_only=True)
class BundleInfo:
    """A saved bundle as a repository lists it; `location` is a path or a registry URI."""

    metadata: BundleMetadata
    location: str
    signer: Optional[str] = None  # fingerprint of the key that signed the bundle's manifest

    name = property(lambda self: self.metadata.name)
    version = property(lambda self: self.metadata.version)
    created_at = property(lambda self: self.metadata.created_at)
    labels = property(lambda self: self.metadata.labels)
    tag = property(lambda self: self.metadata.tag)

    def summary(self) -> dict:
        """The row shown by `bento list` and returned by `-o json`."""
        m = self.metadata
        return {"tag": m.tag, "name": m.name, "version": m.version, "created_at": m.created_at,
                "apis": [a.name for a in m.apis], "artifacts": [f"{a.name}:{a.type}" for a in m.artifacts],
                "labels": dict(m.labels), "location": self.location, "signer": self.signer}


def parse_tag(tag: str) -> tuple:
    """`NAME` / `NAME:latest` -> (name, None); `NAME:VERSION` -> (name, version)."""
    if not isinstance(tag, str) or not tag:
        raise InvalidArgument("a bundle tag looks like NAME, NAME:latest or NAME:VERSION")
    name, _, version = tag.partition(":")
    validate_name(name)
    if not version or version == "latest":
        return name, None
    return name, validate_version(version)


class Repository(Protocol):
    """Save, find and remove bundles. `fetch` returns a local bundle directory to load."""

    def add(self, bundle_dir: str) -> BundleInfo: ...

    def list(self, name: Optional[str] = None, selector: Sequence[Requirement] = (), limit: Optional[int] = None,
             offset: int = 0, ascending: bool = False) -> list: ...

    def get(self, tag: str) -> BundleInfo: ...

    def delete(self, tag: str) -> BundleInfo: ...

    def fetch(self, tag: str) -> str: ...
