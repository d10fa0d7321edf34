"""Hook specifications: the contract between Bento core and its plugins.

A plugin is a module with `@bento.hookimpl` functions, found through the `bento` entry
point group. Registration hooks receive a `register` callback owned by the host, which
resolves name clashes and remembers which plugin registered what.
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("bento")
hookimpl = pluggy.HookimplMarker("bento")

# ---------------------------------------------------------------- hook management


@hookspec(historic=True)
def bento_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Called once per plugin manager so a plugin can add hookspecs of its own
    (`pluginmanager.add_hookspecs(module)`) without core importing that plugin."""


# ---------------------------------------------------------------- registries


@hookspec
def register_artifacts(register: Callable[[type], None]) -> None:
    """Called when the registry is first used: `register(ArtifactClass)` for each artifact
    type. The class name is the type name written in bento.yml."""


@hookspec
def register_input_adapters(register: Callable[[type], None]) -> None:
    """Called when the registry is first used: `register(AdapterClass)` for each input adapter."""


@hookspec
def register_output_adapters(register: Callable[[type], None]) -> None:
    """Called when the registry is first used: `register(AdapterClass)` for each output adapter."""


@hookspec
def register_deployers(register: Callable[[str, type], None]) -> None:
    """Called when the registry is first used: `register(platform_name, DeployerClass)`."""


@hookspec
def register_config_sections(register: Callable[[str, type], None]) -> None:
    """Called when configuration is loaded: `register(section_name, AttrsClass)` declares a
    `[section]` of config.toml (and its BENTO_<SECTION>_<KEY> variables)."""


# ---------------------------------------------------------------- command line


@hookspec
def register_commands(cli: Any) -> None:
    """Called when the CLI is built: add click commands or groups to the root group `cli`."""


# ---------------------------------------------------------------- repository and serving


@hookspec(firstresult=True)
def repository_backend(config: Any) -> Any:
    """Return the repository used by save/list/get/delete, or None to pass. The built-in
    local repository answers last."""


@hookspec(firstresult=True)
def remote_repository(url: str, token: Any) -> Any:
    """Return a repository for a registry URL (`--yatai-url`, `save(yatai_url=...)`), or None."""


@hookspec(firstresult=True)
def deployment_store(config: Any, url: Any, token: Any) -> Any:
    """Return the store of deployment records (`bento.deployment.DeploymentStore`), or None to
    pass. `url`/`token` come from `--yatai-url`/`--yatai-token` (None when not given); without
    them, answer from `config` (e.g. `yatai.url`). The built-in store under
    $BENTO_HOME/deployments answers last, and only when no `url` was given."""


@hookspec(firstresult=True)
def start_dev_server(service: Any, host: str, port: int, config: Any) -> Any:
    """Start serving `service` in the background; return a handle with `.stop()` and `.url`,
    or None when this plugin does not serve. Used by `BentoService.start_dev_server()`."""
