"""`bento yatai start`, `bento push`, `bento pull` (and the `bento-yatai` console script).
Imported whenever the CLI is built, so it only imports click and core here."""
from __future__ import annotations

import sys
from typing import Any, Optional

import click

from bento.cli.options import CliContext, is_quiet, pass_cli, registry_options

__all__ = ["add_commands", "yatai_main"]


class _Progress:
    """A (done, total) callback drawing a bar on stderr; silent under --quiet."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if is_quiet():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr, width=30)
            self.bar.__enter__()
        self.bar.update(max(0, done - self.done))
        self.done = max(done, self.done)

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _client(cli: CliContext, yatai_url: Optional[str], yatai_token: Optional[str]) -> Any:
    from .client import get_yatai_client  # gRPC: only for the commands that talk to a registry

    return get_yatai_client(yatai_url, yatai_token, cli.config)


@click.command("push")
@click.argument("bento")
@registry_options
@pass_cli
def push_cmd(cli: CliContext, bento: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Upload a bundle (NAME:VERSION, NAME:latest or a bundle path) from the local repository to Yatai."""
    with _client(cli, yatai_url, yatai_token) as yc, _Progress(f"pushing {bento}") as progress:
        info = yc.repository.push(bento, progress)
    click.echo(f"pushed {info.tag} to {yc.url}", err=True)
    click.echo(info.tag)


@click.command("pull")
@click.argument("bento")
@registry_options
@pass_cli
def pull_cmd(cli: CliContext, bento: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Download a bundle from Yatai into the local repository; prints its path there."""
    with _client(cli, yatai_url, yatai_token) as yc, _Progress(f"pulling {bento}") as progress:
        path = yc.repository.pull(bento, progress)
    click.echo(path)


@click.group("yatai")
def yatai_group() -> None:
    """Run a Yatai registry server."""


@yatai_group.command("start")
@click.option("--db-url", default=None, metavar="URL",
              help="sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB [default: yatai.db_url, else "
                   "sqlite under $BENTO_HOME/yatai/].")
@click.option("--repo-base-url", default=None, metavar="DIR|s3://BUCKET/PREFIX",
              help="Where archives are stored [default: yatai.repo_base_url, else $BENTO_HOME/yatai/bundles].")
@click.option("--s3-endpoint-url", default=None, metavar="URL",
              help="S3-compatible endpoint, e.g. http://127.0.0.1:9000 [default: yatai.s3_endpoint_url, AWS S3]. "
                   "Credentials: yatai.s3_access_key/s3_secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (gRPC and UI).")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=50051, show_default=True)
@click.option("--ui-port", type=click.IntRange(0, 65535), default=3000, show_default=True)
@click.option("--no-ui", is_flag=True, help="Do not serve the web UI.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="Lines `read:TOKEN` / `write:TOKEN`; every call then needs a token.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, help="PEM certificate: serve grpcs://.")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None, help="PEM private key of --tls-cert.")
@click.option("--gc-grace-seconds", type=click.FloatRange(0), default=3600.0, show_default=True,
              help="Temporary uploads older than this are dead; longer than any push on any server sharing "
                   "the store.")
@pass_cli
def start_cmd(cli: CliContext, db_url: Optional[str], repo_base_url: Optional[str], s3_endpoint_url: Optional[str], host: str,
              grpc_port: int, ui_port: int, no_ui: bool, token_file: Optional[str], tls_cert: Optional[str],
              tls_key: Optional[str], gc_grace_seconds: float) -> None:
    """Serve the registry in the foreground (Ctrl-C or SIGTERM stops it after in-flight calls)."""
    import attrs
    from bento.config import bento_home

    from .config import yatai_config
    from .db import default_db_url
    from .server import ServerOptions, serve  # gRPC, Peewee, minio: only when a server starts

    cfg = yatai_config(cli.config)
    storage_options = {**attrs.asdict(cfg), "s3_endpoint_url": s3_endpoint_url or cfg.s3_endpoint_url}
    serve(ServerOptions(
        db_url=db_url or cfg.db_url or default_db_url(),
        repo_base_url=repo_base_url or cfg.repo_base_url or str(bento_home() / "yatai" / "bundles"),
        storage_options=storage_options, host=host, grpc_port=grpc_port, ui_port=None if no_ui else ui_port,
        token_file=token_file, tls_cert=tls_cert, tls_key=tls_key, gc_grace_seconds=gc_grace_seconds,
        plugins=cli.plugins))


def add_commands(cli: click.Group) -> None:
    for cmd in (push_cmd, pull_cmd, yatai_group):
        cli.add_command(cmd)


def yatai_main(argv: Optional[list] = None) -> None:
    """The `bento-yatai` console script: `bento yatai start` with the same options."""
    from bento.cli import make_cli

    make_cli().main(args=["yatai", "start", *(sys.argv[1:] if argv is None else argv)], prog_name="bento-yatai")
