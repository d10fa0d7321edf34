"""TfTensorInput / TfTensorOutput on their own: TF Serving bodies, b64, CLI, Python calls, batching."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import tensorflow as tf

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import BadInput
from bento.types import InferenceTask
from bento_artifacts_tensorflow import TfTensorInput, TfTensorOutput


def _request(body, content_type: str = "application/json") -> HTTPRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTPRequest(headers={"content-type": content_type}, body=data, request_id="r")


def _task(body, content_type: str = "application/json") -> InferenceTask:
    return TfTensorInput().from_http_request(_request(body, content_type))


def _tensor(*bodies):
    tasks = [_task(b) for b in bodies]
    assert not [t.error for t in tasks if t.is_discarded]
    (tensor,) = TfTensorInput().extract_user_func_args(tasks)
    return tensor


@pytest.mark.parametrize("key", ["instances", "inputs"])
def test_instances_and_inputs_are_one_batch(key):
    task = _task({key: [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]})
    assert task.batch == 2
    tensor = _tensor({key: [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]})
    assert isinstance(tensor, tf.Tensor) and tensor.shape == (2, 4) and tensor.dtype == tf.float32


def test_signature_name_is_accepted():
    assert _task({"signature_name": "serving_default", "instances": [1, 2]}).batch == 2


@pytest.mark.parametrize("values, dtype", [
    ([1.5, 2], tf.float32),
    ([1, 2], tf.int32),
    ([1, 2**40], tf.int64),
    ([True, False], tf.bool),
    (["a", "bc"], tf.string),
])
def test_dtypes_are_those_tf_constant_gives_json_values(values, dtype):
    assert _tensor({"instances": values}).dtype == dtype
    assert tf.constant(values).dtype == dtype


def test_b64_values_are_decoded_to_bytes_keeping_trailing_nuls():
    raw = [b"\x89PNG\x00\x00", b"\xff\x00"]
    body = {"instances": [{"b64": base64.b64encode(r).decode()} for r in raw]}
    tensor = _tensor(body)
    assert tensor.dtype == tf.string
    assert list(tensor.numpy()) == raw


def test_nested_b64_values_are_decoded():
    body = {"instances": [[{"b64": base64.b64encode(b"ab").decode()}, {"b64": base64.b64encode(b"c").decode()}]]}
    assert _tensor(body).numpy().tolist() == [[b"ab", b"c"]]


def test_micro_batch_is_one_concatenated_tensor():
    tensor = _tensor({"instances": [[1, 2]]}, {"instances": [[3.5, 4], [5, 6]]}, {"inputs": [[7, 8]]})
    assert tensor.shape == (4, 2) and tensor.dtype == tf.float32
    assert tensor.numpy()[:, 0].tolist() == [1, 3.5, 5, 7]


def test_requests_of_different_shapes_cannot_share_a_batch():
    tasks = [_task({"instances": [[1, 2]]}), _task({"instances": [[1, 2, 3]]})]
    with pytest.raises(BadInput, match=r"different shapes or types in one batch: \(2,\) number, \(3,\) number"):
        TfTensorInput().extract_user_func_args(tasks)


@pytest.mark.parametrize("body, message", [
    ([[1, 2]], "expected a JSON object"),
    ({"instance": [1]}, "unknown key(s) instance"),
    ({}, 'send either "instances" or "inputs"'),
    ({"instances": [1], "inputs": [1]}, 'send either "instances" or "inputs"'),
    ({"instances": []}, '"instances" must be a non-empty list'),
    ({"inputs": 5}, '"inputs" must be a non-empty list'),
    ({"instances": [[1, 2], [3]]}, "do not form a tensor"),
    ({"instances": [1, None]}, "nulls or mixed types"),
    ({"instances": [{"x": 1}]}, "named inputs (JSON objects) are not supported"),
    ({"instances": [{"b64": "not base64!"}]}, "invalid base64"),
    (b"{not json", "invalid JSON"),
])
def test_malformed_requests_are_discarded_with_400(body, message):
    task = _task(body)
    assert task.is_discarded and task.error.http_status == 400
    assert message in task.error.err_msg


def test_unsupported_content_type_is_415():
    task = _task(b"\x00\x01", "application/octet-stream")
    assert task.is_discarded and task.error.http_status == 415


def test_cli_input_and_files(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"instances": [[1, 2], [3, 4]]}))
    lines = tmp_path / "many.jsonl"
    lines.write_text('{"instances": [[5, 6]]}\n{"inputs": [[7, 8], [9, 10]]}\n')
    cli = CliInput(input='{"instances": [[0, 0]]}', input_files={"": [str(single), str(lines)]})
    tasks = [t for batch in TfTensorInput().iter_cli_batches(cli) for t in batch]
    assert [t.batch for t in tasks] == [1, 2, 1, 2]
    (tensor,) = TfTensorInput().extract_user_func_args(tasks)
    assert tensor.numpy()[:, 0].tolist() == [0, 1, 3, 5, 7, 9]


def test_cli_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"instances": "x"}')
    with pytest.raises(BadInput, match="bad.json"):
        list(TfTensorInput().iter_cli_batches(CliInput(input_files={"": [str(bad)]})))


@pytest.mark.parametrize("value", [
    np.ones((3, 4)),
    tf.ones((3, 4)),
    [[1.0] * 4] * 3,
    {"instances": [[1.0] * 4] * 3},
])
def test_python_calls_take_a_batch(value):
    (task,) = TfTensorInput().from_python((value,), batch=True)
    assert task.batch == 3
    (tensor,) = TfTensorInput().extract_user_func_args([task])
    assert tensor.shape == (3, 4)


def test_batch_only_and_openapi_schema():
    assert TfTensorInput.SINGLE_MODE_SUPPORTED is False and TfTensorInput.BATCH_MODE_SUPPORTED is True
    schema = TfTensorInput().request_schema()["application/json"]["schema"]
    assert set(schema["properties"]) == {"instances", "inputs", "signature_name"}


def test_output_splits_a_tensor_into_plain_json_lists():
    tasks = [InferenceTask(batch=1), InferenceTask(batch=2)]
    results = TfTensorOutput().pack_user_func_return_value(tf.constant([[1.0], [2.0], [3.0]]), tasks)
    bodies = [TfTensorOutput().to_http_body(r) for r in results]
    assert [json.loads(b) for b, _ in bodies] == [[[1.0]], [[2.0], [3.0]]]
    assert {ctype for _, ctype in bodies} == {"application/json"}


def test_output_writes_strings_as_text_or_b64_and_named_outputs_as_objects():
    out = TfTensorOutput()
    (text,) = out.pack_user_func_return_value(tf.constant([b"caf\xc3\xa9", b"\xff"]), [InferenceTask(batch=2)])
    assert json.loads(out.to_http_body(text)[0]) == ["café", {"b64": base64.b64encode(b"\xff").decode()}]
    named = {"label": tf.constant([0, 2]), "score": tf.constant([0.5, 0.25])}
    (rows,) = out.pack_user_func_return_value(named, [InferenceTask(batch=2)])
    assert json.loads(out.to_http_body(rows)[0]) == [{"label": 0, "score": 0.5}, {"label": 2, "score": 0.25}]
