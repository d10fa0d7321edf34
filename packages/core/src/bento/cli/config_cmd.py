"""`bento config get|set|unset|view`: edit $BENTO_HOME/config.toml, checked against the known keys."""
from __future__ import annotations

import click

from ..config import config_path, load_config, parse_value, read_file, split_key
from ..exceptions import ConfigError
from ..plugins import PluginManager
from .options import CliContext, pass_cli
from .output import output_option, render

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Read and change the configuration ($BENTO_HOME/config.toml, overridden by BENTO_<SECTION>_<KEY>)."""


def _write(pm: PluginManager, data: dict) -> None:
    import tomli_w  # third-party: only when writing

    load_config(pm, environ={}, file_data=data)  # refuse what would not load
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)


@config_group.command("get")
@click.argument("key")
@pass_cli
def config_get(cli: CliContext, key: str) -> None:
    """Print the effective value of KEY (section.key)."""
    value = cli.config.get(key)
    click.echo(str(value).lower() if isinstance(value, bool) else value)


@config_group.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_cli
def config_set(cli: CliContext, assignments: tuple) -> None:
    """Set KEY=VALUE pairs in config.toml (e.g. yatai.url=grpc://127.0.0.1:50051)."""
    data = read_file()
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"'{item}' must look like section.key=value")
        section, name = split_key(key.strip())
        data.setdefault(section, {})[name] = parse_value(value.strip())
    _write(cli.plugins, data)


@config_group.command("unset")
@click.argument("keys", nargs=-1, required=True)
@pass_cli
def config_unset(cli: CliContext, keys: tuple) -> None:
    """Remove KEYs from config.toml (they fall back to their defaults)."""
    data = read_file()
    for key in keys:
        section, name = split_key(key)
        data.get(section, {}).pop(name, None)
        if section in data and not data[section]:
            del data[section]
    _write(cli.plugins, data)


@config_group.command("view")
@output_option("toml", "json", "yaml", default="toml")
@pass_cli
def config_view(cli: CliContext, output: str) -> None:
    """Print the effective configuration (file + environment)."""
    data = cli.config.to_dict()
    if output == "toml":
        import tomli_w  # third-party: only for this format

        click.echo(tomli_w.dumps({k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in data.items()}).rstrip())
    else:
        render(data, output)
