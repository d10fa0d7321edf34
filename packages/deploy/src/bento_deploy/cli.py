"""`bento deployment create|update|get|list|delete`: bundles served on any registered platform."""
from __future__ import annotations

import re
from typing import Any, Optional

import click
from bento.cli.options import CliContext, echo_err, pass_cli, registry_options
from bento.cli.output import output_option, render
from bento.exceptions import BentoError, InvalidArgument
from bento.labels import parse_selector

from .manager import Deployments

__all__ = ["deployment_group"]

COLUMNS = ("name", "platform", "bento", "state", "endpoint", "labels", "created_at")


def parse_labels(text: Optional[str]) -> Optional[dict]:
    """`key:value,key2:value2` (or `key=value`) as a dict; the label rules are checked later."""
    if text is None:
        return None
    labels = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([^:=]+)[:=](.*)", item, re.DOTALL)
        if not m:
            raise InvalidArgument(f"--labels {text!r}: expected KEY:VALUE pairs separated by commas, got {item!r}")
        labels[m.group(1).strip()] = m.group(2).strip()
    return labels


def parse_options(items: tuple) -> dict:
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def _deployments(cli: CliContext, yatai_url: Optional[str], yatai_token: Optional[str]) -> Deployments:
    return Deployments.open(cli.plugins, cli.config, yatai_url, yatai_token)


def _show(record: Any, output: str) -> None:
    render(record.to_dict(), output, COLUMNS)


def _report(record: Any, output: str) -> None:
    """Print the record; a deployment that ended in `error` also makes the command fail."""
    _show(record, output)
    if record.state == "error":
        raise BentoError(f"deployment '{record.name}' is in state error: {record.error}")
    if record.state == "pending":
        echo_err(f"'{record.name}' is still pending: `bento deployment get {record.name}` shows when it runs")


def _change_options(func: Any) -> Any:
    """Options shared by create and update."""
    func = click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
                        help="Seconds to wait while the deployment is pending (0: do not wait).")(func)
    func = click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                        help="Platform option, repeatable (e.g. port=8080, replicas=3, output_dir=k8s).")(func)
    func = click.option("--labels", default=None, metavar="KEY:VALUE,...", help="Labels of the deployment.")(func)
    return func


@click.group("deployment")
def deployment_group() -> None:
    """Serve bundles on a platform (local, kubernetes or a plugin's) and track them.

    Records live in $BENTO_HOME/deployments, or in Yatai when it is configured.
    """


@deployment_group.command("create")
@click.argument("name")
@click.option("--bento", required=True, metavar="BENTO", help="Bundle to deploy (NAME:VERSION, NAME:latest, path).")
@click.option("--platform", required=True, metavar="PLATFORM",
              help="local, kubernetes, or a platform a plugin adds (`bento plugins` lists them).")
@_change_options
@output_option("table", "json", "yaml", default="yaml")
@registry_options
@pass_cli
def create_cmd(cli: CliContext, name: str, bento: str, platform: str, labels: Optional[str], options: tuple, timeout: float,
               output: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Deploy BENTO as NAME and wait (up to --timeout) until it runs."""
    record = _deployments(cli, yatai_url, yatai_token).create(name, bento, platform, parse_labels(labels),
                                                              parse_options(options), timeout)
    _report(record, output)


@deployment_group.command("update")
@click.argument("name")
@click.option("--bento", default=None, metavar="BENTO", help="Deploy this bundle instead.")
@_change_options
@output_option("table", "json", "yaml", default="yaml")
@registry_options
@pass_cli
def update_cmd(cli: CliContext, name: str, bento: Optional[str], labels: Optional[str], options: tuple, timeout: float,
               output: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Redeploy NAME: new bundle, labels (replaced) or options (merged; KEY= removes one)."""
    record = _deployments(cli, yatai_url, yatai_token).update(name, bento, parse_labels(labels),
                                                              parse_options(options), timeout)
    _report(record, output)


@deployment_group.command("get")
@click.argument("name")
@output_option("table", "json", "yaml", default="yaml")
@registry_options
@pass_cli
def get_cmd(cli: CliContext, name: str, output: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Show NAME with the state its platform reports now."""
    _show(_deployments(cli, yatai_url, yatai_token).get(name), output)


@deployment_group.command("list")
@click.option("--labels", default=None, metavar="SELECTOR", help="Label selector, e.g. 'team=ml, stage In (qa, prod)'.")
@click.option("--platform", default=None, metavar="PLATFORM", help="Only deployments on this platform.")
@output_option("table", "json", "yaml")
@registry_options
@pass_cli
def list_cmd(cli: CliContext, labels: Optional[str], platform: Optional[str], output: str, yatai_url: Optional[str],
             yatai_token: Optional[str]) -> None:
    """List deployments with their current state."""
    selector = parse_selector(labels) if labels else []
    records = _deployments(cli, yatai_url, yatai_token).list(selector, platform)
    render([r.to_dict() for r in records], output, COLUMNS)


@deployment_group.command("delete")
@click.argument("name")
@registry_options
@pass_cli
def delete_cmd(cli: CliContext, name: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Stop NAME on its platform and remove its record (no confirmation)."""
    _deployments(cli, yatai_url, yatai_token).delete(name)
    echo_err(f"deleted deployment {name}")
