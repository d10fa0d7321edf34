"""`bento plugins`: what is installed, from which distribution, which hooks and types."""
from __future__ import annotations

import click

from .output import output_option, render


@click.command("plugins")
@output_option("table", "json", "yaml")
def plugins_cmd(output: str) -> None:
    """List installed plugins with their distribution, version, hooks and the types they provide."""
    from ..plugins import broken_plugins, default_plugin_manager, get_registry, hook_names, plugin_infos

    pm = default_plugin_manager()
    provided = get_registry().by_plugin()
    rows = [
        {"name": i.name, "distribution": i.distribution, "version": i.version, "status": "ok",
         "hooks": hook_names(pm, pm.get_plugin(i.name)), "provides": sorted(provided.get(i.name, []))}
        for i in plugin_infos(pm)
    ]
    rows += [{"name": b.name, "distribution": b.distribution, "version": b.version, "status": f"broken: {b.error}",
              "hooks": [], "provides": []} for b in broken_plugins(pm)]
    render(rows, output, ("name", "distribution", "version", "status", "hooks"))
