"""The rows DataframeInput receives: parsed and checked per request (on the request's own
thread), grouped by what they are, and assembled into one DataFrame per call.

Each request becomes `Rows`: parsed JSON values, or checked CSV text (the frame is built once
per call, one pandas call per run of same-kind requests, never a Python loop per row), or, for
a CSV body too big to join its batch cheaply, a DataFrame pandas read on the request's own
thread. `Rows.signature` says what the columns hold (JSON value types, the kinds of CSV fields
pandas tells apart, or dtypes), so requests only share a call with requests pandas reads the
same way: no request's columns, order or dtypes depend on its batch-mates.

Orient guess (when `orient` is not set), from the JSON value's shape:
  list of objects -> records; list of lists -> values; object with "data" (and optionally
  "columns", "index") -> split; object of objects or of lists -> columns (pass
  orient="index" for {row: {column: value}}); object of scalars -> one record.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from itertools import chain, groupby
from typing import Any, Hashable, Optional, Sequence

import attrs
from bento.exceptions import BadInput, InvalidArgument

from ._lazy import numpy, pandas

__all__ = ["ORIENTS", "Rows", "Declared", "rows_from_json", "rows_from_csv", "rows_from_frame", "rows_from_python",
           "build_frame", "csv_error"]

ORIENTS = ("records", "columns", "values", "split", "index")
JOINED_CSV_CELLS = 1_000  # CSV bodies up to this size are read by one pandas call per batch
_SPLIT_KEYS = {"columns", "data", "index"}


@attrs.frozen
class Rows:
    """One request's rows. `columns` is None when the rows carry no names (values orient);
    `signature` holds, per column, the JSON value types in it, or the DataFrame's dtype."""

    kind: str  # records | values | columns | csv | frame
    count: int
    columns: Optional[tuple]
    width: int
    body: Any = attrs.field(repr=False)  # list of dicts | list of lists | {name: list} | CSV rows text | DataFrame
    signature: tuple = ()
    header: str = ""  # csv: the header line

    def run_key(self) -> str:
        """Adjacent requests of one kind are built by one pandas call."""
        return self.kind

    def group_key(self) -> Hashable:
        """Rows with equal keys become one DataFrame exactly as each would alone: the same
        columns in the same order, and the same value types (so pandas infers the same dtypes)."""
        family = self.kind if self.kind in ("csv", "frame") else "json"  # each has its own signature words
        return family, self.columns, self.width, self.signature

    def split(self) -> list:
        """One Rows per row, in order (the signature stays the request's)."""
        if self.kind == "csv":
            return rows_from_frame(_read_csv(f"{self.header}\n{self.body}")).split()
        body = self.body
        if self.kind == "frame":
            parts = [body.iloc[i:i + 1] for i in range(self.count)]
        elif self.kind == "columns":
            parts = [{c: [v[i]] for c, v in body.items()} for i in range(self.count)]
        else:
            parts = [[row] for row in body]
        return [attrs.evolve(self, count=1, body=part) for part in parts]


@attrs.frozen
class Declared:
    """The columns an API declares (`DataframeInput(columns=...)`): each request must carry them."""

    columns: tuple

    def misfit(self, rows: Rows) -> Optional[str]:
        """Why `rows` do not fit, or None."""
        if rows.columns is None:
            if rows.width == len(self.columns):
                return None
            return f"rows have {rows.width} values, the API expects {len(self.columns)} columns {_names(self.columns)}"
        missing = [c for c in self.columns if c not in set(rows.columns)]
        return f"missing column(s) {_names(missing)}" if missing else None


def _signature(columns: Any) -> tuple:
    """Per column (an iterable of its values), the JSON types it holds; integers beyond int64 are
    told apart, since pandas reads a column holding one of them as another dtype."""
    out = []
    for values in columns:
        values = list(values)
        types = frozenset(map(type, values))
        if types == {int} and (max(values) >= 1 << 63 or min(values) < -(1 << 63)):
            types = frozenset({int, "beyond int64"})
        out.append(types)
    return tuple(out)


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
    signature = _signature([r[c] for r in value] for c in columns)
    return Rows("records", len(value), columns, len(columns), value, signature)


def _values(value: Any, orient: str = "values") -> Rows:
    if not isinstance(value, list) or set(map(type, value)) - {list}:
        got = f"a list of {_type_names(value)}" if isinstance(value, list) else f"a {_json_type(value)}"
        raise BadInput(f"orient '{orient}' expects a list of lists, got {got}")
    widths = set(map(len, value))
    if len(widths) > 1:
        first = len(value[0])
        row = next(i for i, r in enumerate(value) if len(r) != first)
        raise BadInput(f"row {row + 1} has {len(value[row])} values, row 1 has {first}")
    width = widths.pop() if widths else 0
    return Rows("values", len(value), None, width, value, _signature(zip(*value)) if width else ())


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
    return Rows("columns", len(first), tuple(names), len(names), body, _signature(body.values()))


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
    """The DataFrame pandas reads from a CSV body with a header row, as `bento run` reads a CSV
    file: every line after the header is a row (an empty one is a row of missing values, as
    with pandas' skip_blank_lines=False), a short row is padded with missing values, and a row
    with more fields than the header is refused naming its line."""
    text = text.lstrip("\r\n")
    if not text.strip():
        raise BadInput("empty CSV: expected a header row, then rows")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        if reader.line_num > 1:
            raise BadInput("the CSV header row spans several lines")
        width = len(_unique(header))
        rows = []
        for row in reader:
            if len(row) > width:
                raise BadInput(f"CSV row {reader.line_num} has {len(row)} fields, header has {width}")
            rows.append(row)
    except csv.Error as e:
        raise BadInput(f"malformed CSV: {e}") from None
    if not rows:
        raise BadInput("the CSV has a header row but no rows")
    if len(rows) * width > JOINED_CSV_CELLS:  # too big to join its batch: pandas reads it on this thread
        return rows_from_frame(_read_csv(text))
    end = text.find("\n")
    body = text[end + 1:]
    signature = _signature_of_fields([row[i] if i < len(row) else "" for row in rows] for i in range(width))
    return Rows("csv", len(rows), tuple(header), width, body if body.endswith("\n") else body + "\n",
                signature, text[:end].rstrip("\r"))


def _read_csv(text: str) -> Any:
    try:
        return pandas().read_csv(io.StringIO(text), skip_blank_lines=False, index_col=False)
    except ValueError as e:
        raise BadInput(csv_error(e)) from None


# What pandas' CSV reader tells apart (its default missing-value words, booleans, numbers): two
# bodies whose columns hold the same kinds of fields get the same dtypes, read alone or joined.
_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
       "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
_BOOL = {"True", "true", "TRUE", "False", "false", "FALSE"}
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity)", re.IGNORECASE)


def _field_kind(field: str) -> str:
    if field in _NA:
        return "na"
    if field in _BOOL:
        return "bool"
    value = field.strip()
    if _INT.fullmatch(value):
        number = int(value)
        return "int" if -(1 << 63) <= number < (1 << 63) else ("uint" if 0 <= number < (1 << 64) else "big")
    return "float" if _FLOAT.fullmatch(value) else "str"


def _signature_of_fields(columns: Any) -> tuple:
    return tuple(frozenset(map(_field_kind, fields)) for fields in columns)


def csv_error(error: Exception) -> str:
    """pandas' tokenizer message in the words a user reads everywhere else."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        expected, line, saw = found.groups()
        return f"CSV row {line} has {saw} fields, header has {expected}"
    if isinstance(error, UnicodeDecodeError):
        return f"text is not valid utf-8 (byte {error.start})"
    return f"malformed CSV: {str(error).strip()}"


# ---------------------------------------------------------------- DataFrames and Python values


def rows_from_frame(df: Any) -> Rows:
    """A DataFrame as rows; its columns count as unnamed when they are just 0..n-1."""
    width = df.shape[1]
    columns = None if list(df.columns) == list(range(width)) else tuple(df.columns)
    return Rows("frame", len(df), columns, width, df, tuple(str(t) for t in df.dtypes))


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


def build_frame(parts: Sequence[Rows], columns: Optional[Sequence[str]], dtype: Any = None) -> Any:
    """One DataFrame of all `parts` (one group: same columns, same signature), with `columns`
    (the declared ones, or the group's) in that order.

    A single DataFrame part whose columns already match is returned as is (a direct call's
    DataFrame reaches the API function unchanged).
    """
    pd = pandas()
    columns = list(columns) if columns is not None else None
    frames = [_conform(_build_run(list(run), columns), columns) for _, run in groupby(parts, key=Rows.run_key)]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return df if dtype is None else df.astype(dtype)


def _build_run(run: list, columns: Optional[list]) -> Any:
    pd = pandas()
    kind, first = run[0].kind, run[0]
    if kind == "records":
        return pd.DataFrame(list(chain.from_iterable(r.body for r in run)), columns=columns)
    if kind == "values":
        return pd.DataFrame(list(chain.from_iterable(r.body for r in run)),
                            columns=list(first.columns) if first.columns else None)
    if kind == "columns":
        names = columns or list(first.columns)
        return pd.DataFrame({c: list(chain.from_iterable(r.body[c] for r in run)) for c in names})
    if kind == "csv":
        return _read_csv("".join(chain([first.header, "\n"], (r.body for r in run))))
    return run[0].body if len(run) == 1 else pd.concat([r.body for r in run], ignore_index=True)


def _conform(df: Any, columns: Optional[list]) -> Any:
    if columns is None or list(df.columns) == columns:
        return df
    if df.columns.equals(pandas().RangeIndex(df.shape[1])):  # unnamed rows, declared names
        return df.set_axis(columns, axis=1)
    return df[columns]
