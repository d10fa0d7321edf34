"""The `yatai` entry point of the `bento` group. Cheap to import: every hook imports what it
needs (gRPC, Peewee, minio) only when it runs."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import pluggy

from bento import hookimpl

__all__ = ["bento_addhooks", "register_config_sections", "register_commands", "remote_repository",
           "repository_backend", "deployment_store", "yatai_storage_backend"]


@hookimpl
def bento_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def register_config_sections(register: Callable[[str, type], None]) -> None:
    from .config import YataiConfig

    register("yatai", YataiConfig)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import add_commands

    add_commands(cli)


@hookimpl
def remote_repository(url: str, token: Optional[str], config: Any) -> Any:
    from .repository import YataiRepository

    return YataiRepository(url, token, config)


@hookimpl
def repository_backend(config: Any) -> Any:
    """Yatai is the repository when `yatai.url` is configured; otherwise core's local one."""
    section = config.section("yatai")
    if not section.url:
        return None
    from .repository import YataiRepository

    return YataiRepository(section.url, section.token or None, config)


@hookimpl
def deployment_store(config: Any, url: Optional[str], token: Optional[str]) -> Any:
    """Deployment records live in Yatai for `--yatai-url`, or when `yatai.url` is configured."""
    section = config.section("yatai")
    if not (url or section.url):
        return None
    from .deployment_store import YataiDeploymentStore

    return YataiDeploymentStore(url or section.url, token or section.token or None, config)


@hookimpl(trylast=True)
def yatai_storage_backend(url: str, options: Mapping[str, Any]) -> Optional[Any]:
    if url.startswith("s3://"):
        from .storage.s3 import S3Storage

        return S3Storage.from_url(url, options)
    if "://" in url and not url.startswith("file://"):
        return None
    from .storage.local import LocalStorage

    return LocalStorage(url[len("file://"):] if url.startswith("file://") else url)
