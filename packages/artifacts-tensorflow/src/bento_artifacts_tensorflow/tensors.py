"""TfTensorInput and TfTensorOutput: TensorFlow Serving's REST "predict" format in and plain JSON lists out.

A request `{"instances": [...]}` (row format) or `{"inputs": [...]}` (columnar format, one unnamed
input) carries N instances; values `{"b64": "..."}` are base64-decoded to bytes, as in TF
Serving. Each request is parsed to one numpy array when it arrives (so a malformed one fails
alone, with a 400), and a micro-batch becomes one tensor with a single concatenation.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Iterator, Mapping, Sequence

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import APIError, BadInput
from bento.types import InferenceTask
from bento_adapters import JsonInput, JsonOutput
from bento_adapters.input_files import ByteProgress

from ._lazy import tensorflow

__all__ = ["TfTensorInput", "TfTensorOutput"]

_BODY = '{"instances": [...]} or {"inputs": [...]}'
_KEYS = ("instances", "inputs")
_IGNORED_KEYS = ("signature_name",)  # TF Serving clients send it; the API function decides what runs


def _decode_b64(value: Any) -> Any:
    """`value` with every `{"b64": "..."}` replaced by its bytes; other objects are refused."""
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise BadInput('named inputs (JSON objects) are not supported; an instance holds numbers, strings '
                           'or {"b64": "<base64>"} values')
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error as e:
            raise BadInput(f"invalid base64 in a b64 value: {e}") from None
    return value


def _as_array(instances: Any, what: str) -> Any:
    """The instances as one numpy array, first axis = instances; BadInput for ragged or mixed values.

    Numbers and text become a numpy array directly; only a payload numpy cannot type (b64 objects)
    is walked in Python, and it becomes an object array of bytes (numpy's bytes dtype would cut
    trailing NUL bytes off binary data)."""
    import numpy as np

    if not isinstance(instances, list) or not instances:
        raise BadInput(f'"{what}" must be a non-empty list, one entry per instance ({_BODY})')
    try:
        array = np.array(instances)
    except ValueError:
        raise BadInput(f"the {what} do not form a tensor: nested lists of unequal lengths") from None
    if array.dtype != object:
        return array
    array = np.array(_decode_b64(instances), dtype=object)
    if not all(isinstance(v, (bytes, str)) for v in array.flat):
        raise BadInput(f"the {what} do not form a tensor: nested lists of unequal lengths, nulls or mixed types")
    return np.vectorize(lambda v: v.encode("utf-8") if isinstance(v, str) else v, otypes=[object])(array)


def parse_body(body: Any) -> Any:
    """The instances of one TF Serving predict request body, as a numpy array."""
    if not isinstance(body, dict):
        raise BadInput(f"expected a JSON object {_BODY} (TensorFlow Serving predict format)")
    unknown = sorted(set(body) - set(_KEYS) - set(_IGNORED_KEYS))
    if unknown:
        raise BadInput(f"unknown key(s) {', '.join(unknown)}; expected {_BODY}")
    present = [k for k in _KEYS if k in body]
    if len(present) != 1:
        raise BadInput(f'send either "instances" or "inputs": {_BODY}')
    return _as_array(body[present[0]], present[0])


def _kind(array: Any) -> str:
    """Instances of these kinds can share one tensor: numbers with numbers, text with text."""
    return {"b": "bool", "i": "number", "u": "number", "f": "number"}.get(array.dtype.kind, "string")


def to_tensor(array: Any) -> Any:
    """A tf.Tensor with the dtypes `tf.constant` gives the same JSON values: float32, int32
    (int64 when a value needs it), bool or string."""
    import numpy as np

    tf = tensorflow("TfTensorInput")
    int32 = np.iinfo(np.int32)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif array.dtype.kind in "iu" and int32.min <= array.min() and array.max() <= int32.max:
        array = array.astype(np.int32)
    return tf.convert_to_tensor(array)


class TfTensorInput(JsonInput):
    """The API receives one tf.Tensor with the instances of every request in the micro-batch;
    a request of N instances gets N results. Batch APIs only."""

    SINGLE_MODE_SUPPORTED = False
    CLI_USAGE = f"--input JSON or --input-file PATH (.json, .jsonl), each {_BODY}"

    def request_schema(self) -> dict:
        instances = {"type": "array", "minItems": 1, "items": {},
                     "description": 'one entry per instance; {"b64": "<base64>"} values are decoded to bytes'}
        schema = {"type": "object", "properties": {"instances": instances, "inputs": instances,
                                                   "signature_name": {"type": "string"}}}
        return {"application/json": {"schema": schema}}

    def parse_http(self, request: HTTPRequest) -> Any:
        return parse_body(super().parse_http(request))

    def cli_text(self, text: str, cli: CliInput) -> Any:
        return parse_body(super().cli_text(text, cli))

    def iter_cli_file(self, path: str, cli: CliInput, progress: ByteProgress) -> Iterator[tuple[Any, int]]:
        for body, done in super().iter_cli_file(path, cli, progress):
            yield parse_body(body), done

    def rows(self, data: Any) -> int:
        return len(data)

    def from_python(self, args: Sequence[Any], batch: bool) -> list[InferenceTask]:
        """A direct call takes a batch: a tensor or array (first axis = instances), a list of
        instances, or a TF Serving body."""
        value = args[0]
        if isinstance(value, Mapping):
            data = parse_body(dict(value))
        elif hasattr(value, "shape"):
            import numpy as np

            data = np.asarray(value)
            if data.ndim == 0:
                raise BadInput("TfTensorInput takes a batch: a tensor whose first axis is the instances")
        else:
            data = _as_array(value, "instances")
        return [InferenceTask(data=data, batch=len(data))]

    def extract_user_func_args(self, tasks: Sequence[InferenceTask]) -> tuple:
        """One tensor for the batch. Requests whose instances differ in shape or kind cannot share
        it: BadInput makes core run each request alone, so only those the model rejects fail."""
        import numpy as np

        arrays = [t.data for t in tasks]
        layouts = sorted({(a.shape[1:], _kind(a)) for a in arrays}, key=str)
        if len(layouts) > 1:
            raise BadInput("requests with instances of different shapes or types in one batch: "
                           + ", ".join(f"{shape} {kind}" for shape, kind in layouts))
        return (to_tensor(arrays[0] if len(arrays) == 1 else np.concatenate(arrays)),)


def _text(value: bytes) -> Any:
    """A tf.string element for JSON: text when it is UTF-8, else TF Serving's {"b64": ...}."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def to_numpy(value: Any) -> Any:
    """A tensor (or a dict of them, for a model with named outputs) as numpy rows for JSON."""
    import numpy as np

    if isinstance(value, Mapping):
        columns = {k: to_numpy(v) for k, v in value.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise APIError(f"the named outputs have different batch sizes: {sorted(lengths)}")
        return [{k: v[i] for k, v in columns.items()} for i in range(lengths.pop() if lengths else 0)]
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = np.vectorize(_text, otypes=[object])(value) if value.size else value
    return value


class TfTensorOutput(JsonOutput):
    """Tensors as plain JSON lists: a request of N instances gets a list of N results (a dict of
    named outputs becomes one {name: value} object per instance); bytes become text, or
    {"b64": ...} when they are not UTF-8."""

    def response_schema(self) -> dict:
        return {"application/json": {"schema": {"type": "array", "items": {}}}}

    def pack_user_func_return_value(self, return_value: Any, tasks: Sequence[InferenceTask]) -> list:
        return super().pack_user_func_return_value(to_numpy(return_value), tasks)
