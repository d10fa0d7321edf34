"""Rendering for humans (tables) and for scripts (JSON, YAML)."""
from __future__ import annotations

import json
from typing import Any, Sequence

import click

__all__ = ["output_option", "render", "table"]


def output_option(*choices: str, default: str = "table"):
    return click.option("-o", "--output", "output", type=click.Choice(list(choices)), default=default,
                        show_default=True, help="Output format: a table for people, JSON or YAML for scripts.")


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Left-aligned columns headed by upper-case names, like kubectl."""
    cells = [[c.upper() for c in columns]] + [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)


def render(data: Any, fmt: str, columns: Sequence[str] = ()) -> None:
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    elif fmt == "yaml":
        import yaml  # third-party: only for this format

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())
    else:
        rows = data if isinstance(data, list) else [data]
        click.echo(table(rows, columns))
