"""ONNX Runtime sessions with explicit thread settings, and `OnnxModel`, the object a service calls.

onnxruntime and numpy are imported on first use: this module is loaded through the `bento` entry
point at every CLI start-up.
"""
from __future__ import annotations

import importlib
import json
import re
from types import ModuleType
from typing import Any, Mapping, Optional, Sequence

from bento.exceptions import BadInput, InvalidArgument, PluginError

__all__ = ["DEFAULT_INTRA_OP_THREADS", "FEATURE_NAMES_KEY", "OnnxModel", "create_session", "check_threads",
           "runtime_distribution"]

# One thread per inference call. `bento serve` pins each worker to one CPU and runs several requests in
# it at once; ONNX Runtime's default, a pool of one spinning thread per core for every session, makes
# those threads compete for that one CPU. With one intra-op thread the graph runs on the calling thread
# and nothing spins. Raise it (with `--no-cpu-affinity`) for a process that scores few, large batches.
DEFAULT_INTRA_OP_THREADS = 1

# The model's own metadata_props entry naming the DataFrame columns it was compiled from (a JSON list):
# predict() selects them by name, so a DataFrame with its columns in another order still scores right.
FEATURE_NAMES_KEY = "bento.feature_names"

# ONNX tensor type -> the numpy dtype `predict` casts its input to.
_NUMPY_DTYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16", "tensor(int8)": "int8",
    "tensor(uint8)": "uint8", "tensor(bool)": "bool", "tensor(string)": "object",
}
# "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : " before every message ONNX Runtime raises.
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")
_PROBABILITIES = "probabilities"


def _onnxruntime() -> ModuleType:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as e:
        raise PluginError(f"ONNX models need onnxruntime, which cannot be imported ({e}): pip install onnxruntime") from e


def runtime_distribution() -> str:
    """The installed distribution that provides `import onnxruntime` (onnxruntime, onnxruntime-gpu, ...)."""
    from importlib_metadata import packages_distributions

    return (packages_distributions().get("onnxruntime") or ["onnxruntime"])[0]


def ort_message(error: Exception) -> str:
    """The first line of an ONNX Runtime error without its "[ONNXRuntimeError] : 2 : ..." prefix."""
    first = (str(error).strip().splitlines() or [""])[0]
    return _ORT_PREFIX.sub("", first).strip() or type(error).__name__


def check_threads(value: Optional[int], owner: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidArgument(f"{owner}: intra_op_threads must be a positive integer, got {value!r}")


def create_session(model: bytes, intra_op_threads: int = DEFAULT_INTRA_OP_THREADS) -> Any:
    """An InferenceSession on the CPU with every thread setting explicit (see DEFAULT_INTRA_OP_THREADS);
    InvalidArgument with ONNX Runtime's reason when `model` is not a model it can load."""
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1  # the graph's nodes run one after another (ORT_SEQUENTIAL)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle pool threads sleep
    options.log_severity_level = 3  # errors only: warnings would print once per worker
    try:
        return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as e:  # InvalidProtobuf, InvalidGraph, Fail, NotImplemented: all from pybind11
        raise InvalidArgument(f"not a model ONNX Runtime can load: {ort_message(e)}") from None


def _shape(dims: Sequence[Any]) -> list:
    """Fixed dimensions as ints, named or unknown ones as None (the rows of a batch)."""
    return [d if isinstance(d, int) else None for d in dims]


def _describe(args: Sequence[Any]) -> list:
    return [{"name": a.name, "type": a.type, "shape": _shape(a.shape)} for a in args]


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iloc")


class OnnxModel:
    """A loaded ONNX model. `run` is ONNX Runtime's own call; `predict` and `predict_proba` take a numpy
    array or DataFrame for a model with one input and answer as scikit-learn's methods do, so a service
    written for the original model keeps working when it is compiled."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._inputs = list(session.get_inputs())
        self._outputs = list(session.get_outputs())
        custom = session.get_modelmeta().custom_metadata_map
        self.feature_names: Optional[tuple] = (tuple(json.loads(custom[FEATURE_NAMES_KEY]))
                                               if FEATURE_NAMES_KEY in custom else None)
        # What every call reads, taken once: each of ONNX Runtime's descriptors is a pybind11 call that
        # builds a new object, and together they cost a one-row predict() more than half of run() itself.
        self._output_names = [o.name for o in self._outputs]
        self._single_input = (self._inputs[0].name, self._inputs[0].type, _shape(self._inputs[0].shape),
                              _NUMPY_DTYPES.get(self._inputs[0].type)) if len(self._inputs) == 1 else None
        self._rejected = _onnxruntime().capi.onnxruntime_pybind11_state.InvalidArgument
        self._numpy = importlib.import_module("numpy")  # onnxruntime has imported it already

    @property
    def inputs(self) -> list:
        """[{name, type, shape}] of the model's inputs (shape: None for the batch dimension)."""
        return _describe(self._inputs)

    @property
    def outputs(self) -> list:
        return _describe(self._outputs)

    def describe(self) -> dict:
        """What bento.yml and /metadata record about the model: its inputs, outputs and producer."""
        info = {"inputs": self.inputs, "outputs": self.outputs,
                "producer": self.session.get_modelmeta().producer_name}
        if self.feature_names is not None:
            info["feature_names"] = list(self.feature_names)
        return info

    def run(self, inputs: Mapping[str, Any], outputs: Optional[Sequence[str]] = None) -> dict:
        """{output name: array} for `inputs` ({input name: array}); BadInput when ONNX Runtime
        rejects an input's shape or type."""
        names = list(outputs) if outputs is not None else self._output_names
        return dict(zip(names, self._run(names, dict(inputs))))

    def _run(self, names: list, feeds: dict) -> list:
        try:
            return self.session.run(names, feeds)
        except self._rejected as e:
            raise BadInput(ort_message(e)) from None

    def predict(self, X: Any) -> Any:
        """The first output for rows `X`; one value per row when that output has one column (a
        regressor's (n, 1) becomes (n,), as scikit-learn's predict returns it)."""
        value = self._single(X, self._output_names[0])
        return value[:, 0] if value.ndim == 2 and value.shape[1] == 1 else value

    def predict_proba(self, X: Any) -> Any:
        """The class probabilities of a compiled classifier (its "probabilities" output)."""
        if _PROBABILITIES not in self._output_names:
            names = ", ".join(self._output_names)
            raise InvalidArgument(f"this ONNX model has no '{_PROBABILITIES}' output (outputs: {names})")
        return self._single(X, _PROBABILITIES)

    def _single(self, X: Any, output: str) -> Any:
        if self._single_input is None:
            names = ", ".join(i.name for i in self._inputs)
            raise InvalidArgument(f"predict maps rows onto a model's single input; this one has {len(self._inputs)} "
                                  f"({names}): call run({{name: array, ...}})")
        return self._run([output], {self._single_input[0]: self._array(X)})[0]

    def _array(self, X: Any) -> Any:
        """`X` as an array of the input's dtype and rank; BadInput naming what does not fit."""
        name, kind, expected, dtype = self._single_input
        if _is_frame(X):
            X = self._columns(X)
        try:
            array = self._numpy.asarray(X, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise BadInput(f"input '{name}' takes {kind}: {e}") from None
        fits = array.ndim == len(expected) and all(d is None or d == n for d, n in zip(expected, array.shape))
        if not fits:
            shown = ", ".join("n" if d is None else str(d) for d in expected)
            raise BadInput(f"input '{name}' takes shape [{shown}], got {list(array.shape)}")
        return array

    def _columns(self, frame: Any) -> Any:
        """The compiled-from columns, by name, when the frame has named (string) columns."""
        names = self.feature_names
        columns = list(frame.columns)
        if names is None or not all(isinstance(c, str) for c in columns) or columns == list(names):
            return frame
        missing = [n for n in names if n not in columns]
        if missing:
            raise BadInput(f"the model was compiled from columns {', '.join(names)}; missing: {', '.join(missing)}")
        return frame[list(names)]

    def __repr__(self) -> str:
        shown = ", ".join(f"{i['name']}: {i['type']} {i['shape']}" for i in self.inputs)
        return f"<OnnxModel inputs=[{shown}]>"
