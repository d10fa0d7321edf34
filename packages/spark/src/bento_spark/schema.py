"""Checks made in the driver before a job starts, so a mismatch between the data and the API is one
clear error instead of a failed job: the adapter is one Spark can feed, the columns the API
declares are there, and the API works on the first rows (which also tells the result's type).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from bento.exceptions import BadInput, InvalidArgument

from .batches import DATAFRAME, JSON, STRING, BatchPlan, run_batch

__all__ = ["DRY_RUN_ROWS", "api_kind", "make_plan", "dry_run", "parse_type"]

DRY_RUN_ROWS = 20
_NUMERIC_DTYPES = ("int", "uint", "float", "bool")


def api_kind(api: Any) -> str:
    """DATAFRAME, JSON or STRING: how rows reach the API; raises for adapters Spark cannot feed."""
    from bento_adapters import DataframeInput, JsonInput, StringInput

    adapter = api.input_adapter
    for cls, kind in ((DataframeInput, DATAFRAME), (JsonInput, JSON), (StringInput, STRING)):
        if isinstance(adapter, cls):
            return kind
    raise InvalidArgument(f"API '{api.name}' takes {adapter.type_name()}: bento-spark runs APIs whose input is "
                          "DataframeInput, JsonInput or StringInput")


def make_plan(api: Any, schema: Any, input_cols: Union[str, Sequence[str], None], result_col: str) -> BatchPlan:
    """The BatchPlan for `api` over a DataFrame of `schema`; raises on what cannot work."""
    from pyspark.sql.types import StringType

    kind = api_kind(api)
    error_col = f"{result_col}_error"
    names = list(schema.names)
    for col in (result_col, error_col):
        if col in names:
            raise InvalidArgument(f"the input already has a column '{col}': choose another result column name")
    cols = (input_cols,) if isinstance(input_cols, str) else tuple(input_cols) if input_cols else None
    missing = [c for c in cols or () if c not in names]
    if missing:
        raise InvalidArgument(f"input column(s) {', '.join(missing)} not in the data (columns: {_describe(schema)})")
    fields = [schema[c] for c in (cols or names)]
    if kind == DATAFRAME:
        _check_declared(api, fields)
    elif kind == STRING and (len(fields) != 1 or not isinstance(fields[0].dataType, StringType)):
        raise BadInput(f"API '{api.name}' takes StringInput: the data needs exactly one string column "
                       f"(choose it with input_cols), it has {_describe(fields)}")
    parse_json = kind == JSON and len(fields) == 1 and isinstance(fields[0].dataType, StringType)
    return BatchPlan(api=api.name, kind=kind, input_cols=cols, parse_json=parse_json,
                     result_col=result_col, error_col=error_col)


def _check_declared(api: Any, fields: list) -> None:
    """DataframeInput(columns=..., dtype=...) as recorded in bento.yml, against the Spark schema."""
    from pyspark.sql.types import NumericType, StringType

    config = api.input_adapter.config
    by_name = {f.name: f for f in fields}
    declared = config.get("columns")
    if declared:
        missing = [c for c in declared if c not in by_name]
        if missing:
            raise BadInput(f"API '{api.name}' expects columns {', '.join(map(str, declared))}; the data lacks "
                           f"{', '.join(map(str, missing))} (it has {_describe(fields)})")
    dtype = config.get("dtype")
    wanted = dtype if isinstance(dtype, dict) else {f.name: dtype for f in fields} if dtype else {}
    for name, kind in wanted.items():
        field = by_name.get(name)
        if field is None or not str(kind).startswith(_NUMERIC_DTYPES):
            continue
        if not isinstance(field.dataType, (NumericType, StringType)):
            raise BadInput(f"API '{api.name}' reads column '{name}' as {kind}, but the data has it as "
                           f"{field.dataType.simpleString()}")


def dry_run(api: Any, plan: BatchPlan, sample: Any, schema: Any) -> Any:
    """Run the API on `sample` (the first rows) in the driver; the Spark type of its results.

    Raises BadInput when every sample row fails: the job would produce nothing but errors.
    """
    from pyspark.sql.types import StringType

    if len(sample) == 0:
        return StringType()
    out = run_batch(api, plan, sample)
    errors = out[plan.error_col]
    if errors.notna().all():
        raise BadInput(f"API '{api.name}' fails on the first {len(sample)} row(s), so the job was not started: "
                       f"{errors.iloc[0]} (input columns: {_describe(schema)})")
    return _spark_type(out[plan.result_col], api.name)


def _spark_type(values: Any, api_name: str) -> Any:
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import NullType, StringType

    try:
        spark_type = from_arrow_type(pa.array(values, from_pandas=True).type)
    except Exception as e:  # pyarrow and pyspark raise several types for values they cannot map
        raise InvalidArgument(f"cannot tell a Spark type for the results of API '{api_name}' ({e}); "
                              "pass result_type='<Spark DDL type>'") from None
    return StringType() if isinstance(spark_type, NullType) else spark_type


def _describe(fields: Any) -> str:
    return ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in fields)


def parse_type(result_type: Optional[Any]) -> Any:
    """A Spark DataType from a DataType or a DDL string such as "double" or "array<double>"."""
    from pyspark.sql.types import DataType

    if isinstance(result_type, DataType):
        return result_type
    try:
        return DataType.fromDDL(result_type)
    except Exception as e:
        raise InvalidArgument(f"result_type {result_type!r} is not a Spark type: {e}") from None
