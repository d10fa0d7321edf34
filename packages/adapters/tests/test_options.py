"""Every option an adapter takes does something, and nothing else is taken: what BentoML 0.13
users pass works (ensure_ascii, allow_none, request_schema, dtype), an unknown option is a
TypeError naming it when the service class is defined, and 0.13's output rules hold."""
from __future__ import annotations

import json

import numpy as np
import orjson
import pandas as pd
import pytest
from bento import BentoService, api
from bento.types import InferenceResult, InferenceTask

from bento_adapters import (DataframeInput, DataframeOutput, DefaultOutput, FileInput, ImageInput, JsonInput,
                            JsonOutput, MultiFileInput, MultiImageInput, StringInput)


@pytest.mark.parametrize("make", [
    lambda: JsonInput(schema={}), lambda: StringInput(encoding="latin-1"), lambda: FileInput(cors="*"),
    lambda: DataframeInput(typ="frame"), lambda: ImageInput(size=3), lambda: JsonOutput(indent=2),
    lambda: DataframeOutput(orient="split"), lambda: DefaultOutput(ensure_ascii=True, foo=1),
    lambda: MultiFileInput(["a"], allow_nones=True), lambda: MultiImageInput(["a"], fmt="png"),
])
def test_an_unknown_option_is_a_type_error_naming_it(make):
    with pytest.raises(TypeError, match=r"unexpected keyword argument"):
        make()


def test_an_unknown_option_fails_the_class_definition():
    with pytest.raises(TypeError, match="unexpected keyword argument 'indent'"):
        class Pretty(BentoService):
            @api(input=JsonInput(), output=JsonOutput(indent=2))
            def echo(self, x):
                return x


def _body(output, value, wrapped=True) -> bytes:
    (result,) = output.pack_user_func_return_value([value], [InferenceTask()]) if wrapped else [value]
    return output.to_http_body(result)[0]


def test_json_output_ensure_ascii():
    assert _body(JsonOutput(), {"k": "é😀"}) == '{"k":"é😀"}'.encode()
    escaped = _body(JsonOutput(ensure_ascii=True), {"k": "é😀"})
    assert escaped == b'{"k":"\\u00e9\\ud83d\\ude00"}'
    assert json.loads(escaped) == {"k": "é😀"} and escaped == json.dumps({"k": "é😀"}, separators=(",", ":")).encode()
    assert JsonOutput(ensure_ascii=True).config == {"ensure_ascii": True}


def test_bytes_are_text_when_utf8_else_b64():
    assert orjson.loads(_body(JsonOutput(), b"caf\xc3\xa9")) == "café"
    assert orjson.loads(_body(JsonOutput(), b"\xff\x00")) == {"b64": "/wA="}


def test_an_inference_result_of_text_is_the_body_verbatim():
    built = InferenceResult(data='{"already": "json"}', http_headers={"Content-Type": "application/vnd.x+json"})
    assert _body(DefaultOutput(), built, wrapped=False) == b'{"already": "json"}'
    assert _body(DefaultOutput(), InferenceResult(data=b"\x00raw"), wrapped=False) == b"\x00raw"
    assert _body(DefaultOutput(), "plain") == b'"plain"'  # a returned str is a JSON string


def test_a_series_is_written_as_0_13_wrote_it():
    series = pd.Series([1, 2], name="y")
    assert orjson.loads(DefaultOutput().to_http_body(InferenceResult(data=series, wrapped=True))[0]) == \
        [{"y": 1}, {"y": 2}]


def test_json_input_request_schema_is_checked_and_published(request_of):
    schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}, "required": ["age"]}
    adapter = JsonInput(request_schema=schema)
    assert adapter.request_schema() == {"application/json": {"schema": schema}}
    assert adapter.from_http_request(request_of('{"age": 3}')).data == {"age": 3}
    refused = adapter.from_http_request(request_of('{"age": -1}'))
    assert refused.error.http_status == 400
    assert refused.error.err_msg == "the JSON does not match the API's schema at $.age: -1 is less than the minimum of 0"
    missing = adapter.from_http_request(request_of("{}"))
    assert "at $: 'age' is a required property" in missing.error.err_msg
    with pytest.raises(Exception, match="not a valid JSON Schema"):
        JsonInput(request_schema={"type": "no-such-type"})


def test_dataframe_dtype_types_the_openapi_columns():
    schema = DataframeInput(orient="records", dtype={"a": "float64", "b": "int32", "c": "str"}).request_schema()
    row = schema["application/json"]["schema"]["items"]
    assert row["properties"] == {"a": {"type": "number"}, "b": {"type": "integer"}, "c": {}}


def test_multi_file_input_allow_none(multipart):
    strict, lenient = MultiFileInput(["a", "b"]), MultiFileInput(["a", "b"], allow_none=True)
    request = multipart(("a", "a.txt", None, b"1"))
    assert strict.from_http_request(request).error.err_msg == "multipart field 'b' missing"
    task = lenient.from_http_request(request)
    assert task.data[0].bytes == b"1" and task.data[1] is None
    assert lenient.config["allow_none"] is True
    assert MultiImageInput(["x"], allow_none=True).allow_none
