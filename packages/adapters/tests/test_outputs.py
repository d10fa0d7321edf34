"""Output adapters: JSON bodies from numpy/pandas values, per-request slices, CLI lines."""
from __future__ import annotations

import datetime

import numpy as np
import orjson
import pandas as pd
import pytest
from bento.exceptions import APIError, InvalidArgument
from bento.types import InferenceResult, InferenceTask

from bento_adapters import DataframeOutput, DefaultOutput, JsonOutput


def body(adapter, value) -> bytes:
    data, content_type = adapter.to_http_body(InferenceResult(data=value))
    assert content_type == "application/json"
    return data


def test_numpy_values_are_json_numbers_and_nan_is_null():
    value = {"f": np.float32(1.5), "i": np.int64(3), "b": np.bool_(True), "a": np.array([[1, 2], [3, 4]]),
             "nan": float("nan"), "inf": np.array([np.inf]), "f16": np.array([0.5], np.float16),
             "s": np.array(["x"]), "when": pd.Timestamp("2024-01-02T03:04:05"), "nat": pd.NaT, "day": datetime.date(2024, 1, 2)}
    assert orjson.loads(body(JsonOutput(), value)) == {
        "f": 1.5, "i": 3, "b": True, "a": [[1, 2], [3, 4]], "nan": None, "inf": [None], "f16": [0.5],
        "s": ["x"], "when": "2024-01-02T03:04:05", "nat": None, "day": "2024-01-02"}


def test_dataframe_in_every_orient():
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    expected = {
        "records": [{"a": 1, "b": 0.5}, {"a": 2, "b": None}],
        "values": [[1.0, 0.5], [2.0, None]],
        "columns": {"a": {"0": 1, "1": 2}, "b": {"0": 0.5, "1": None}},
        "index": {"0": {"a": 1, "b": 0.5}, "1": {"a": 2, "b": None}},
        "split": {"index": [0, 1], "columns": ["a", "b"], "data": [[1, 0.5], [2, None]]},
    }
    for orient, want in expected.items():
        assert orjson.loads(body(DataframeOutput(orient), df)) == want, orient
    assert orjson.loads(body(DefaultOutput(), df)) == expected["records"]
    # a Series as BentoML 0.13 wrote it: the records of a one-column DataFrame (named 0 when unnamed)
    assert orjson.loads(body(DefaultOutput(), df["a"])) == [{"a": 1}, {"a": 2}]
    assert orjson.loads(body(DataframeOutput(), pd.Series([1, 2]))) == [{"0": 1}, {"0": 2}]
    assert orjson.loads(body(JsonOutput(), df["a"])) == [1, 2]


def test_unserialisable_value_is_an_api_error():
    with pytest.raises(APIError, match="cannot be written as JSON"):
        body(JsonOutput(), object())


def test_batch_return_values_are_split_per_task():
    tasks = [InferenceTask(batch=2), InferenceTask(batch=1)]
    df = pd.DataFrame({"p": [0.1, 0.2, 0.3]})
    results = DefaultOutput().pack_user_func_return_value(df, tasks)
    assert [orjson.loads(body(DefaultOutput(), r.data)) for r in results] == [[{"p": 0.1}, {"p": 0.2}], [{"p": 0.3}]]
    assert results[1].data.index.tolist() == [0]  # positional index restarts per request
    rows = DefaultOutput().pack_user_func_return_value(df, [InferenceTask(), InferenceTask(), InferenceTask()])
    assert [r.data for r in rows] == [{"p": 0.1}, {"p": 0.2}, {"p": 0.3}]
    arr = DefaultOutput().pack_user_func_return_value(np.array([1, 2]), [InferenceTask(), InferenceTask()])
    assert [body(DefaultOutput(), r.data) for r in arr] == [b"1", b"2"]


def test_labelled_index_is_kept_in_slices():
    df = pd.DataFrame({"p": [1, 2]}, index=["x", "y"])
    (result,) = DataframeOutput("index").pack_user_func_return_value(df, [InferenceTask(batch=2)])
    assert orjson.loads(body(DataframeOutput("index"), result.data)) == {"x": {"p": 1}, "y": {"p": 2}}


def test_cli_lines_json_and_csv():
    out = DefaultOutput()
    df = InferenceResult(data=pd.DataFrame({"a": [1, 2], "b": ["x", "y, z"]}))
    assert list(out.to_cli_lines(df, "json", per_row=False, header=True)) == ['[{"a":1,"b":"x"},{"a":2,"b":"y, z"}]']
    assert list(out.to_cli_lines(df, "json", per_row=True, header=True)) == ['{"a":1,"b":"x"}', '{"a":2,"b":"y, z"}']
    assert list(out.to_cli_lines(df, "csv", per_row=True, header=True)) == ["a,b", "1,x", '2,"y, z"']
    assert list(out.to_cli_lines(df, "csv", per_row=True, header=False)) == ["1,x", '2,"y, z"']
    arr = InferenceResult(data=np.array([0.5, 1.5]))
    assert list(out.to_cli_lines(arr, "json", per_row=True, header=True)) == ["0.5", "1.5"]
    assert list(out.to_cli_lines(arr, "csv", per_row=True, header=True)) == ["result", "0.5", "1.5"]
    scalar = InferenceResult(data={"label": "cat"})
    assert list(out.to_cli_lines(scalar, "json", per_row=True, header=True)) == ['{"label":"cat"}']
    assert list(out.to_cli_lines(scalar, "csv", per_row=False, header=True)) == ["label", "cat"]
    with pytest.raises(InvalidArgument, match="--output xml"):
        out.to_cli_lines(scalar, "xml", per_row=False, header=True)


def test_response_schemas_and_config():
    assert DataframeOutput().response_schema()["application/json"]["schema"]["type"] == "array"
    assert DataframeOutput("split").response_schema()["application/json"]["schema"]["type"] == "object"
    assert DataframeOutput("values").config == {"output_orient": "values"}
    assert DefaultOutput().config == {}
    with pytest.raises(InvalidArgument, match="output_orient 'table'"):
        DataframeOutput("table")
