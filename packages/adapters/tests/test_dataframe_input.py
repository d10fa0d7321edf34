"""DataframeInput: every orient, CSV, micro-batches of mixed requests, columns/dtype, CLI streaming."""
from __future__ import annotations

import gzip
import json
import time

import numpy as np
import pandas as pd
import pytest
from bento import BentoService, api
from bento.adapters import HTTPRequest
from bento.exceptions import BadInput, InvalidArgument
from hypothesis import given, settings
from hypothesis import strategies as st

from bento_adapters import DataframeInput, DefaultOutput
from bento_adapters.frames import build_frame, rows_from_csv


def parse(adapter, *requests):
    """Tasks for the requests, then the batch DataFrame of the ones that survived."""
    tasks = [adapter.from_http_request(r) for r in requests]
    live = [t for t in tasks if not t.is_discarded]
    df, = adapter.extract_user_func_args(live)
    return tasks, df


EXPECTED = pd.DataFrame({"a": [1, 3], "b": [2, 4]})


@pytest.mark.parametrize("orient, body", [
    ("records", '[{"a": 1, "b": 2}, {"a": 3, "b": 4}]'),
    ("split", '{"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}'),
    ("columns", '{"a": {"0": 1, "1": 3}, "b": {"0": 2, "1": 4}}'),
    ("columns", '{"a": [1, 3], "b": [2, 4]}'),
    ("index", '{"x": {"a": 1, "b": 2}, "y": {"a": 3, "b": 4}}'),
])
def test_every_orient_declared_and_guessed(request_of, orient, body):
    for adapter in (DataframeInput(orient=orient), DataframeInput() if orient != "index" else None):
        if adapter is None:
            continue
        (task,), df = parse(adapter, request_of(body))
        assert task.batch == 2
        pd.testing.assert_frame_equal(df, EXPECTED)


def test_values_orient_gives_positional_columns(request_of):
    (task,), df = parse(DataframeInput(), request_of("[[1, 2.5], [3, 4]]"))
    assert task.batch == 2
    assert list(df.columns) == [0, 1] and df[1].tolist() == [2.5, 4.0]


def test_one_object_of_scalars_is_one_record(request_of):
    (task,), df = parse(DataframeInput(), request_of('{"a": 1, "b": "x"}'))
    assert task.batch == 1 and df.to_dict("records") == [{"a": 1, "b": "x"}]


def test_csv_with_header_quoting_and_a_blank_line_that_is_a_row(request_of):
    """Every line is a row, as pandas reads it with skip_blank_lines=False (and `bento run` does):
    a blank line is a row of missing values, never silently dropped."""
    body = 'a,b\r\n1,"x, y"\r\n\r\n2,"multi\nline"\r\n'
    (task,), df = parse(DataframeInput(), request_of(body, "text/csv"))
    assert task.batch == 3
    rows = df.to_dict("records")
    assert (rows[0], rows[2]) == ({"a": 1, "b": "x, y"}, {"a": 2, "b": "multi\nline"})
    assert df.iloc[1].isna().all()


def test_csv_charset_and_sniffing_without_content_type(request_of):
    (task,), df = parse(DataframeInput(), request_of("name\nJosé\n".encode("latin-1"), "text/csv; charset=latin-1"))
    assert df["name"].tolist() == ["José"]
    (task,), df = parse(DataframeInput(), request_of(b"a\n1\n", None))
    assert df["a"].tolist() == [1]
    (task,), df = parse(DataframeInput(), request_of(b' [[7]]', None))
    assert df[0].tolist() == [7]


def test_csv_or_json_as_one_multipart_file(multipart):
    req = multipart(("file", "rows.csv", "application/octet-stream", b"a,b\n1,2\n"))
    (task,), df = parse(DataframeInput(), req)
    assert df.to_dict("records") == [{"a": 1, "b": 2}]
    req = multipart(("file", "rows.bin", "application/json", b'[{"a": 5}]'))
    assert parse(DataframeInput(), req)[1].to_dict("records") == [{"a": 5}]


@pytest.mark.parametrize("orient, body, message", [
    (None, '{"a": 1,', "invalid JSON at line 1 column 9: unexpected end of data"),
    (None, "[1, 2, 3]", "a JSON list of scalars is ambiguous"),
    (None, '"text"', "expected a JSON list or object of rows, got a string"),
    (None, "[]", "no rows in the request"),
    (None, "[[1, 2], [3]]", "row 2 has 1 values, row 1 has 2"),
    ("records", "[[1, 2]]", "orient 'records' expects a list of objects, got a list of list"),
    (None, '[{"a": 1, "b": 2}, {"a": 3}]', "record 1 has the keys ['a'], record 0 has ['a', 'b']"),
    ("records", '[{"a": 1}, {"a": 2, "c": 3}]', "record 1 has the keys ['a', 'c'], record 0 has ['a']"),
    ("values", '[{"a": 1}]', "orient 'values' expects a list of lists, got a list of object"),
    ("split", '{"rows": [[1]]}', "orient 'split' expects"),
    ("split", '{"columns": ["a"], "data": [[1, 2]]}', "split: 'columns' must list 2 names"),
    ("columns", '{"a": [1, 2], "b": [3]}', "column 'b' has 1 values, column 'a' has 2"),
    ("columns", '{"a": {"0": 1}, "b": {"1": 2}}', "column 'b' has other row labels than column 'a'"),
    ("index", "[[1]]", "orient 'index' expects an object of rows"),
])
def test_json_of_the_wrong_shape_is_a_400(request_of, orient, body, message):
    task = DataframeInput(orient=orient).from_http_request(request_of(body))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith(message), task.error.err_msg


@pytest.mark.parametrize("body, message", [
    ("a,b\n1,2\n3,4,5\n", "CSV row 3 has 3 fields, header has 2"),
    ("", "empty CSV"),
    ("a,b\n", "the CSV has a header row but no rows"),
    ("a,a\n1,2\n", "column name 'a' appears 2 times"),
])
def test_bad_csv_is_a_400(request_of, body, message):
    task = DataframeInput().from_http_request(request_of(body, "text/csv"))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith(message), task.error.err_msg


def test_unsupported_content_type_is_415(request_of):
    task = DataframeInput().from_http_request(request_of(b"\x89PNG", "image/png"))
    assert task.error.http_status == 415


def test_micro_batch_of_mixed_requests_is_one_frame_in_request_order(request_of):
    tasks, df = parse(
        DataframeInput(),
        request_of('[{"a": 1, "b": 2}]'),
        request_of("b,a\n4,3\n6,5\n", "text/csv"),
        request_of('{"columns": ["a", "b"], "data": [[7, 8]]}'),
        request_of('{"b": [10], "a": [9]}'),
        request_of('[{"b": 12, "a": 11}]'),
    )
    assert [t.batch for t in tasks] == [1, 2, 1, 1, 1]
    assert list(df.columns) == ["a", "b"]
    assert df["a"].tolist() == [1, 3, 5, 7, 9, 11] and df["b"].tolist() == [2, 4, 6, 8, 10, 12]
    assert isinstance(df.index, pd.RangeIndex)


def test_a_numeric_header_names_the_columns_and_a_short_row_gets_missing_values(request_of):
    """As pandas reads them (and as BentoML 0.13 took them): a first row of numbers is the header."""
    (task,), df = parse(DataframeInput(), request_of("0\nstr1\n", "text/csv"))
    assert df.to_dict("records") == [{"0": "str1"}]
    (task,), df = parse(DataframeInput(), request_of("a,b,c\n1,2,3\n4,5\n", "text/csv"))
    assert task.batch == 2 and df["c"].isna().tolist() == [False, True]


def test_requests_that_do_not_fit_together_are_called_apart(request_of):
    """Other widths, columns, column order or value types: separate calls, each as it would be alone."""
    calls = []

    class Recorder(BentoService):
        @api(input=DataframeInput(), batch=True, output=DefaultOutput())
        def shape(self, df):
            calls.append(list(df.columns))
            return [f"{list(df.columns)} {[str(t) for t in df.dtypes]}"] * len(df)

    api_ = Recorder().get_inference_api("shape")
    bodies = ["[[1, 2]]", "[[1, 2, 3]]", "[[3, 4]]", '[{"a": 1, "b": 2}]', '[{"b": 1, "a": 2}]', '[{"a": "x", "b": 2}]']
    results = api_.infer([api_.input_adapter.from_http_request(request_of(b)) for b in bodies])
    assert [r.data for r in results] == [
        ["[0, 1] ['int64', 'int64']"], ["[0, 1, 2] ['int64', 'int64', 'int64']"], ["[0, 1] ['int64', 'int64']"],
        ["['a', 'b'] ['int64', 'int64']"], ["['b', 'a'] ['int64', 'int64']"], ["['a', 'b'] ['str', 'int64']"]]
    assert len(calls) == 5  # the two [[x, y]] requests shared a call


def test_declared_columns_select_order_and_name_rows(request_of):
    adapter = DataframeInput(columns=["b", "a"])
    tasks, df = parse(adapter, request_of('[{"a": 1, "b": 2, "extra": 0}]'), request_of("[[20, 10]]"),
                      request_of('[{"a": 1}]'), request_of("[[1, 2, 3]]"))
    assert tasks[2].error.err_msg == "missing column(s) ['b']"
    assert tasks[3].error.err_msg == "rows have 3 values, the API expects 2 columns ['b', 'a']"
    assert df.to_dict("records") == [{"b": 2, "a": 1}, {"b": 20, "a": 10}]
    assert adapter.config == {"columns": ["b", "a"]}


def test_records_missing_a_declared_column_are_refused_not_filled_with_nan(request_of, cli, tmp_path):
    adapter = DataframeInput(orient="records", columns=["a", "b"])
    task = adapter.from_http_request(request_of('[{"a": 1}, {"a": 2}]'))
    assert (task.error.http_status, task.error.err_msg) == (400, "missing column(s) ['b']")
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 1, "c": 0}\n{"a": 2, "c": 0}\n')
    with pytest.raises(BadInput, match=rf"^{lines}: missing column\(s\) \['b'\]$"):
        list(adapter.iter_cli_batches(cli(files=[str(lines)], batch_size=1)))
    with pytest.raises(BadInput, match=r"^missing column\(s\) \['a', 'b'\]$"):
        adapter.from_python((pd.DataFrame({"c": [1]}),), batch=True)


def test_dtype_is_applied_and_a_request_that_cannot_be_cast_fails_alone(request_of):
    adapter = DataframeInput(dtype={"a": np.float32})
    assert adapter.config == {"dtype": {"a": "float32"}}
    tasks, df = parse(adapter, request_of('[{"a": 1}]'), request_of('[{"a": "x"}]'), request_of("a\n2\n", "text/csv"))
    assert tasks[1].error.http_status == 400 and "could not convert string to float" in tasks[1].error.err_msg
    assert df["a"].dtype == np.float32 and df["a"].tolist() == [1.0, 2.0]


def test_invalid_configuration_is_refused():
    with pytest.raises(InvalidArgument, match="orient 'rows' is not one of"):
        DataframeInput(orient="rows")
    with pytest.raises(InvalidArgument, match="non-empty list of column names"):
        DataframeInput(columns="a")
    with pytest.raises(InvalidArgument, match=r"DataframeInput\(max_cells=...\) takes a positive integer"):
        DataframeInput(max_cells=0)


class Doubler(BentoService):
    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return df * 2

    @api(input=DataframeInput(), batch=True, output=DefaultOutput())
    def total(self, df):
        return df.sum(axis=1).to_numpy()


def test_a_csv_of_100000_columns_is_a_413_before_it_is_parsed(request_of):
    body = ",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n"
    started = time.monotonic()
    task = DataframeInput().from_http_request(request_of(body, "text/csv"))
    assert time.monotonic() - started < 0.5  # building its frame took pandas 4 s
    assert task.error.http_status == 413
    assert task.error.err_msg == "columns: 100,000 is over the limit of 4,096 (DataframeInput(max_columns=...))"


def test_a_quoted_comma_in_the_header_is_no_column(request_of):
    (task,), df = parse(DataframeInput(max_columns=2), request_of('a,"b,c"\n1,2\n', "text/csv"))
    assert list(df.columns) == ["a", "b,c"]


@pytest.mark.parametrize("orient, body", [
    (None, "a,b,c\n1,2,3\n4,5,6\n"),
    ("values", "[[1, 2, 3], [4, 5, 6]]"),
    ("records", '[{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]'),
    ("split", '{"columns": ["a", "b", "c"], "data": [[1, 2, 3], [4, 5, 6]]}'),
    ("columns", '{"a": [1, 4], "b": [2, 5], "c": [3, 6]}'),
    ("index", '{"x": {"a": 1, "b": 2, "c": 3}, "y": {"a": 4, "b": 5, "c": 6}}'),
])
def test_cells_are_bounded_in_every_orient(request_of, orient, body):
    ctype = "text/csv" if orient is None else "application/json"
    assert DataframeInput(orient=orient, max_columns=3, max_cells=6).from_http_request(request_of(body, ctype)).batch == 2
    over = DataframeInput(orient=orient, max_cells=5).from_http_request(request_of(body, ctype))
    assert over.error.http_status == 413
    assert over.error.err_msg == ("cells (3 columns x 2 rows): 6 is over the limit of 5 "
                                  "(DataframeInput(max_cells=...))")
    narrow = DataframeInput(orient=orient, max_columns=2).from_http_request(request_of(body, ctype))
    assert narrow.error.http_status == 413 and "DataframeInput(max_columns=...)" in narrow.error.err_msg


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 12), columns=st.integers(1, 12), as_csv=st.booleans())
def test_limits_hold_for_every_shape(rows, columns, as_csv):
    """Within both limits a request is parsed; over either, it is a 413 naming the one it broke."""
    names = [f"c{i}" for i in range(columns)]
    if as_csv:
        body, ctype = ",".join(names) + "\n" + (",".join(["1"] * columns) + "\n") * rows, "text/csv"
    else:
        body, ctype = json.dumps([[1] * columns] * rows), "application/json"
    task = DataframeInput(max_columns=8, max_cells=40).from_http_request(HTTPRequest({"content-type": ctype}, body.encode()))
    if columns > 8:
        assert task.error.http_status == 413 and "max_columns" in task.error.err_msg
    elif rows * columns > 40:
        assert task.error.http_status == 413 and "max_cells" in task.error.err_msg
    else:
        assert task.batch == rows


def test_the_command_line_is_not_bounded(cli):
    tasks = next(DataframeInput(max_columns=2, max_cells=2).iter_cli_batches(cli(input="[[1, 2, 3], [4, 5, 6]]")))
    assert tasks[0].batch == 2


def test_direct_call_gets_a_frame_and_n_results():
    svc = Doubler()
    df = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 11, 12])
    out = svc.predict(df)
    pd.testing.assert_frame_equal(out, df * 2)
    assert svc.total([[1, 2], [3, 4]]).tolist() == [3, 7]


def test_served_batch_returns_n_results_per_request(request_of):
    api_ = Doubler().get_inference_api("total")
    tasks = [api_.input_adapter.from_http_request(request_of(b)) for b in ("[[1, 1], [2, 2]]", "[[1, 2, 3]]", "[[5, 5]]")]
    results = api_.infer(tasks)
    bodies = [api_.output_adapter.to_http_body(r)[0] if r.http_status == 200 else r.http_status for r in results]
    assert bodies == [b"[2,4]", b"[6]", b"[10]"]


def test_batch_only():
    with pytest.raises(InvalidArgument, match="supports only batch=True"):
        class Single(BentoService):
            @api(input=DataframeInput())
            def predict(self, df):
                return df


# ---------------------------------------------------------------- CLI


def test_cli_input_json_and_csv(cli):
    progress: list = []
    batch, = DataframeInput().iter_cli_batches(cli(input='[{"a": 1}, {"a": 2}]', progress=progress))
    assert batch[0].batch == 2 and progress == []
    batch, = DataframeInput().iter_cli_batches(cli(input="a,b\n1,2\n", fmt="csv"))
    df, = DataframeInput().extract_user_func_args(batch)
    assert df.to_dict("records") == [{"a": 1, "b": 2}]
    with pytest.raises(BadInput, match=r"^--input: CSV row 3 has 3 fields, header has 2"):
        list(DataframeInput().iter_cli_batches(cli(input="a,b\n1,2\n1,2,3\n", fmt="csv")))


def test_large_csv_file_streams_in_chunks_with_progress(cli, tmp_path):
    path = tmp_path / "big.csv"
    pd.DataFrame({"x": np.arange(50_000), "y": np.arange(50_000) * 0.5}).to_csv(path, index=False)
    size = path.stat().st_size
    adapter = DataframeInput()
    assert adapter.cli_progress_total(cli(files=[str(path)])) == size
    progress: list = []
    batches = adapter.iter_cli_batches(cli(files=[str(path)], batch_size=5_000, progress=progress))
    first, second = next(batches), next(batches)
    assert first[0].batch == 5_000
    assert len(progress) == 1 and 0 < progress[0] < size / 2  # the file is not read whole up front
    rest = list(batches)
    assert sum(progress) == size and all(n > 0 for n in progress)  # pandas reads in 256 KiB blocks
    assert sum(t.batch for b in [first, second, *rest] for t in b) == 50_000
    df, = adapter.extract_user_func_args(rest[-1])
    assert df["x"].iloc[-1] == 49_999


def test_cli_files_json_jsonl_and_gzip(cli, tmp_path):
    as_json = tmp_path / "rows.json"
    as_json.write_text('{"columns": ["a"], "data": [[1], [2], [3]]}')
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 4}\n{"a": 5}\n')
    zipped = tmp_path / "rows.csv.gz"
    zipped.write_bytes(gzip.compress(b"a\n6\n7\n"))
    progress: list = []
    batches = list(DataframeInput().iter_cli_batches(cli(files=[str(as_json), str(lines), str(zipped)], batch_size=2,
                                                         progress=progress)))
    frames = [DataframeInput().extract_user_func_args(b)[0] for b in batches]
    assert [f["a"].tolist() for f in frames] == [[1, 2], [3, 4, 5], [6, 7]]  # small chunks share a batch
    assert sum(progress) == sum(p.stat().st_size for p in (as_json, lines, zipped))


@pytest.mark.parametrize("name, content, message", [
    ("ragged.csv", "a,b\n1,2\n3,4,5\n", "CSV row 3 has 3 fields, header has 2"),
    ("empty.csv", "", "empty CSV"),
    ("rows.txt", "a\n1\n", "cannot tell the format from the file name; pass --format csv or --format json"),
    ("bad.json", "[[1], [2, 3]]", "row 2 has 2 values, row 1 has 1"),
])
def test_bad_cli_files_raise_bad_input_naming_the_file(cli, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(BadInput) as info:
        list(DataframeInput().iter_cli_batches(cli(files=[str(path)])))
    assert str(info.value) == f"{path}: {message}" or str(info.value).startswith(f"{path}: {message}")


def test_unknown_cli_format_is_refused(cli):
    with pytest.raises(BadInput, match="--format xml: DataframeInput reads json or csv"):
        list(DataframeInput().iter_cli_batches(cli(input="[]", fmt="xml")))


def test_request_schema_follows_orient_and_columns():
    schema = DataframeInput(orient="records", columns=["a"], dtype={"a": "int64"}).request_schema()
    assert schema["application/json"]["schema"]["items"]["properties"] == {"a": {"type": "integer"}}
    assert "text/csv" in schema
    assert "oneOf" in DataframeInput().request_schema()["application/json"]["schema"]


FIELDS = st.sampled_from(["1", "-2", " 3", "1.5", "1e3", ".5", "inf", "NaN", "", "NA", "True", "false", "x", " ",
                          "9223372036854775808", "99999999999999999999", "0x1"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(FIELDS, min_size=2, max_size=2), min_size=1, max_size=3),
       st.lists(st.lists(FIELDS, min_size=2, max_size=2), min_size=1, max_size=3))
def test_csv_bodies_that_share_a_group_get_the_dtypes_they_get_alone(first, second):
    """The CSV signature is what pandas tells apart: bodies with equal signatures read joined
    (one pandas call per batch) get exactly the dtypes each gets alone."""
    def body(rows):
        return "a,b\n" + "".join(f"{x},{y}\n" for x, y in rows)

    one, two = rows_from_csv(body(first)), rows_from_csv(body(second))
    if one.group_key() != two.group_key():
        return
    alone = [build_frame([r], r.columns) for r in (one, two)]
    joined = build_frame([one, two], one.columns)
    assert [str(t) for t in joined.dtypes] == [str(t) for t in alone[0].dtypes] == [str(t) for t in alone[1].dtypes]
    assert len(joined) == one.count + two.count
