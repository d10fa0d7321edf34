"""JSON out of API return values: orjson, with numpy and pandas values as plain JSON.

NaN and infinities become null (orjson's rule), so a response is always valid JSON. Bytes are
text when they are UTF-8, else {"b64": base64} (as BentoML 0.13 and TF Serving write them).
"""
from __future__ import annotations

import base64
import datetime
import re
from typing import Any

from bento.exceptions import APIError

from ._lazy import numpy, orjson, pandas

__all__ = ["dumps", "frame_to_jsonable", "ascii_only"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def dumps(value: Any) -> bytes:
    json = orjson()
    try:
        return json.dumps(value, default=_default, option=json.OPT_SERIALIZE_NUMPY | json.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise APIError(f"the API returned a value that cannot be written as JSON: {e}") from None


def ascii_only(document: bytes) -> bytes:
    """The JSON document with every non-ASCII character escaped as \\uXXXX (surrogate pairs above
    U+FFFF), as json.dumps(ensure_ascii=True) writes it; such characters only occur in strings."""
    return _NON_ASCII.sub(_escape, document.decode("utf-8")).encode("ascii")


def _escape(match: Any) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def frame_to_jsonable(value: Any, orient: str = "records") -> Any:
    """A DataFrame or Series as lists/dicts in a pandas orient (records, values, split, columns, index)."""
    pd = pandas()
    if isinstance(value, pd.Series):
        if orient in ("records", "values"):
            return value.tolist()
        if orient == "split":
            return {"name": value.name, "index": value.index.tolist(), "data": value.tolist()}
        return value.to_dict()
    if orient == "values":
        return value.to_numpy().tolist()
    return value.to_dict(orient={"columns": "dict"}.get(orient, orient))


def _default(obj: Any) -> Any:
    """What orjson cannot write natively; called only for such values."""
    pd, np = pandas(), numpy()
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return frame_to_jsonable(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()  # dtypes orjson does not take (object, str, float16...)
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, (pd.Timestamp, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(data).decode("ascii")}
    if hasattr(obj, "__array__"):  # tensors of other frameworks
        return np.asarray(obj)
    raise TypeError(f"type {type(obj).__name__} is not JSON serializable")
