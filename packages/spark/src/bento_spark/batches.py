"""One pandas batch through an inference API, on an executor or in the driver's dry run.

Rows go through `InferenceAPI.infer_rows`, the pipeline `bento run` uses, so results match it:
a bad row fails only itself (core's pipeline isolates it), and its error lands in the error
column instead of failing the job.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

import attrs
from bento.exceptions import BentoError
from bento.types import InferenceError

__all__ = ["DATAFRAME", "JSON", "STRING", "BatchPlan", "run_batch", "rebatch"]

DATAFRAME, JSON, STRING = "dataframe", "json", "string"


@attrs.frozen(kw_only=True)
class BatchPlan:
    """How rows become API inputs and results become columns; decided in the driver, pickled
    to the executors. `parse_json`: JsonInput items are the JSON texts of one string column."""

    api: str
    kind: str
    input_cols: Optional[tuple] = None
    parse_json: bool = False
    result_col: str = "prediction"
    error_col: str = "prediction_error"


@attrs.frozen
class _Bad:
    """An item that could not be read (e.g. invalid JSON text): it fails alone, with this message."""

    message: str


@attrs.frozen
class _Outcome:
    """Per-row results: `values` (list-like) and `errors` (message or None), both one per row."""

    values: Any
    errors: list

    @classmethod
    def failed(cls, rows: int, message: str) -> "_Outcome":
        return cls([None] * rows, [message] * rows)

    def __add__(self, other: "_Outcome") -> "_Outcome":
        return _Outcome(list(self.values) + list(other.values), self.errors + other.errors)


def run_batch(api: Any, plan: BatchPlan, pdf: Any) -> Any:
    """`pdf` with the result and error columns added, row for row."""
    import pandas as pd

    outcome = _infer(api, plan.kind, _items(plan, pdf))
    return pdf.assign(**{
        plan.result_col: pd.Series(outcome.values, index=pdf.index, dtype=_series_dtype(outcome.values)),
        plan.error_col: pd.Series(outcome.errors, index=pdf.index, dtype=object),
    })


def rebatch(batches: Iterator[Any], size: int) -> Iterator[Any]:
    """The rows of `batches` (pandas DataFrames) again, in DataFrames of `size` rows."""
    import pandas as pd

    held: list = []
    count = 0
    for pdf in batches:
        start = 0
        while start < len(pdf):
            part = pdf.iloc[start:start + size - count]
            held.append(part)
            count += len(part)
            start += len(part)
            if count == size:
                yield held[0] if len(held) == 1 else pd.concat(held, ignore_index=True)
                held, count = [], 0
    if held:
        yield pd.concat(held, ignore_index=True)


def _series_dtype(values: Any) -> Any:
    """Keep numpy arrays as they are; lists (of dicts, lists, mixed None) stay Python objects."""
    return None if hasattr(values, "dtype") else object


# ---------------------------------------------------------------- rows -> API inputs


def _items(plan: BatchPlan, pdf: Any) -> Any:
    """The API's inputs for `pdf`: one DataFrame (DataframeInput), or one item per row."""
    frame = pdf[list(plan.input_cols)] if plan.input_cols else pdf
    if plan.kind == DATAFRAME:
        return frame
    if frame.shape[1] != 1:
        return frame.to_dict("records")
    column = frame.iloc[:, 0]
    read = _parse_json if plan.parse_json else (lambda v: v)
    return [_Bad("the input is null") if null else read(v) for v, null in zip(column.tolist(), column.isna())]


def _parse_json(text: Any) -> Any:
    """The JSON parser `bento run` applies to each line of a .jsonl file."""
    from bento_adapters.http_body import parse_json

    try:
        return parse_json(text)
    except BentoError as e:
        return _Bad(str(e))


# ---------------------------------------------------------------- the API call


def _infer(api: Any, kind: str, items: Any) -> _Outcome:
    """One call (or, for a non-batch API, one per row) through the API's own pipeline, which
    isolates failures down to the rows that cause them (`InferenceAPI.infer_rows`)."""
    rows = len(items)
    if rows == 0:
        return _Outcome([], [])
    if kind == DATAFRAME:
        try:
            tasks = api.input_adapter.from_python((items,), True)
        except BentoError as e:  # rows that do not fit the declared columns: the driver checks this first
            return _Outcome.failed(rows, str(e))
    else:
        tasks = api.input_adapter.from_python(([None if isinstance(v, _Bad) else v for v in items],), True)
        for task, item in zip(tasks, items):
            if isinstance(item, _Bad):
                task.discard(400, item.message)
    values: list = []
    errors: list = []
    for task, result in api.infer_rows(tasks):
        if isinstance(result, InferenceError):
            values += [None] * task.rows
            errors += [result.describe()] * task.rows
        else:
            values += list(_column(result.data, task.rows, api.output_adapter)) if task.batch else [result.data]
            errors += [None] * task.rows
    return _Outcome(values, errors)


def _column(data: Any, rows: int, output_adapter: Any) -> Any:
    """A batch return value as one value per row: array-likes as they are, DataFrame rows as dicts."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.to_dict("records")
    if isinstance(data, pd.Series):
        return data.to_numpy()
    if isinstance(data, np.ndarray):
        return data if data.ndim == 1 else data.tolist()
    if isinstance(data, (list, tuple)):
        return list(data)
    return [output_adapter.item(data, i) for i in range(rows)]
