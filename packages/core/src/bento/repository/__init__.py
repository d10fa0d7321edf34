"""Repositories: where saved bundles live (local directory by default, a plugin may add others)."""
from __future__ import annotations

import shutil
from typing import Any, Optional

from .base import BundleInfo, Repository, parse_tag

__all__ = ["BundleInfo", "Repository", "parse_tag", "get_repository", "save_service"]


def get_repository(url: Optional[str] = None, token: Optional[str] = None) -> Repository:
    """The repository for `url` (a registry, through a plugin), else the configured backend."""
    from ..config import get_config
    from ..exceptions import MissingPlugin
    from ..plugins import default_plugin_manager

    pm = default_plugin_manager()
    if url:
        repo = pm.hook.remote_repository(url=url, token=token)
        if repo is None:
            raise MissingPlugin("repository URL", url, "bento-yatai")
        return repo
    return pm.hook.repository_backend(config=get_config())


def save_service(svc: Any, labels: Optional[dict] = None, yatai_url: Optional[str] = None,
                 yatai_token: Optional[str] = None) -> str:
    """Write the bundle to a staging directory, then add it to the repository in one step."""
    from ..bundle.writer import write_bundle
    from .local import LocalRepository

    repo = get_repository(yatai_url, yatai_token)
    if isinstance(repo, LocalRepository):
        staging = repo.staging_dir()
        try:
            return repo.add(write_bundle(svc, f"{staging}/bundle", labels=labels)).location
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bento-save-") as tmp:
        return repo.add(write_bundle(svc, f"{tmp}/bundle", labels=labels)).location
