"""The SparkSession `bento spark-run` works in: the active one when there is one (spark-submit,
a notebook, tests), else a new one it stops afterwards. A local master binds to 127.0.0.1 and
runs without the web UI; the command prints its own progress instead of Spark's."""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Any, Iterator, Optional

__all__ = ["LOCAL_CONF", "spark_session", "quiet_pandas_warning"]

log = logging.getLogger(__name__)

LOCAL_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}
# PySpark 4.x warns on every conversion under pandas 3 although what Bento uses works.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def quiet_pandas_warning() -> None:
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)


@contextlib.contextmanager
def spark_session(master: Optional[str], conf: dict, app_name: str, verbose: bool = False) -> Iterator[Any]:
    """The active session (`master` and `conf` then have no effect), or a new one stopped at exit."""
    from pyspark.sql import SparkSession

    quiet_pandas_warning()
    active = SparkSession.getActiveSession()
    if active is not None:
        if master or conf:
            log.warning("using the active Spark session (master %s): --master and --conf do not apply",
                        active.sparkContext.master)
        yield active
        return
    master = master or "local[*]"
    worker_warnings = [os.environ.get("PYTHONWARNINGS"), f"ignore:{_PANDAS_WARNING}:FutureWarning"]
    settings = {"spark.ui.showConsoleProgress": "false",
                "spark.executorEnv.PYTHONWARNINGS": ",".join(filter(None, worker_warnings))}
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update(LOCAL_CONF)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**settings, **conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    try:
        yield spark
    finally:
        spark.stop()
