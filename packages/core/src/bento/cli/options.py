"""What every command shares, public for plugins' commands: the CLI context (the plugin manager
and the configuration of this invocation), the common and registry options, one-line errors."""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import attrs
import click

from ..config import Config, load_config
from ..loading import load
from ..plugins import PluginManager
from ..repository import Repository, find, get_repository, resolve

__all__ = ["CliContext", "pass_cli", "common_options", "registry_options", "echo_err", "is_quiet", "is_verbose"]


@attrs.define
class CliContext:
    """`ctx.obj` of every command: the plugins the CLI was built with and the configuration
    (config.toml, BENTO_* variables, then what the command's flags override)."""

    plugins: PluginManager
    _config: Optional[Config] = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.plugins)
        return self._config

    def configure(self, overrides: dict) -> Config:
        """Apply a command's flags ({section: {key: value}}; None = not given) over the rest."""
        self._config = load_config(self.plugins, overrides=overrides)
        return self._config

    def repository(self, url: Optional[str] = None, token: Optional[str] = None) -> Repository:
        return get_repository(self.plugins, self.config, url, token)

    def resolve(self, bento: str) -> str:
        """The bundle directory of a path or a tag."""
        return resolve(bento, self.plugins, self.config)

    def find(self, bento: str) -> str:
        """A path or tag made sure of, without fetching it (`bento.repository.find`)."""
        return find(bento, self.plugins, self.config)

    def load(self, bento: str, trust_pickle: Optional[bool] = None) -> Any:
        return load(bento, trust_pickle=trust_pickle, plugins=self.plugins, config=self.config)


pass_cli = click.make_pass_decorator(CliContext)


class _State:
    verbose = False
    quiet = False


def reset_output_state() -> None:
    _State.verbose = _State.quiet = False


def is_quiet() -> bool:
    return _State.quiet


def is_verbose() -> bool:
    return _State.verbose


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _State.verbose = True
        logging.getLogger("bento").setLevel(logging.DEBUG)
    return value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _State.quiet = True
        logging.getLogger("bento").setLevel(logging.ERROR)
    return value


def common_options(func: Callable) -> Callable:
    """-q/--quiet and --verbose, accepted by every command (and by the root group)."""
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help="Print only results and errors.")(func)
    func = click.option("--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
                        help="Debug logging, and tracebacks on errors.")(func)
    return func


def registry_options(func: Callable) -> Callable:
    """--yatai-url/--yatai-token: use a registry instead of the configured repository."""
    func = click.option("--yatai-token", envvar="BENTO_YATAI_TOKEN", default=None, help="Token for the registry.")(func)
    return click.option("--yatai-url", default=None, metavar="URL",
                        help="Registry (host:port, grpc://, grpcs://) instead of the configured repository.")(func)
