"""`bento yatai start`, `bento push`, `bento pull` (and the `bento-yatai` console script).
Imported whenever the CLI is built, so it only imports click and core here."""
from __future__ import annotations

import os
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


def _client(cli: CliContext, yatai_url: Optional[str], yatai_token: Optional[str],
            signing_key: Optional[str] = None) -> Any:
    from .client import get_yatai_client  # gRPC: only for the commands that talk to a registry

    return get_yatai_client(yatai_url, yatai_token, cli.config, signing_key=signing_key,
                            passphrase=_passphrase(signing_key or cli.config.security.signing_key))


def _passphrase(key: str) -> Optional[bytes]:
    """Asked for on the terminal when the signing key is passphrase-protected."""
    from bento.bundle.signature import key_file_public_blob

    if not key or not key_file_public_blob(os.path.expanduser(key))[1]:
        return None
    return click.prompt(f"Passphrase for {key}", hide_input=True, err=True).encode()


@click.command("push")
@click.argument("bento")
@click.option("--signing-key", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="OpenSSH ed25519 private key to sign the bundle with [default: security.signing_key].")
@registry_options
@pass_cli
def push_cmd(cli: CliContext, bento: str, signing_key: Optional[str], yatai_url: Optional[str],
             yatai_token: Optional[str]) -> None:
    """Upload a bundle (NAME:VERSION, NAME:latest or a bundle path) from the local repository to Yatai."""
    with _client(cli, yatai_url, yatai_token, signing_key) as yc, _Progress(f"pushing {bento}") as progress:
        info = yc.repository.push(bento, progress)
    signed = f", signed by key {info.signer}" if info.signer else ""
    click.echo(f"pushed {info.tag} to {yc.url}{signed}", err=True)
    click.echo(info.tag)


@click.command("pull")
@click.argument("bento")
@registry_options
@pass_cli
def pull_cmd(cli: CliContext, bento: str, yatai_url: Optional[str], yatai_token: Optional[str]) -> None:
    """Download a bundle from Yatai into the local repository; prints its path there."""
    from bento.bundle.reader import read_metadata
    from bento.bundle.trust import read_provenance
    from bento.loading import trust_policy

    with _client(cli, yatai_url, yatai_token) as yc, _Progress(f"pulling {bento}") as progress:
        path = yc.repository.pull(bento, progress)
    provenance = read_provenance(path, read_metadata(path).tag, trust_policy(cli.config))
    if provenance.signer:
        who = (f"allowed signer {', '.join(provenance.signers)}" if provenance.signers
               else "a key not in your allowed signers (security.allowed_signers)")
        click.echo(f"signed by {who}: {provenance.signer}", err=True)
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
@click.option("--allowed-signers", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="OpenSSH allowed_signers file: every push must be signed by one of its keys.")
@click.option("--idle-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds an upload or download may go without a message before it is cancelled.")
@click.option("--max-uploads", type=click.IntRange(min=1), default=16, show_default=True,
              help="Uploads at once; more are refused (RESOURCE_EXHAUSTED) so reads always have threads.")
@click.option("--max-downloads", type=click.IntRange(min=1), default=8, show_default=True,
              help="Downloads at once (as for --max-uploads).")
@pass_cli
def start_cmd(cli: CliContext, db_url: Optional[str], repo_base_url: Optional[str], s3_endpoint_url: Optional[str], host: str,
              grpc_port: int, ui_port: int, no_ui: bool, token_file: Optional[str], tls_cert: Optional[str],
              tls_key: Optional[str], gc_grace_seconds: float, allowed_signers: Optional[str], idle_timeout: float,
              max_uploads: int, max_downloads: int) -> None:
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
        allowed_signers=allowed_signers, idle_timeout_seconds=idle_timeout, max_uploads=max_uploads,
        max_downloads=max_downloads, plugins=cli.plugins))


def add_commands(cli: click.Group) -> None:
    for cmd in (push_cmd, pull_cmd, yatai_group):
        cli.add_command(cmd)


def yatai_main(argv: Optional[list] = None) -> None:
    """The `bento-yatai` console script: `bento yatai start` with the same options."""
    from bento.cli import make_cli

    make_cli().main(args=["yatai", "start", *(sys.argv[1:] if argv is None else argv)], prog_name="bento-yatai")
