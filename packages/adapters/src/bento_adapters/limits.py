"""What an input adapter checks before it decodes or parses a request, so that a small body cannot
cost a worker seconds of CPU or gigabytes of memory. Measured on the 2-core project machine: a
344 KB PNG of 9400x9400 RGBA pixels (under Pillow's 89 Mpx bomb limit) took 12 s and 1.07 GB to
decode; a 0.9 MB CSV of 100,000 columns took 4-18 s to make into a DataFrame (pandas pays per
column: ~40 us each). Each limit is an adapter argument, recorded with the service; going over
it is a 413 that names it."""
from __future__ import annotations

import csv
from typing import Any, Optional

import attrs
from bento.exceptions import BadInput, InvalidArgument

__all__ = ["TooLarge", "positive_limit", "check_limit", "TableLimits"]


class TooLarge(BadInput):
    """A request over one of its adapter's limits (HTTP 413)."""

    http_status = 413


def positive_limit(adapter: str, name: str, value: Optional[int], default: int) -> int:
    """`value` (the default when None), refused unless a positive integer."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{adapter}({name}=...) takes a positive integer, got {value!r}")
    return value


def check_limit(what: str, count: int, adapter: str, name: str, limit: int) -> None:
    """413 when `count` of `what` is over `limit`, naming the adapter argument that sets it."""
    if count > limit:
        raise TooLarge(f"{what}: {count:,} is over the limit of {limit:,} ({adapter}({name}=...))")


@attrs.frozen
class TableLimits:
    """DataframeInput's bounds on one request, checked on the body's shape before it is parsed
    into rows: a header scan for CSV, the top level of the (already decoded) JSON value."""

    max_columns: int
    max_cells: int

    def check_csv(self, text: str) -> None:
        """Columns from the header line (its commas, then the csv module only when they are over
        the limit: a quoted comma is no column), cells as columns times lines."""
        text = text.lstrip("\r\n")
        end = text.find("\n")
        header = text if end < 0 else text[:end]
        columns = header.count(",") + 1
        if columns > self.max_columns:
            columns = len(next(csv.reader([header]), []))
        self._check(columns, 0 if end < 0 else text.count("\n", end + 1) + (not text.endswith("\n")))

    def check_json(self, value: Any, orient: Optional[str]) -> None:
        """Rows and columns from the first row of the JSON value's top level (rows_from_json then
        checks that every row has as many)."""
        if isinstance(value, dict) and "data" in value:  # split
            value = value["data"]
        if isinstance(value, list):
            first = value[0] if value else ()
            self._check(len(first) if isinstance(first, (list, dict)) else 1, len(value))
        elif isinstance(value, dict):  # {column: values}, {row: record} (orient="index") or one record
            first = next(iter(value.values()), None)
            inner = len(first) if isinstance(first, (list, dict)) else 1
            self._check(*((inner, len(value)) if orient == "index" else (len(value), inner)))

    def _check(self, columns: int, rows: int) -> None:
        check_limit("columns", columns, "DataframeInput", "max_columns", self.max_columns)
        check_limit(f"cells ({columns:,} columns x {rows:,} rows)", columns * rows, "DataframeInput", "max_cells",
                    self.max_cells)
