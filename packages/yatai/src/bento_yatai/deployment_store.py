"""Yatai as core's DeploymentStore: `bento deployment ...` keeps its records in the registry
when `--yatai-url` is given or `yatai.url` is configured, so a team sees one list."""
from __future__ import annotations

from typing import Optional, Sequence

from bento.config import Config
from bento.deployer import Deployment
from bento.labels import Requirement

from .client import get_yatai_client

__all__ = ["YataiDeploymentStore"]


class YataiDeploymentStore:
    def __init__(self, url: str, token: Optional[str] = None, config: Optional[Config] = None) -> None:
        self.client = get_yatai_client(url, token, config)

    def __repr__(self) -> str:
        return f"YataiDeploymentStore({self.client.url!r})"

    @staticmethod
    def _record(data: dict) -> Deployment:
        return Deployment.from_dict(data)

    def add(self, deployment: Deployment) -> None:
        self.client.deployment.create(deployment.to_dict())

    def replace(self, deployment: Deployment) -> None:
        self.client.deployment.replace(deployment.to_dict())

    def get(self, name: str) -> Deployment:
        return self._record(self.client.deployment.get(name))

    def list(self, selector: Sequence[Requirement] = (), platform: Optional[str] = None) -> list:
        return [self._record(d) for d in self.client.deployment.list(list(selector), platform)]

    def delete(self, name: str) -> None:
        self.client.deployment.delete(name)
