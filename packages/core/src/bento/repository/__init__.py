"""Repositories: where saved bundles live (the local directory by default, Yatai through a
plugin), how a tag becomes a bundle directory, and how a service is saved into one."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Optional

from ..bundle.writer import write_bundle
from ..config import Config
from ..exceptions import MissingPlugin, NotFound
from ..plugins import PluginManager
from .base import BundleInfo, Repository, parse_tag
from .local import LocalRepository

__all__ = ["BundleInfo", "Repository", "LocalRepository", "parse_tag", "get_repository", "resolve", "find",
           "save_service"]


def get_repository(pm: PluginManager, config: Config, url: Optional[str] = None,
                   token: Optional[str] = None) -> Repository:
    """The repository for `url` (a registry, through a plugin), else the configured backend."""
    if url:
        repo = pm.hook.remote_repository(url=url, token=token, config=config)
        if repo is None:
            raise MissingPlugin("repository URL", url, "bento-yatai")
        return repo
    return pm.hook.repository_backend(config=config)


def resolve(path_or_tag: str, pm: PluginManager, config: Config) -> str:
    """A bundle directory for a path, or for a tag looked up in the configured repository."""
    return _directory(path_or_tag) or get_repository(pm, config).fetch(path_or_tag)


def find(path_or_tag: str, pm: PluginManager, config: Config) -> str:
    """`path_or_tag` made sure of without fetching the bundle: its directory, or the NAME:VERSION
    the tag names now (so a version pushed meanwhile cannot change what `resolve` then fetches)."""
    return _directory(path_or_tag) or get_repository(pm, config).get(path_or_tag).metadata.tag


def _directory(path_or_tag: str) -> Optional[str]:
    """The directory a path names; None for a tag."""
    if os.path.isdir(path_or_tag):
        return os.path.abspath(path_or_tag)
    if ":" not in path_or_tag and (os.sep in path_or_tag or path_or_tag.startswith(".")):
        raise NotFound(f"no bundle directory at {path_or_tag}")
    return None


def save_service(svc: Any, pm: PluginManager, config: Config, labels: Optional[dict] = None,
                 yatai_url: Optional[str] = None, yatai_token: Optional[str] = None) -> str:
    """Write the bundle to a staging directory, then add it to the repository in one step."""
    repo = get_repository(pm, config, yatai_url, yatai_token)
    if isinstance(repo, LocalRepository):
        staging = repo.staging_dir()
        try:
            return repo.add(write_bundle(svc, f"{staging}/bundle", pm.registry, labels=labels)).location
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="bento-save-") as tmp:
        return repo.add(write_bundle(svc, f"{tmp}/bundle", pm.registry, labels=labels)).location
