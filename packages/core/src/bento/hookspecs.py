"""Hook specifications: the contract between Bento core and its plugins.

A plugin is a module with `@bento.hookimpl` functions, found through the `bento` entry point
group. Registration hooks receive a `register` callback owned by the host, which resolves name
clashes and knows which distribution provides each type. The types named here are imported for
type checkers only, so this module stays at the bottom of core's layers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

import pluggy

from .markers import hookimpl, hookspec

if TYPE_CHECKING:
    import click

    from .adapters import BaseInputAdapter, BaseOutputAdapter
    from .artifacts.base import BentoServiceArtifact
    from .batching import Batcher
    from .config import Config
    from .deployer import Deployer, DeploymentStore
    from .repository.base import Repository

__all__ = ["hookspec", "hookimpl", "DevServer"]


class DevServer(Protocol):
    """What `start_dev_server` returns: where it listens, and how to stop it."""

    url: str

    def stop(self) -> None: ...


# ---------------------------------------------------------------- hook management


@hookspec(historic=True)
def bento_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Called once per plugin manager so a plugin can add hookspecs of its own
    (`pluginmanager.add_hookspecs(module)`) without core importing that plugin."""


# ---------------------------------------------------------------- registries


@hookspec
def register_artifacts(register: Callable[[type[BentoServiceArtifact]], None]) -> None:
    """Called when the plugin manager's registry first needs an artifact type (each kind's hook
    runs on the first lookup or listing of that kind): `register(ArtifactClass)` for each
    artifact type. The class name is the type name written in bento.yml."""


@hookspec
def register_input_adapters(register: Callable[[type[BaseInputAdapter]], None]) -> None:
    """Called when the registry first needs an input adapter: `register(AdapterClass)` for each."""


@hookspec
def register_output_adapters(register: Callable[[type[BaseOutputAdapter]], None]) -> None:
    """Called when the registry first needs an output adapter: `register(AdapterClass)` for each."""


@hookspec
def register_deployers(register: Callable[[str, type[Deployer]], None]) -> None:
    """Called when the registry first needs a platform: `register(platform_name, DeployerClass)`."""


@hookspec
def register_batchers(register: Callable[[str, type[Batcher]], None]) -> None:
    """Called when the registry first needs a batcher: `register(name, BatcherClass)`; a server picks
    its batcher by name from `[batching] batcher` (default `adaptive`, bento-server's), `bento
    run` from `[run] batcher` (default `offline`, core's)."""


@hookspec
def register_config_sections(register: Callable[[str, type], None]) -> None:
    """Called when configuration is loaded: `register(section_name, AttrsClass)` declares a
    `[section]` of config.toml (and its BENTO_<SECTION>_<KEY> variables)."""


# ---------------------------------------------------------------- command line


@hookspec
def register_commands(cli: click.Group) -> None:
    """Called when the CLI is built: add click commands or groups to the root group `cli`."""


# ---------------------------------------------------------------- repository, deployments and serving


@hookspec(firstresult=True)
def repository_backend(config: Config) -> Optional[Repository]:
    """Return the repository used by save/list/get/delete, or None to pass. The built-in
    local repository answers last."""


@hookspec(firstresult=True)
def remote_repository(url: str, token: Optional[str], config: Config) -> Optional[Repository]:
    """Return a repository for a registry URL (`--yatai-url`, `save(yatai_url=...)`), or None."""


@hookspec(firstresult=True)
def deployment_store(config: Config, url: Optional[str], token: Optional[str]) -> Optional[DeploymentStore]:
    """Return the store of deployment records, or None to pass. `url`/`token` come from
    `--yatai-url`/`--yatai-token` (None when not given); without them, answer from `config`
    (e.g. `yatai.url`). bento-deploy's store under $BENTO_HOME/deployments answers last, and
    only when no `url` was given."""


@hookspec(firstresult=True)
def start_dev_server(service: Any, host: str, port: int, config: Config) -> Optional[DevServer]:
    """Start serving `service` in the background and return its handle, or None when this
    plugin does not serve. Used by `BentoService.start_dev_server()`."""
