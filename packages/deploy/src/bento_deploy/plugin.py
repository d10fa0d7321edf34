"""The `deploy` entry point of the `bento` group: the `local` and `kubernetes` platforms, the local
record store and the `deployment`/`containerize` commands, registered `trylast` where a
third-party plugin may replace them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from bento import hookimpl
from bento.config import Config

from .store import LocalDeploymentStore

if TYPE_CHECKING:
    import click

__all__ = ["register_deployers", "deployment_store", "register_commands"]


@hookimpl(trylast=True)
def register_deployers(register: Callable[[str, type], None]) -> None:
    # The registry collects platforms only when one is looked up: PyYAML and the process plumbing
    # stay off the jobs that save, load or serve a bundle.
    from .kubernetes import KubernetesDeployer
    from .local import LocalDeployer

    register("local", LocalDeployer)
    register("kubernetes", KubernetesDeployer)


@hookimpl(trylast=True)
def deployment_store(config: Config, url: Optional[str]) -> Optional[LocalDeploymentStore]:
    return None if url else LocalDeploymentStore.default()


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .cli import deployment_group  # click and the commands' imports only when a CLI is built
    from .containerize_cmd import containerize_cmd

    cli.add_command(deployment_group)
    cli.add_command(containerize_cmd)
