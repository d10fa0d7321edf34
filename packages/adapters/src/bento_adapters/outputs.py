"""Output adapters: JSON bodies (numpy and pandas values included) and CLI lines in JSON or CSV.

DefaultOutput, the output of an API that names none, writes pandas values as DataframeOutput
does (a Series as a one-column DataFrame, in the records orient, as BentoML 0.13 did) and
everything else as JSON. A result the API built itself (`InferenceResult`) whose data is str
or bytes is its body, verbatim.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable

from bento.adapters import BaseOutputAdapter
from bento.exceptions import InvalidArgument
from bento.types import InferenceResult

from ._lazy import numpy, pandas
from .frames import ORIENTS
from .json_codec import ascii_only, dumps, frame_to_jsonable

__all__ = ["JsonOutput", "DataframeOutput", "DefaultOutput"]

_SCHEMAS = {
    "records": {"type": "array", "items": {"type": "object"}},
    "values": {"type": "array", "items": {"type": "array", "items": {}}},
}


def _is_pandas(value: Any) -> bool:
    """True for a DataFrame or Series, without importing pandas for everyone else."""
    if "pandas" not in sys.modules:
        return False
    pd = pandas()
    return isinstance(value, (pd.DataFrame, pd.Series))


class JsonOutput(BaseOutputAdapter):
    """Writes each result as JSON; a DataFrame/Series return value is split by row position.
    `ensure_ascii`: escape every non-ASCII character (\\uXXXX), as json.dumps does."""

    orient = "records"
    series_as_frame = False  # DataframeOutput and DefaultOutput: a Series is a one-column DataFrame

    def __init__(self, ensure_ascii: bool = False) -> None:
        super().__init__(ensure_ascii=ensure_ascii or None)
        self.ensure_ascii = bool(ensure_ascii)

    def response_schema(self) -> dict:
        return {"application/json": {"schema": {}}}

    def item(self, value: Any, i: int) -> Any:
        """Row `i` of a batch return value; a DataFrame row comes out as a {column: value} dict."""
        if not _is_pandas(value):
            return value[i]
        row = value.iloc[i]
        return row.to_dict() if value.ndim == 2 else row

    def slice(self, value: Any, start: int, stop: int) -> Any:
        """Rows start..stop; a positional (RangeIndex) index restarts at 0, so a request's result
        does not depend on where micro-batching put it."""
        if not _is_pandas(value):
            return value[start:stop]
        part = value.iloc[start:stop]
        return part.reset_index(drop=True) if isinstance(value.index, pandas().RangeIndex) else part

    def _framed(self, value: Any) -> Any:
        """What JSON is written of a pandas value: with `series_as_frame`, a Series as a DataFrame
        (HTTP bodies only: `bento run` prints a Series' values one per line)."""
        if self.series_as_frame and value.ndim == 1:
            return value.to_frame(name=0 if value.name is None else value.name)
        return value

    def jsonable(self, value: Any) -> Any:
        """A pandas value in this adapter's orient; other values go to JSON as they are."""
        return frame_to_jsonable(self._framed(value), self.orient) if _is_pandas(value) else value

    def to_http_body(self, result: InferenceResult) -> tuple[bytes, str]:
        data = result.data
        if not result.wrapped and isinstance(data, (str, bytes)):  # the API wrote the body itself
            body = data.encode("utf-8") if isinstance(data, str) else data
        else:
            body = dumps(self.jsonable(data))
        return (ascii_only(body) if self.ensure_ascii else body), "application/json"

    def to_cli_lines(self, result: InferenceResult, fmt: str, per_row: bool, header: bool) -> Iterable[str]:
        value = result.data
        if fmt == "csv":
            text = _as_frame(value).to_csv(index=False, header=header, lineterminator="\n")
            return text.splitlines()
        if fmt != "json":
            raise InvalidArgument(f"--output {fmt}: use json or csv")
        if not result.wrapped and isinstance(value, (str, bytes)):
            return [value.decode("utf-8", "replace") if isinstance(value, bytes) else value]
        if per_row and _is_rows(value):
            rows = frame_to_jsonable(value, "records") if _is_pandas(value) else value
            return [self._text(dumps(row)) for row in rows]
        return [self._text(dumps(self.jsonable(value)))]

    def _text(self, body: bytes) -> str:
        return (ascii_only(body) if self.ensure_ascii else body).decode("utf-8")


class DataframeOutput(JsonOutput):
    """pandas return values as JSON in `output_orient` (records, values, split, columns, index);
    a Series as the one-column DataFrame of its values (named by the Series, else 0)."""

    series_as_frame = True

    def __init__(self, output_orient: str = "records", ensure_ascii: bool = False) -> None:
        if output_orient not in ORIENTS:
            raise InvalidArgument(f"DataframeOutput output_orient {output_orient!r} is not one of {', '.join(ORIENTS)}")
        super().__init__(ensure_ascii=ensure_ascii)
        self._config["output_orient"] = output_orient
        self.orient = output_orient

    def response_schema(self) -> dict:
        return {"application/json": {"schema": _SCHEMAS.get(self.orient, {"type": "object"})}}


class DefaultOutput(JsonOutput):
    """The output when @api names none: DataFrame/Series as DataframeOutput(records), a tensor as
    its numpy value (a plain JSON list, as TfTensorOutput writes it), else JSON."""

    series_as_frame = True

    def pack_user_func_return_value(self, return_value: Any, tasks: Any) -> list:
        if type(return_value).__module__.split(".")[0] == "tensorflow" and callable(getattr(return_value, "numpy", None)):
            return_value = return_value.numpy()
        return super().pack_user_func_return_value(return_value, tasks)


def _is_rows(value: Any) -> bool:
    if isinstance(value, (list, tuple)) or _is_pandas(value):
        return True
    return "numpy" in sys.modules and isinstance(value, numpy().ndarray) and value.ndim > 0


def _as_frame(value: Any) -> Any:
    """A return value as a table for CSV: scalars and 1-D values become a column named "result"."""
    pd, np = pandas(), numpy()
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame(name="result" if value.name is None else value.name)
    if isinstance(value, dict):
        return pd.DataFrame([value])
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return pd.DataFrame(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) and isinstance(value[0], (dict, list, tuple, np.ndarray)):
            return pd.DataFrame(list(value))
        return pd.DataFrame({"result": list(value)})
    return pd.DataFrame({"result": [value]})
