"""The rows DataframeInput receives, checked per request and turned into one DataFrame per batch.

Each request is parsed only as far as validation needs (`Rows`: the JSON value or the CSV text
without its header, plus the row count and columns). `build_frame` then makes one DataFrame for
a whole micro-batch with one pandas call per run of same-kind requests, never a Python loop
per row: JSON rows are chained into one list, CSV bodies are joined under one header.

Orient guess (when `orient` is not set), from the JSON value's shape:
  list of objects -> records; list of lists -> values; object with "data" (and optionally
  "columns", "index") -> split; object of objects or of lists -> columns (pass
  orient="index" for {row: {column: value}}); object of scalars -> one record.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from itertools import chain, groupby
from typing import Any, Optional, Sequence

import attrs
from bento.exceptions import BadInput, InvalidArgument

from ._lazy import numpy, pandas

__all__ = ["ORIENTS", "Rows", "Shape", "rows_from_json", "rows_from_csv", "rows_from_frame", "rows_from_python",
           "build_frame", "check_csv_header"]

ORIENTS = ("records", "columns", "values", "split", "index")
_SPLIT_KEYS = {"columns", "data", "index"}


@attrs.frozen
class Rows:
    """One request's rows. `columns` is None when the rows carry no names (values orient)."""

    kind: str  # records | values | columns | csv | frame
    count: int
    columns: Optional[tuple]
    width: int
    body: Any = attrs.field(repr=False)  # list of dicts | list of lists | {name: list} | CSV text | DataFrame
    header: str = ""  # csv: the header line

    def run_key(self) -> tuple:
        """Requests with equal keys are built by one pandas call."""
        return self.kind, self.columns if self.kind in ("values", "csv") else None


@attrs.frozen
class Shape:
    """The columns a batch must have: declared (`DataframeInput(columns=...)`) or the first request's."""

    columns: Optional[tuple]
    width: int
    declared: bool = False

    @classmethod
    def of(cls, rows: Rows) -> "Shape":
        return cls(rows.columns, rows.width)

    @classmethod
    def declare(cls, columns: Sequence[str]) -> "Shape":
        return cls(tuple(columns), len(columns), True)

    def misfit(self, rows: Rows) -> Optional[str]:
        """Why `rows` cannot join the batch, or None."""
        if self.declared:
            if rows.columns is None:
                if rows.width == self.width:
                    return None
                return f"rows have {rows.width} values, the API expects {self.width} columns {_names(self.columns)}"
            missing = [c for c in self.columns if c not in set(rows.columns)]
            return f"missing column(s) {_names(missing)}" if missing else None
        hint = "; DataframeInput(columns=[...]) fixes the columns an API expects"
        if self.columns is None:
            if rows.columns is not None:
                return f"rows have named columns, other requests in this batch send {self.width} unnamed values{hint}"
            if rows.width != self.width:
                return f"rows have {rows.width} values, other requests in this batch have {self.width}{hint}"
            return None
        if rows.columns is None:
            return f"rows have no column names, other requests in this batch have {_names(self.columns)}{hint}"
        if set(rows.columns) != set(self.columns):
            return f"columns {_names(rows.columns)} differ from {_names(self.columns)} of other requests in this batch{hint}"
        return None


def _names(columns: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(c) for c in columns) + "]"


def _type_names(values: Sequence[Any]) -> str:
    return ", ".join(sorted({_json_type(v) for v in values}))


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


# ---------------------------------------------------------------- JSON


def rows_from_json(value: Any, orient: Optional[str]) -> Rows:
    if orient is None:
        orient, value = _guess_orient(value)
    rows = _JSON_READERS[orient](value)
    if rows.count == 0:
        raise BadInput("no rows in the request")
    if rows.width == 0:
        raise BadInput("rows have no values")
    return rows


def _guess_orient(value: Any) -> tuple[str, Any]:
    if isinstance(value, list):
        if not value:
            raise BadInput("no rows in the request")
        if isinstance(value[0], dict):
            return "records", value
        if isinstance(value[0], list):
            return "values", value
        raise BadInput("a JSON list of scalars is ambiguous: send rows as [[...], ...] or [{...}, ...]")
    if isinstance(value, dict):
        if "data" in value and set(value) <= _SPLIT_KEYS:
            return "split", value
        kinds = set(map(type, value.values()))
        if kinds and kinds <= {dict, list}:
            return "columns", value
        if not kinds & {dict, list}:
            return "records", [value]
        raise BadInput("JSON object mixes nested and scalar values; pass DataframeInput(orient=...)")
    raise BadInput(f"expected a JSON list or object of rows, got a {_json_type(value)}")


def _records(value: Any) -> Rows:
    if not isinstance(value, list) or set(map(type, value)) - {dict}:
        got = f"a list of {_type_names(value)}" if isinstance(value, list) else f"a {_json_type(value)}"
        raise BadInput(f"orient 'records' expects a list of objects, got {got}")
    columns = tuple(value[0]) if value else ()
    first = value[0].keys() if value else None
    odd = next((i for i, record in enumerate(value) if record.keys() != first), None)
    if odd is not None:  # pandas would fill the gaps with NaN and the model fail on them later
        raise BadInput(f"record {odd} has the keys {sorted(value[odd])}, record 0 has {sorted(first)}: "
                       "every record needs the same columns")
    return Rows("records", len(value), columns, len(columns), value)


def _values(value: Any, orient: str = "values") -> Rows:
    if not isinstance(value, list) or set(map(type, value)) - {list}:
        got = f"a list of {_type_names(value)}" if isinstance(value, list) else f"a {_json_type(value)}"
        raise BadInput(f"orient '{orient}' expects a list of lists, got {got}")
    widths = set(map(len, value))
    if len(widths) > 1:
        first = len(value[0])
        row = next(i for i, r in enumerate(value) if len(r) != first)
        raise BadInput(f"row {row + 1} has {len(value[row])} values, row 1 has {first}")
    return Rows("values", len(value), None, widths.pop() if widths else 0, value)


def _split(value: Any) -> Rows:
    if not isinstance(value, dict) or "data" not in value or set(value) - _SPLIT_KEYS:
        raise BadInput('orient \'split\' expects {"columns": [...], "data": [[...], ...]}')
    rows = _values(value["data"], "split")
    columns = value.get("columns")
    if columns is None:
        return rows
    if not isinstance(columns, list) or len(columns) != rows.width:
        raise BadInput(f"split: 'columns' must list {rows.width} names, one per value in a row")
    return attrs.evolve(rows, columns=_unique(columns))


def _columns(value: Any) -> Rows:
    if not isinstance(value, dict) or not value or set(map(type, value.values())) - {dict, list}:
        raise BadInput("orient 'columns' expects an object of columns: {column: {index: value}} or {column: [...]}")
    names = list(value)
    first = value[names[0]]
    labels = list(first) if isinstance(first, dict) else None
    body = {}
    for name in names:
        column = value[name]
        if isinstance(column, dict):
            keys = list(column)
            if keys != labels:
                if labels is None or set(keys) != set(labels):
                    raise BadInput(f"column '{name}' has other row labels than column '{names[0]}'")
                column = {k: column[k] for k in labels}
            column = list(column.values())
        if len(column) != len(first):
            raise BadInput(f"column '{name}' has {len(column)} values, column '{names[0]}' has {len(first)}")
        body[name] = column
    return Rows("columns", len(first), tuple(names), len(names), body)


def _index(value: Any) -> Rows:
    if not isinstance(value, dict) or set(map(type, value.values())) - {dict}:
        raise BadInput("orient 'index' expects an object of rows: {index: {column: value}}")
    return _records(list(value.values()))


_JSON_READERS = {"records": _records, "values": _values, "split": _split, "columns": _columns, "index": _index}


def _unique(columns: Sequence[Any]) -> tuple:
    if len(set(columns)) == len(columns):
        return tuple(columns)
    seen = Counter(columns)
    dupes = [c for c, n in seen.items() if n > 1]
    if dupes:
        raise BadInput(f"column name {dupes[0]!r} appears {seen[dupes[0]]} times")
    return tuple(columns)


# ---------------------------------------------------------------- CSV


def rows_from_csv(text: str) -> Rows:
    """Validate a CSV body with a header row (csv module, C speed) and keep it as text."""
    text = text.lstrip("\r\n")
    if not text.strip():
        raise BadInput("empty CSV: expected a header row, then rows")
    end = text.find("\n")
    header_line, body = (text, "") if end < 0 else (text[:end], text[end + 1:])
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except csv.Error as e:
        raise BadInput(f"malformed CSV header: {e}") from None
    if reader.line_num > 1:
        raise BadInput("the CSV header row spans several lines")
    check_csv_header(header)
    width = len(_unique(header))
    if body and not body.endswith("\n"):
        body += "\n"
    try:
        counts = Counter(map(len, csv.reader(io.StringIO(body))))
    except csv.Error as e:
        raise BadInput(f"malformed CSV: {e}") from None
    if any(n != width for n in counts if n):
        count = _count_rows_strictly(body, width)
    else:
        count = sum(c for n, c in counts.items() if n)
    if count == 0:
        raise BadInput("the CSV has a header row but no rows")
    return Rows("csv", count, tuple(header), width, body, header_line)


def check_csv_header(header: Sequence[Any]) -> None:
    """A first row of numbers is data, not column names: say so rather than lose a row."""
    if len(header) and all(_is_number(str(h)) for h in header):
        shown = ",".join(map(str, header))[:60]
        raise BadInput(f"the CSV has no header row: the first row ({shown}) looks like data; "
                       "send the column names first")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _count_rows_strictly(body: str, width: int) -> int:
    """Rows of `body`, skipping blank lines as pandas does; raises on the first ragged row."""
    reader = csv.reader(io.StringIO(body))
    count = 0
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            raise BadInput(f"CSV row {reader.line_num + 1} has {len(row)} fields, header has {width}")
        count += 1
    return count


# ---------------------------------------------------------------- DataFrames and Python values


def rows_from_frame(df: Any) -> Rows:
    """A DataFrame as rows; its columns count as unnamed when they are just 0..n-1."""
    width = df.shape[1]
    columns = None if list(df.columns) == list(range(width)) else tuple(df.columns)
    return Rows("frame", len(df), columns, width, df)


def rows_from_python(value: Any, orient: Optional[str]) -> Rows:
    """What a direct call passes: a DataFrame, a 2-D array, or rows as JSON-like lists/dicts."""
    pd = pandas()
    if isinstance(value, pd.DataFrame):
        return rows_from_frame(value)
    if isinstance(value, numpy().ndarray) and value.ndim == 2:
        return rows_from_frame(pd.DataFrame(value))
    if isinstance(value, (list, dict)):
        return rows_from_json(value, orient)
    raise InvalidArgument(f"DataframeInput takes a pandas DataFrame, a 2-D numpy array or a list of rows, "
                          f"got {type(value).__name__}")


def build_frame(parts: Sequence[Rows], shape: Shape, dtype: Any = None) -> Any:
    """One DataFrame of all `parts` (which fit `shape`), columns in `shape` order.

    A single DataFrame part whose columns already match is returned as is (a direct call's
    DataFrame reaches the API function unchanged).
    """
    pd = pandas()
    frames = [_conform(_build_run(list(run), shape), shape) for _, run in groupby(parts, key=Rows.run_key)]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return df if dtype is None else df.astype(dtype)


def _build_run(run: list, shape: Shape) -> Any:
    pd = pandas()
    kind, first = run[0].kind, run[0]
    if kind == "records":
        return pd.DataFrame(list(chain.from_iterable(r.body for r in run)), columns=list(shape.columns))
    if kind == "values":
        return pd.DataFrame(list(chain.from_iterable(r.body for r in run)),
                            columns=list(first.columns) if first.columns else None)
    if kind == "columns":
        return pd.DataFrame({c: list(chain.from_iterable(r.body[c] for r in run)) for c in shape.columns})
    if kind == "csv":
        return pd.read_csv(io.StringIO("".join(chain([first.header, "\n"], (r.body for r in run)))))
    return run[0].body if len(run) == 1 else pd.concat([r.body for r in run], ignore_index=True)


def _conform(df: Any, shape: Shape) -> Any:
    if shape.columns is None:
        return df
    if list(df.columns) == list(shape.columns):
        return df
    if df.columns.equals(pandas().RangeIndex(df.shape[1])):  # unnamed rows, declared names
        return df.set_axis(list(shape.columns), axis=1)
    return df[list(shape.columns)]
