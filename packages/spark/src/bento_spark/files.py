"""`bento spark-run`'s input and output: the input format follows the file name (as `bento run`
does), the output is a directory of part files in parquet, csv or JSON Lines."""
from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Iterator

from bento.exceptions import AlreadyExists, BadInput

from .batches import DATAFRAME, STRING

__all__ = ["input_format", "read_input", "write_output", "partition_conf", "session_conf"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".orc": "orc", ".json": "json", ".jsonl": "json",
            ".ndjson": "json", ".txt": "text"}
_COMPRESSED = (".gz", ".bz2")  # read by Spark's own codecs
_ACCEPTED = ", ".join(_FORMATS)


def _format_of(name: str) -> str | None:
    stem, ext = os.path.splitext(name.lower())
    if ext in _COMPRESSED:
        ext = os.path.splitext(stem)[1]
    return _FORMATS.get(ext)


def input_format(path: str) -> str:
    """csv, parquet, orc, json (JSON Lines) or text, from the name of the file or of the files in
    a local directory (such as the part files of an earlier Spark job)."""
    fmt = _format_of(path.rstrip("/"))
    if fmt is None and os.path.isdir(path):
        found = {_format_of(n) for n in os.listdir(path) if not n.startswith(("_", "."))} - {None}
        fmt = found.pop() if len(found) == 1 else None
    if fmt is None:
        raise BadInput(f"cannot tell the format of --input {path} from its name: use one of {_ACCEPTED}")
    return fmt


def read_input(spark: Any, path: str, kind: str) -> Any:
    """The input as a DataFrame for an API of `kind`: tables for DataframeInput, one line per
    item (JSON text for JsonInput, a string for StringInput) for .json/.jsonl/.txt files."""
    fmt = input_format(path)
    if fmt == "text" and kind == DATAFRAME:
        raise BadInput(f"{path}: DataframeInput APIs read tables: use .csv, .parquet, .orc or .json lines of objects")
    if fmt == "text" or (fmt == "json" and kind != DATAFRAME):
        return spark.read.text(path)
    if fmt == "csv":
        return spark.read.csv(path, header=True, inferSchema=kind != STRING)
    if fmt == "json":
        return _in_file_order(spark, spark.read.json(path), path)
    return spark.read.format(fmt).load(path)


def _in_file_order(spark: Any, df: Any, path: str) -> Any:
    """Spark sorts JSON fields by name; the API must see them in the file's order, as with `bento run`."""
    first = spark.read.text(path).first()
    try:
        keys = list(json.loads(first.value)) if first is not None else []
    except (ValueError, TypeError):
        keys = []
    ordered = [k for k in keys if k in df.columns]
    return df.select(*ordered, *[c for c in df.columns if c not in ordered])


def write_output(df: Any, path: str, fmt: str) -> None:
    """Write the part files; nested results become JSON text in CSV, which has no nested types."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType

    if os.path.exists(path):
        raise AlreadyExists(f"--output {path} already exists: choose a new directory")
    writer = df
    if fmt == "csv":
        nested = (ArrayType, MapType, StructType)
        writer = df.select(*[F.to_json(f.name).alias(f.name) if isinstance(f.dataType, nested) else F.col(f.name)
                             for f in df.schema.fields])
    writer.write.format(fmt).options(**({"header": "true"} if fmt == "csv" else {})).mode("errorifexists").save(path)


def partition_conf(partitions: int) -> dict:
    """SQL settings under which files are split into about `partitions` ordered partitions
    (instead of one per 128 MB), so the output keeps the input's row order."""
    return {"spark.sql.files.minPartitionNum": str(partitions), "spark.sql.files.openCostInBytes": "1"}


@contextlib.contextmanager
def session_conf(spark: Any, conf: dict) -> Iterator[None]:
    """Set runtime SQL settings for a block, then put the previous values back."""
    previous = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
