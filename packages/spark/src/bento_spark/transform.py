"""`bento_spark.apply`: a bundle's API as a transformation of a Spark DataFrame (mapInPandas, Arrow)."""
from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import attrs
from bento.bundle.layout import MANIFEST
from bento.bundle.reader import read_metadata
from bento.bundle.trust import read_provenance
from bento.config import Config, load_config
from bento.exceptions import BundleError, InvalidArgument
from bento.loading import load, trust_policy
from bento.plugins import PluginManager, default_manager
from bento.repository import resolve

from .schema import DRY_RUN_ROWS, dry_run, make_plan, parse_type
from .shipping import ship
from .worker import WorkerSpec, predict_partition

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["apply", "BundleAPI", "SparkJob", "build_job"]


@attrs.frozen(kw_only=True)
class BundleAPI:
    """An API of a bundle loaded in the driver (for the checks), and how executors may load it."""

    bundle_dir: str
    api: Any
    trust_pickle: bool

    @classmethod
    def load(cls, bento: str, api: str, trust_pickle: Optional[bool] = None, pm: Optional[PluginManager] = None,
             config: Optional[Config] = None) -> "BundleAPI":
        """`bento` is a tag or a bundle path. Trust is settled here, with the driver's config
        (`trust_pickle`, or a signature by one of its allowed signers), so executors, whose
        config may differ, load exactly what the driver accepted; they still check the manifest
        and the signature of the bundle they receive."""
        pm = pm or default_manager()
        config = config or load_config(pm)
        bundle_dir = resolve(bento, pm, config)
        if not os.path.isfile(os.path.join(bundle_dir, MANIFEST)):
            raise BundleError(f"{bundle_dir} is not a saved bundle (no {MANIFEST}): bento-spark ships bundle "
                              "directories, as saved or retrieved, to the executors")
        service = load(bundle_dir, trust_pickle=trust_pickle, plugins=pm, config=config)
        policy = trust_policy(config, trust_pickle)
        trust = policy.trust_pickle or bool(read_provenance(bundle_dir, read_metadata(bundle_dir).tag, policy).signers)
        return cls(bundle_dir=bundle_dir, api=service.get_inference_api(api), trust_pickle=trust)


@attrs.frozen(kw_only=True)
class SparkJob:
    """The scored DataFrame (lazy) and the accumulators its tasks count rows into."""

    df: Any
    result_col: str
    error_col: str
    rows: Any
    failed: Any


def apply(spark_df: "DataFrame", bento: str, api: str = "predict", result_col: str = "prediction",
          batch_size: Optional[int] = None, *, input_cols: Union[str, Sequence[str], None] = None,
          result_type: Any = None, trust_pickle: Optional[bool] = None) -> "DataFrame":
    """`spark_df` with two more columns: `result_col` (the API's result per row) and
    `<result_col>_error` (None, or why that row failed).

    `bento`: a tag (`IrisClassifier:latest`) or a bundle path. `batch_size`: rows per API call
    (default: Spark's Arrow batches, 10,000 rows). `input_cols`: the columns the API reads
    (default all; for StringInput the one string column). `result_type`: Spark type of the
    results (DDL string or DataType), else inferred from a dry run on the first rows.
    The data is checked against the API before anything runs on the cluster.
    """
    return build_job(spark_df, BundleAPI.load(bento, api, trust_pickle), result_col, batch_size,
                     input_cols=input_cols, result_type=result_type).df


def build_job(spark_df: Any, source: BundleAPI, result_col: str = "prediction", batch_size: Optional[int] = None,
              *, input_cols: Union[str, Sequence[str], None] = None, result_type: Any = None) -> SparkJob:
    """What `apply` does, keeping the row counters for `bento spark-run`'s progress and summary."""
    from pyspark.sql.types import StringType, StructField, StructType

    if not isinstance(result_col, str) or not result_col:
        raise InvalidArgument("result_col must be a non-empty column name")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidArgument(f"batch_size must be a positive number of rows, got {batch_size!r}")
    schema = spark_df.schema
    plan = make_plan(source.api, schema, input_cols, result_col)
    sample = spark_df.limit(DRY_RUN_ROWS).toArrow().to_pandas()
    checked_type = dry_run(source.api, plan, sample, schema)
    spark_type = parse_type(result_type) if result_type is not None else checked_type
    sc = spark_df.sparkSession.sparkContext
    spec = WorkerSpec(bundle=ship(sc, source.bundle_dir, source.trust_pickle), plan=plan, batch_size=batch_size,
                      rows=sc.accumulator(0), failed=sc.accumulator(0))
    out_schema = StructType([*schema.fields, StructField(plan.result_col, spark_type, True),
                             StructField(plan.error_col, StringType(), True)])
    scored = spark_df.mapInPandas(functools.partial(predict_partition, spec), out_schema)
    return SparkJob(df=scored, result_col=plan.result_col, error_col=plan.error_col, rows=spec.rows,
                    failed=spec.failed)
