"""Yatai as a core Repository (used by `--yatai-url`, `svc.save(yatai_url=...)` and, when
`yatai.url` is configured, by every repository command): `add` pushes, `fetch` pulls into a
cache under $BENTO_HOME/yatai/cache keyed by the archive's sha256."""
from __future__ import annotations

from typing import Optional, Sequence

from bento.config import Config, bento_home
from bento.labels import Requirement
from bento.repository import BundleInfo

from .client import get_yatai_client

__all__ = ["YataiRepository"]


class YataiRepository:
    def __init__(self, url: str, token: Optional[str] = None, config: Optional[Config] = None) -> None:
        self.client = get_yatai_client(url, token, config)
        self.url = self.client.url

    def __repr__(self) -> str:
        return f"YataiRepository({self.url!r})"

    def add(self, bundle_dir: str) -> BundleInfo:
        return self.client.repository.push_dir(bundle_dir)

    def list(self, name: Optional[str] = None, selector: Sequence[Requirement] = (), limit: Optional[int] = None,
             offset: int = 0, ascending: bool = False) -> list:
        return self.client.repository.list(name, list(selector), limit, offset, ascending)

    def get(self, tag: str) -> BundleInfo:
        return self.client.repository.get(tag)

    def delete(self, tag: str) -> BundleInfo:
        return self.client.repository.delete(tag)

    def fetch(self, tag: str) -> str:
        return self.client.repository.fetch(tag, str(bento_home() / "yatai" / "cache"))
