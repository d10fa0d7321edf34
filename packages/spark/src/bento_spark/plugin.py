"""The `spark` entry point of the `bento` group: adds `bento spark-run` (pyspark is imported when it runs)."""
from __future__ import annotations

from typing import Any

from bento import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import spark_run_cmd

    cli.add_command(spark_run_cmd)
