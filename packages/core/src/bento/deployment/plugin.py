"""Core's deployment pieces as a plugin: the `local` and `kubernetes` platforms and the local
record store, registered `trylast` so a third-party plugin can replace any of them."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def register_deployers(register: Callable[[str, type], None]) -> None:
    from .kubernetes import KubernetesDeployer
    from .local import LocalDeployer

    register("local", LocalDeployer)
    register("kubernetes", KubernetesDeployer)


@hookimpl(trylast=True)
def deployment_store(config: Any, url: Optional[str]) -> Any:
    from .store import LocalDeploymentStore

    return None if url else LocalDeploymentStore.from_config(config)
