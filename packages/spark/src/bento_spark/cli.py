"""`bento spark-run BENTO API --input PATH --output DIR`: `bento run` as a Spark job.

Everything that can be checked without Spark (bundle, API, paths, options) is checked before a
session starts; Spark's own errors come back as one line, like every other Bento error.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Iterator, Optional

import click
from bento.cli.options import CliContext, echo_err, is_quiet, pass_cli
from bento.exceptions import AlreadyExists, APIError, BadInput, BentoError, InvalidArgument

__all__ = ["spark_run_cmd"]

TASKS_PER_CORE = 4


@click.command("spark-run")
@click.argument("bento")
@click.argument("api_name", metavar="API")
@click.option("--input", "input_path", required=True, metavar="PATH",
              help="Input file or directory (.csv, .parquet, .orc, .json/.jsonl lines, .txt lines; .gz too); "
                   "any path Spark reads (hdfs://, s3a://).")
@click.option("--output", "output_dir", required=True, metavar="DIR", help="Output directory (must not exist).")
@click.option("--format", "output_format", type=click.Choice(["parquet", "csv", "json"]), default="parquet",
              show_default=True, help="Output format.")
@click.option("--master", default=None, metavar="URL",
              help="Spark master (local[N], spark://..., yarn) [default: the active session's, else local[*]].")
@click.option("--partitions", type=click.IntRange(min=1), default=None,
              help="Split the input into about N partitions (tasks) [default: 4 per core, more for large input].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Rows per API call [config run.batch_size].")
@click.option("--result-col", default="prediction", show_default=True,
              help="Name of the result column; errors go to <result-col>_error.")
@click.option("--input-cols", default=None, metavar="A,B",
              help="Columns the API reads (default: all; StringInput: the one string column).")
@click.option("--conf", "spark_conf", multiple=True, metavar="KEY=VALUE", help="Spark setting (repeatable).")
@click.option("--trust-pickle", is_flag=True, default=None, help="Load pickle-based artifacts from a registry bundle.")
@pass_cli
def spark_run_cmd(cli: CliContext, bento: str, api_name: str, input_path: str, output_dir: str, output_format: str,
                  master: Optional[str], partitions: Optional[int], batch_size: Optional[int], result_col: str,
                  input_cols: Optional[str], spark_conf: tuple, trust_pickle: Optional[bool]) -> None:
    """Run API of BENTO over --input with Spark; write the rows with their results to --output."""
    from .files import input_format, partition_conf, read_input, session_conf, write_output
    from .progress import JobProgress
    from .schema import api_kind
    from .session import spark_session
    from .transform import BundleAPI, build_job

    settings = _parse_conf(spark_conf)
    if "://" not in input_path and not os.path.exists(input_path):
        raise BadInput(f"--input {input_path}: no such file or directory")
    input_format(input_path)
    if "://" not in output_dir and os.path.exists(output_dir):
        raise AlreadyExists(f"--output {output_dir} already exists: choose a new directory")
    source = BundleAPI.load(bento, api_name, trust_pickle, cli.plugins, cli.config)
    tag = source.api.service.tag
    started = time.perf_counter()
    verbose = logging.getLogger("bento").isEnabledFor(logging.DEBUG)
    with _spark_errors(), spark_session(master, settings, f"bento spark-run {tag}", verbose) as spark:
        # Several tasks per core by default: finer progress, and a slow task delays the job less.
        wanted = partitions or TASKS_PER_CORE * spark.sparkContext.defaultParallelism
        with session_conf(spark, partition_conf(wanted)):
            df = read_input(spark, input_path, api_kind(source.api))
            if partitions and df.rdd.getNumPartitions() < partitions:
                df = df.repartition(partitions)  # unsplittable input (.gz): rows are spread, order is not kept
            job = build_job(df, source, result_col, batch_size or cli.config.run.batch_size,
                            input_cols=[c.strip() for c in input_cols.split(",")] if input_cols else None)
            with contextlib.nullcontext() if is_quiet() else JobProgress(spark.sparkContext, job.rows):
                write_output(job.df, output_dir, output_format)
        rows, failed = job.rows.value, job.failed.value
    if failed:
        raise APIError(f"{failed:,} of {rows:,} rows failed; their errors are in column '{job.error_col}' "
                       f"of {output_dir}")
    if not is_quiet():
        echo_err(f"{rows:,} rows scored by {tag} '{api_name}' -> {output_dir} ({output_format}) "
                 f"in {time.perf_counter() - started:.1f} s")


def _parse_conf(pairs: tuple) -> dict:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"--conf {pair!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    return settings


@contextlib.contextmanager
def _spark_errors() -> Iterator[None]:
    """Spark's exceptions as one-line Bento errors (the whole trace stays on the chain for --verbose)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JError) as e:
        raise BentoError(f"Spark: {_error_line(str(e)) or type(e).__name__}") from e


def _error_line(text: str) -> str:
    """The exception line of the last Python traceback in `text` (what an executor raised), else
    the first line (Spark's own message, e.g. `[PATH_NOT_FOUND] Path does not exist: ...`)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        for line in lines[starts[-1] + 1:]:
            if line and not line[0].isspace():
                return line
    return next((line.strip() for line in lines if line.strip()), "")
