"""Core's commands: bundles in the repository (list, get, delete, info, open-api-spec,
retrieve), `run`, `config` and `plugins`. The root group adds them before any plugin's, so a
plugin's command of the same name replaces core's."""
from __future__ import annotations

import json
import os
import shutil
from typing import Optional

import click

from ..bundle.manifest import verify_manifest
from ..bundle.reader import read_metadata
from ..exceptions import AlreadyExists, InvalidArgument, NotFound
from ..labels import matches, parse_selector, validate_name
from ..openapi import openapi_spec_from_metadata
from ..repository import parse_tag
from .config_cmd import config_group
from .options import CliContext, pass_cli, registry_options
from .output import output_option, render
from .plugins_cmd import plugins_cmd
from .run import run_cmd

__all__ = ["COMMANDS"]

LIST_COLUMNS = ("tag", "created_at", "apis", "artifacts", "labels")


def _selector(labels: Optional[str]) -> list:
    return parse_selector(labels) if labels else []


@click.command("list")
@click.argument("name", required=False)
@click.option("--labels", default=None, metavar="SELECTOR", help="Label selector, e.g. 'framework=sklearn, stage In (prod, qa)'.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many bundles.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many bundles first.")
@click.option("--ascending", is_flag=True, help="Oldest first (default: newest first).")
@output_option("table", "json", "yaml")
@registry_options
@pass_cli
def list_cmd(cli: CliContext, name: Optional[str], labels: Optional[str], limit: Optional[int], offset: int,
             ascending: bool, output: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """List saved bundles, newest first."""
    if name:
        validate_name(name)
    items = cli.repository(yatai_url, yatai_token).list(name, _selector(labels), limit, offset, ascending)
    render([b.summary() for b in items], output, LIST_COLUMNS)


@click.command("get")
@click.argument("bento")
@click.option("--labels", default=None, metavar="SELECTOR", help="Only bundles whose labels match.")
@click.option("--print-location", is_flag=True, help="Print only where the bundle is (for scripts).")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default=None,
              help="Output format [default: a table for NAME, YAML for one bundle].")
@registry_options
@pass_cli
def get_cmd(cli: CliContext, bento: str, labels: Optional[str], print_location: bool, output: Optional[str],
            yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Show one bundle (NAME:VERSION, NAME:latest) or the versions of NAME."""
    repo = cli.repository(yatai_url, yatai_token)
    selector = _selector(labels)
    name, version = parse_tag(bento)
    if ":" not in bento and not print_location:
        items = repo.list(name, selector)
        if not items:
            raise NotFound(f"no bundle named {name}" + (f" with labels {labels}" if labels else ""))
        render([b.summary() for b in items], output or "table", LIST_COLUMNS)
        return
    found = repo.list(name, selector, limit=1) if version is None and selector else [repo.get(bento)]
    if not found or not matches(selector, found[0].labels):
        raise NotFound(f"no bundle {bento}" + (f" with labels {labels}" if labels else ""))
    info = found[0]
    if print_location:
        click.echo(info.location)
        return
    data = {**info.metadata.to_dict(), "location": info.location, "signer": info.signer}
    render(info.summary() if output == "table" else data, output or "yaml", LIST_COLUMNS)


@click.command("delete")
@click.argument("bentos", nargs=-1)
@click.option("--labels", default=None, metavar="SELECTOR", help="Only bundles whose labels match (alone: all such bundles).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@registry_options
@pass_cli
def delete_cmd(cli: CliContext, bentos: tuple, labels: Optional[str], yes: bool, yatai_url: Optional[str],
               yatai_token: Optional[str]) -> None:
    """Delete bundles (NAME:VERSION, NAME:latest; NAME alone means every version)."""
    repo = cli.repository(yatai_url, yatai_token)
    selector = _selector(labels)
    if not bentos and not selector:
        raise InvalidArgument("name at least one BENTO or give --labels")
    targets: dict = {}
    for bento in bentos:
        name, version = parse_tag(bento)
        found = [repo.get(bento)] if ":" in bento else repo.list(name)
        if not found:
            raise NotFound(f"no bundle named {name}")
        targets.update((b.tag, b) for b in found)
    if not bentos:
        targets = {b.tag: b for b in repo.list(None, selector)}
    targets = {t: b for t, b in targets.items() if matches(selector, b.labels)}
    if not targets:
        raise NotFound(f"no bundle matches the labels {labels}")
    tags = sorted(targets)
    if not yes:
        click.confirm(f"Delete {len(tags)} bundle(s): {', '.join(tags)}?", abort=True, err=True)
    for tag in tags:
        repo.delete(tag)
        click.echo(f"deleted {tag}", err=True)


@click.command("info")
@click.argument("bento")
@output_option("json", "yaml", default="yaml")
@pass_cli
def info_cmd(cli: CliContext, bento: str, output: str) -> None:
    """Show a bundle's APIs, artifacts, environment and labels (from its bento.yml)."""
    render(read_metadata(cli.resolve(bento)).to_dict(), output)


@click.command("open-api-spec")
@click.argument("bento")
@pass_cli
def open_api_spec_cmd(cli: CliContext, bento: str) -> None:
    """Print the OpenAPI 3 document of the bundle's HTTP API (from its bento.yml: no code of the bundle runs)."""
    meta = read_metadata(cli.resolve(bento))
    click.echo(json.dumps(openapi_spec_from_metadata(meta, cli.plugins.registry), indent=2))


@click.command("retrieve")
@click.argument("bento")
@click.option("--target-dir", required=True, type=click.Path(file_okay=False), help="New directory to copy the bundle to.")
@registry_options
@pass_cli
def retrieve_cmd(cli: CliContext, bento: str, target_dir: str, yatai_url: Optional[str],
                 yatai_token: Optional[str]) -> None:
    """Copy a bundle out of the repository into a new directory (never overwrites)."""
    if os.path.lexists(target_dir):
        raise AlreadyExists(f"{target_dir} already exists; retrieve never overwrites: choose a new directory")
    src = cli.repository(yatai_url, yatai_token).fetch(bento) if (yatai_url or not os.path.isdir(bento)) else bento
    verify_manifest(src)
    tmp = f"{target_dir.rstrip(os.sep)}.partial-{os.getpid()}"
    shutil.copytree(src, tmp, symlinks=True)
    try:
        os.rename(tmp, target_dir)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise AlreadyExists(f"{target_dir} appeared while copying; nothing was overwritten") from None
    click.echo(os.path.abspath(target_dir))


COMMANDS = (list_cmd, get_cmd, delete_cmd, run_cmd, info_cmd, open_api_spec_cmd, retrieve_cmd, config_group,
            plugins_cmd)
