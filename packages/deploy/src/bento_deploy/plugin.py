"""The `deploy` entry point of the `bento` group: the `local` and `kubernetes` platforms, the local
record store and the `deployment`/`containerize` commands, registered `trylast` where a
third-party plugin may replace them."""
from __future__ import annotations

from typing import Callable, Optional

import click
from bento import hookimpl
from bento.config import Config

from .cli import deployment_group
from .containerize_cmd import containerize_cmd
from .store import LocalDeploymentStore

__all__ = ["register_deployers", "deployment_store", "register_commands"]


@hookimpl(trylast=True)
def register_deployers(register: Callable[[str, type], None]) -> None:
    # Every command that loads a bundle builds the registry: keep PyYAML and subprocess plumbing off it.
    from .kubernetes import KubernetesDeployer
    from .local import LocalDeployer

    register("local", LocalDeployer)
    register("kubernetes", KubernetesDeployer)


@hookimpl(trylast=True)
def deployment_store(config: Config, url: Optional[str]) -> Optional[LocalDeploymentStore]:
    return None if url else LocalDeploymentStore.default()


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(deployment_group)
    cli.add_command(containerize_cmd)
