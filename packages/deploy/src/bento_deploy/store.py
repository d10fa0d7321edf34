"""Where deployment records live: $BENTO_HOME/deployments by default, a registry through the
`deployment_store` hook (bento-yatai), so every machine sharing the registry sees the same list."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional, Sequence

from bento.config import Config, bento_home
from bento.deployer import Deployment, DeploymentStore, validate_deployment_name
from bento.exceptions import AlreadyExists, MissingPlugin, NotFound
from bento.labels import Requirement, matches
from bento.plugins import PluginManager

from .files import locked, read_json, write_json

__all__ = ["LocalDeploymentStore", "get_deployment_store"]

log = logging.getLogger(__name__)


class LocalDeploymentStore:
    """One JSON file per deployment, replaced atomically; changes take a lock file so concurrent
    CLIs cannot both create the same name or resurrect a deleted record."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> "LocalDeploymentStore":
        """The records under $BENTO_HOME."""
        return cls(bento_home() / "deployments")

    def __repr__(self) -> str:
        return f"LocalDeploymentStore({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        return self.root / f"{validate_deployment_name(name)}.json"

    def _lock(self) -> Any:
        return locked(self.root / ".lock")

    def add(self, deployment: Deployment) -> None:
        path = self._path(deployment.name)
        with self._lock():
            existing = read_json(path)
            if existing is not None:
                raise AlreadyExists(f"deployment '{deployment.name}' already exists (platform "
                                    f"{existing.get('platform')}, bento {existing.get('bento')}): "
                                    "delete it first or choose another name")
            write_json(path, deployment.to_dict())

    def replace(self, deployment: Deployment) -> None:
        path = self._path(deployment.name)
        with self._lock():
            if not path.exists():
                raise NotFound(f"no deployment named '{deployment.name}'")
            write_json(path, deployment.to_dict())

    def get(self, name: str) -> Deployment:
        data = read_json(self._path(name))
        if data is None:
            raise NotFound(f"no deployment named '{name}'")
        return Deployment.from_dict(data)

    def list(self, selector: Sequence[Requirement] = (), platform: Optional[str] = None) -> list:
        records = []
        for path in sorted(self.root.glob("*.json")):
            try:
                data = read_json(path)
                if data is None:
                    continue  # deleted since the glob
                record = Deployment.from_dict(data)
            except (ValueError, TypeError) as e:
                log.warning("skipping unreadable deployment record %s: %s", path, e)
                continue
            if (platform is None or record.platform == platform) and matches(selector, record.labels):
                records.append(record)
        return records

    def delete(self, name: str) -> None:
        path = self._path(name)
        with self._lock():
            try:
                os.remove(path)
            except FileNotFoundError:
                raise NotFound(f"no deployment named '{name}'") from None


def get_deployment_store(pm: PluginManager, config: Config, url: Optional[str] = None,
                         token: Optional[str] = None) -> DeploymentStore:
    """The store for `url` (a registry, through a plugin), else the configured one."""
    store = pm.hook.deployment_store(config=config, url=url, token=token)
    if store is None:
        raise MissingPlugin("deployment store for URL", str(url), "bento-yatai")
    return store
