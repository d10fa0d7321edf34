"""`bento plugins`: what is installed, from which distribution, which hooks and types."""
from __future__ import annotations

import click

from .options import CliContext, pass_cli
from .output import output_option, render


@click.command("plugins")
@output_option("table", "json", "yaml")
@pass_cli
def plugins_cmd(cli: CliContext, output: str) -> None:
    """List installed plugins with their distribution, version, hooks and the types they provide."""
    pm = cli.plugins
    provided = pm.registry.by_plugin()
    rows = [
        {"name": i.name, "distribution": i.distribution, "version": i.version, "status": "ok",
         "hooks": pm.hook_names(i.name), "provides": sorted(provided.get(i.name, []))}
        for i in pm.infos
    ]
    rows += [{"name": b.name, "distribution": b.distribution, "version": b.version, "status": f"broken: {b.error}",
              "hooks": [], "provides": []} for b in pm.broken]
    render(rows, output, ("name", "distribution", "version", "status", "hooks"))
