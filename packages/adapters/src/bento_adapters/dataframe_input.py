"""DataframeInput: rows in any pandas JSON orient or CSV, one DataFrame per (micro-)batch."""
from __future__ import annotations

import warnings
from typing import Any, Hashable, Iterator, Optional, Sequence, Union

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import BadInput, InvalidArgument
from bento.types import InferenceTask

from ._lazy import pandas
from .base import InputAdapter
from .form_data import Part, single_part
from .frames import (ORIENTS, Declared, Rows, build_frame, csv_error, rows_from_csv, rows_from_frame, rows_from_json,
                     rows_from_python)
from .http_body import MULTIPART, UnsupportedContentType, content_charset, decode_text, is_json_type, parse_json
from .input_files import ByteProgress, Unreadable, file_format, iter_json_lines, open_decompressed, read_text
from .limits import TableLimits, positive_limit

__all__ = ["DataframeInput"]

_CSV_TYPES = ("text/csv", "application/csv")
_SNIFFED_TYPES = ("", "text/plain", "application/x-www-form-urlencoded")  # JSON if it starts with [ or {
_PANDAS_ROW_ERRORS = (ValueError, TypeError, KeyError)  # what building/casting a frame raises on bad rows
_JSON_TYPE = {"int": "integer", "uint": "integer", "float": "number", "bool": "boolean"}
# Per request, checked on the body's shape before it is parsed. pandas pays ~40 us per column to
# build a frame (a 0.9 MB CSV of 100,000 columns: 4-18 s); 4,096 columns cost ~0.2 s, 2,000,000
# cells ~0.3 s. Larger batches: raise them, or `bento run --input-file` (not limited).
DEFAULT_MAX_COLUMNS = 4096
DEFAULT_MAX_CELLS = 2_000_000


class DataframeInput(InputAdapter):
    """The API receives one pandas DataFrame for the whole batch; a request of N rows gets N results.

    `orient`: pandas JSON orient of request bodies (guessed when None, see `frames`).
    `columns`: the columns the API expects; requests must carry them (extra columns are
    dropped, unnamed rows are named in this order). Without it, requests with other columns,
    another column order or other value types are called apart (`group_key`), never refused
    for their batch-mates. `dtype`: a dtype, or {column: dtype}, applied with astype.
    `max_columns` (default 4,096) and `max_cells` (default 2,000,000) bound one HTTP request,
    checked before it is parsed: over them is a 413.
    """

    SINGLE_MODE_SUPPORTED = False
    CLI_USAGE = "--input JSON or --input-file PATH (.csv, .json, .jsonl)"

    def __init__(self, orient: Optional[str] = None, columns: Optional[Sequence[str]] = None,
                 dtype: Union[str, type, dict, None] = None, max_columns: Optional[int] = None,
                 max_cells: Optional[int] = None) -> None:
        if orient is not None and orient not in ORIENTS:
            raise InvalidArgument(f"DataframeInput orient {orient!r} is not one of {', '.join(ORIENTS)}")
        if columns is not None and (isinstance(columns, str) or not columns):
            raise InvalidArgument("DataframeInput(columns=...) takes a non-empty list of column names")
        dtype = _dtype_names(dtype)
        super().__init__(orient=orient, columns=list(columns) if columns else None, dtype=dtype,
                         max_columns=max_columns, max_cells=max_cells)
        self.limits = TableLimits(
            max_columns=positive_limit("DataframeInput", "max_columns", max_columns, DEFAULT_MAX_COLUMNS),
            max_cells=positive_limit("DataframeInput", "max_cells", max_cells, DEFAULT_MAX_CELLS))
        self.orient = orient
        self.columns = list(columns) if columns else None
        self.dtype = dtype
        self._declared = Declared(tuple(self.columns)) if self.columns else None

    # -- OpenAPI
    def request_schema(self) -> dict:
        row_object = {"type": "object"}
        typed = self.columns or (list(self.dtype) if isinstance(self.dtype, dict) else None)
        if typed:
            row_object["properties"] = {c: self._column_schema(c) for c in typed}
        by_orient = {
            "records": {"type": "array", "items": row_object},
            "values": {"type": "array", "items": {"type": "array", "items": {}}},
            "split": {"type": "object", "required": ["data"], "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {"type": "array", "items": {"type": "array", "items": {}}}}},
            "columns": {"type": "object", "additionalProperties": {}},
            "index": {"type": "object", "additionalProperties": row_object},
        }
        json_schema = by_orient[self.orient] if self.orient else {
            "oneOf": [by_orient[o] for o in ("records", "values", "split", "columns")]}
        return {"application/json": {"schema": json_schema},
                "text/csv": {"schema": {"type": "string", "description": "CSV with a header row"}}}

    def _column_schema(self, column: str) -> dict:
        dtype = self.dtype.get(column) if isinstance(self.dtype, dict) else self.dtype
        kind = next((v for k, v in _JSON_TYPE.items() if str(dtype or "").startswith(k)), None)
        return {"type": kind} if kind else {}

    # -- parsing one request
    def rows(self, data: Rows) -> int:
        return data.count

    def parse_http(self, request: HTTPRequest) -> Rows:
        content_type = request.content_type
        if content_type == MULTIPART:
            part = single_part(request)
            return self.parse_text(decode_text(part.data, part.charset), _part_format(part), self.limits)
        if is_json_type(content_type):
            fmt = "json"
        elif content_type in _CSV_TYPES:
            fmt = "csv"
        elif content_type in _SNIFFED_TYPES:
            fmt = None
        else:
            raise UnsupportedContentType(content_type, self.type_name(),
                                         "application/json, text/csv, multipart/form-data with one .csv or .json file")
        return self.parse_text(decode_text(request.body, content_charset(request)), fmt, self.limits)

    def parse_text(self, text: str, fmt: Optional[str], limits: Optional[TableLimits] = None) -> Rows:
        """Rows of a JSON or CSV text (`fmt` None: JSON when it starts with [ or {), within
        `limits` when given (a request's; the command line's files are not bounded)."""
        if fmt is None:
            fmt = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
        if fmt == "csv":
            if limits is not None:
                limits.check_csv(text)
            rows = rows_from_csv(text)
        else:
            value = parse_json(text)
            if limits is not None:
                limits.check_json(value, self.orient)
            rows = rows_from_json(value, self.orient)
        return self._check_declared(rows)

    def _check_declared(self, rows: Rows) -> Rows:
        problem = self._declared.misfit(rows) if self._declared else None
        if problem:
            raise BadInput(problem)
        return rows

    def from_python(self, args: Sequence[Any], batch: bool) -> list[InferenceTask]:
        rows = self._check_declared(rows_from_python(args[0], self.orient))
        return [InferenceTask(data=rows, batch=rows.count)]

    # -- one DataFrame per call
    def group_key(self, task: InferenceTask) -> Hashable:
        return task.data.group_key()

    def split_rows(self, task: InferenceTask) -> list:
        return [InferenceTask(data=row, batch=1, http_headers=task.http_headers, request_id=task.request_id)
                for row in task.data.split()]

    def extract_user_func_args(self, tasks: Sequence[InferenceTask]) -> tuple:
        """One DataFrame of a group of tasks (same columns, same value types: core groups them
        by `group_key`); a task pandas cannot read, or cast to `dtype`, fails alone."""
        pd = pandas()
        if not tasks:
            return (pd.DataFrame(),)
        columns = self._columns(tasks[0].data)
        try:
            df = build_frame([t.data for t in tasks], columns, self.dtype)
            if len(df) == sum(t.rows for t in tasks):
                return (df,)
        except _PANDAS_ROW_ERRORS:
            pass
        return (self._build_each(tasks, columns),)

    def _columns(self, rows: Rows) -> Optional[tuple]:
        return self._declared.columns if self._declared else rows.columns

    def _build_each(self, tasks: Sequence[InferenceTask], columns: Optional[tuple]) -> Any:
        """The slow path after a call's frame failed to build: one frame per task, so a task
        whose rows pandas cannot read (or cast to `dtype`) fails alone, naming the problem."""
        pd = pandas()
        frames = []
        for task in tasks:
            try:
                frame = build_frame([task.data], columns, self.dtype)
            except _PANDAS_ROW_ERRORS as e:
                task.discard(400, f"cannot make a DataFrame of the rows: {e}")
                continue
            if len(frame) != task.rows:
                task.discard(400, f"pandas read {len(frame)} rows of the {task.rows} sent")
                continue
            frames.append(frame)
        if len(frames) == 1:
            return frames[0]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # -- the command line
    def cli_text(self, text: str, cli: CliInput) -> Rows:
        return self.parse_text(text, _cli_format(cli) or "json")

    def iter_cli_file(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Rows, int]]:
        fmt = _cli_format(cli) or file_format(path)
        if fmt == "csv":
            return self._stream_csv(path, cli, progress)
        if fmt == "jsonl":
            return self._stream_json_lines(path, cli, progress)
        if fmt == "json":
            return self._split_json(path, cli, progress)
        raise BadInput("cannot tell the format from the file name; pass --format csv or --format json")

    def _stream_csv(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Rows, int]]:
        """Chunks of `cli.batch_size` rows, read as an HTTP CSV body is (`frames.rows_from_csv`);
        memory stays bounded however large the file."""
        pd = pandas()
        with open_decompressed(path) as (raw, stream), warnings.catch_warnings():
            # pandas drops the extra fields of rows longer than the header with only a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                for chunk in pd.read_csv(stream, chunksize=cli.batch_size, skip_blank_lines=False, index_col=False):
                    yield self._check_declared(rows_from_frame(chunk)), progress.at(raw)
            except pd.errors.EmptyDataError:
                raise BadInput("empty CSV: expected a header row, then rows") from None
            except pd.errors.ParserWarning:
                raise BadInput("a CSV row has more fields than the header") from None
            except ValueError as e:
                raise BadInput(csv_error(e)) from None
        progress.finish(path)

    def _stream_json_lines(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Any, int]]:
        """One row per line (an object or a list), in chunks of `cli.batch_size` rows; a line
        that is not JSON is a row of its own that fails alone."""
        orient = self.orient if self.orient in ("records", "values") else None
        chunk: list = []
        for value, done in iter_json_lines(path, progress, rows=1):
            if isinstance(value, Unreadable):
                if chunk:
                    yield self._check_declared(rows_from_json(chunk, orient)), done
                    chunk = []
                yield value, done
                continue
            chunk.append(value)
            if len(chunk) >= cli.batch_size:
                yield self._check_declared(rows_from_json(chunk, orient)), done
                chunk = []
        if chunk:
            yield self._check_declared(rows_from_json(chunk, orient)), progress.finished

    def _split_json(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Rows, int]]:
        """A JSON file is parsed whole, then handed on in chunks of `cli.batch_size` rows."""
        rows = self.parse_text(read_text(path), "json")
        df = build_frame([rows], rows.columns)
        start, size = progress.finished, progress.finish(path) - progress.finished
        for begin in range(0, len(df), cli.batch_size):
            end = min(begin + cli.batch_size, len(df))
            yield rows_from_frame(df.iloc[begin:end]), start + size * end // len(df)


def _dtype_names(dtype: Any) -> Any:
    """dtype config as YAML-safe names (np.float32 -> "float32"), for bento.yml."""
    def name(d: Any) -> str:
        return d if isinstance(d, str) else getattr(d, "__name__", None) or str(d)

    if dtype is None:
        return None
    if isinstance(dtype, dict):
        return {str(k): name(v) for k, v in dtype.items()}
    return name(dtype)


def _part_format(part: Part) -> Optional[str]:
    if is_json_type(part.content_type):
        return "json"
    if part.content_type in _CSV_TYPES:
        return "csv"
    fmt = file_format(part.filename or "")
    return fmt if fmt in ("csv", "json") else None


def _cli_format(cli: CliInput) -> Optional[str]:
    if cli.format not in (None, "json", "csv"):
        raise BadInput(f"--format {cli.format}: DataframeInput reads json or csv")
    return cli.format
