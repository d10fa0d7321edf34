"""`bento containerize`: build the bundle's image where a container engine answers, else say how."""
from __future__ import annotations

import shlex
import subprocess
from typing import Optional

import click
from bento.cli.options import CliContext, echo_err, pass_cli
from bento.exceptions import BentoError

from .container import build_command, check_bundle, default_image, find_engine

__all__ = ["containerize_cmd"]


@click.command("containerize")
@click.argument("bento")
@click.option("-t", "--tag", default=None, metavar="TAG", help="Image tag [default: <name lowercased>:<version>].")
@click.option("--dry-run", is_flag=True, help="Only check the bundle and print the build command.")
@pass_cli
def containerize_cmd(cli: CliContext, bento: str, tag: Optional[str], dry_run: bool) -> None:
    """Build a container image of BENTO with docker or podman.

    The bundle is verified first (MANIFEST.sha256, Dockerfile). Without a reachable engine
    (`docker info` fails), nothing is built: stderr says why, stdout is the exact build command
    to run where one is, and the exit code is 0. After a build, stdout is the image tag.
    """
    bundle_dir = cli.resolve(bento)
    meta = check_bundle(bundle_dir)
    tag = tag or default_image(meta)
    engine, why_not = (None, "--dry-run") if dry_run else find_engine()
    cmd = build_command(engine or "docker", bundle_dir, tag, meta)
    if engine is None:
        if not dry_run:
            echo_err(f"not built: no container engine is reachable ({why_not}); build the image where one is with:")
        click.echo(shlex.join(cmd))
        return
    build = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in build.stdout or ():  # the engine's progress goes to stderr: stdout stays the tag, for scripts
        echo_err(line.rstrip("\n"))
    code = build.wait()
    if code != 0:
        raise BentoError(f"{engine} build of {tag} failed (exit code {code}); its output is above")
    click.echo(tag)
