"""Compile a trained model to ONNX at pack time, and prove on the user's sample that the compiled model
answers as the original does before the bundle may hold it.

A framework artifact declared with `compile="onnx"` delegates here (`CompiledModel`); its plugin only
says how its models convert (`Converter`). The compiled bundle loads and serves the .onnx file alone:
neither the framework nor the converter is imported at load or at serve.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping, Optional

import attrs

from bento.exceptions import InvalidArgument, PluginError

from .artifact import OnnxModelArtifact, check_metadata
from .runtime import FEATURE_NAMES_KEY, OnnxModel, create_session, runtime_distribution

__all__ = ["DEFAULT_TOLERANCE", "CompilationError", "Converter", "CompiledModel"]

# Largest accepted deviation of a probability (or regression value) of the compiled model from the
# original's. ONNX converters compute in float32 (the original in float64): on the iris models the
# deviations measured are 1e-7 to 5e-7, so 1e-5 leaves room for rounding and none for a real change.
DEFAULT_TOLERANCE = 1e-5
COMPILERS = ("onnx",)
_RUNTIME_PLUGIN = "bento-artifacts-onnx"


class CompilationError(InvalidArgument):
    """The model cannot be compiled, or the compiled model disagrees with the original on the sample."""


@attrs.frozen(kw_only=True)
class Converter:
    """How a framework's models become ONNX: `convert(model, n_features, opset)` returns a ModelProto
    whose single input takes float rows; `is_classifier(model)` says whether predict returns labels."""

    compiler: str  # the distribution that converts (its version is recorded), e.g. "skl2onnx"
    install: str  # what to pip install when it is missing, e.g. "'bento-artifacts-sklearn[onnx]'"
    opset: int
    convert: Callable[[Any, int, int], Any]
    is_classifier: Callable[[Any], bool]


def check_compile_options(owner: str, compile: Optional[str], tolerance: Any, keep_original: Any) -> None:
    """InvalidArgument for a compile option that is unknown, out of range, or given without compile."""
    if compile is None:
        if tolerance is not None or keep_original is not None:
            raise InvalidArgument(f"{owner}: tolerance and keep_original apply only with compile='onnx'")
        return
    if compile not in COMPILERS:
        raise InvalidArgument(f"{owner}: compile={compile!r} is not one of {', '.join(COMPILERS)}")
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or not math.isfinite(tolerance) or tolerance < 0):
        raise InvalidArgument(f"{owner}: tolerance must be a finite number >= 0, got {tolerance!r}")
    if keep_original is not None and not isinstance(keep_original, bool):
        raise InvalidArgument(f"{owner}: keep_original must be True or False, got {keep_original!r}")


def _qualname(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (shown as 2, not np.int64(2))."""
    return value.item() if hasattr(value, "item") else value


def _version(dist: str) -> str:
    from importlib_metadata import version

    return version(dist)


def _compiler_version(converter: Converter, owner: str) -> str:
    from importlib_metadata import PackageNotFoundError

    try:
        return _version(converter.compiler)
    except PackageNotFoundError:
        raise PluginError(f"{owner}: compile='onnx' needs {converter.compiler}: pip install {converter.install}") from None


def _sample_rows(sample_input: Any, owner: str) -> tuple:
    """(rows as float32, column names or None): the shape the compiled model is built for."""
    import numpy as np

    if sample_input is None:
        raise CompilationError(f"{owner}: compile='onnx' needs pack(model, sample_input=X), rows the compiled "
                               "model is verified on (e.g. the training or a validation set)")
    try:
        rows = np.asarray(sample_input, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise CompilationError(f"{owner}: sample_input must be numeric (rows x features): {e}") from None
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise CompilationError(f"{owner}: sample_input must be a non-empty 2-D array or DataFrame "
                               f"(rows x features), got shape {list(rows.shape)}")
    columns = list(sample_input.columns) if hasattr(sample_input, "columns") else []
    named = bool(columns) and all(isinstance(c, str) for c in columns)
    return rows, (columns if named else None)


def _deviation(got: Any, want: Any) -> Any:
    """Per-row deviation |got - want| / max(1, |want|): absolute for probabilities, relative for large values."""
    import numpy as np

    got = np.asarray(got, dtype=np.float64).reshape(len(got), -1)
    want = np.asarray(want, dtype=np.float64).reshape(len(want), -1)
    return (np.abs(got - want) / np.maximum(1.0, np.abs(want))).max(axis=1)


class _Verifier:
    """Compares the compiled model with the original on the sample; the first disagreeing row is an error."""

    def __init__(self, owner: str, tolerance: float, rows: int) -> None:
        self.owner, self.tolerance, self.rows = owner, tolerance, rows
        self.compared: list = []
        self.max_deviation = 0.0

    def _refuse(self, what: str) -> None:
        raise CompilationError(f"{self.owner}: the compiled model disagrees with the original {what} "
                               f"(compile='onnx' verifies every sample row; ONNX computes in float32)")

    def _same_shape(self, name: str, got: Any, want: Any) -> None:
        if len(got) != len(want) or getattr(got, "shape", None) != getattr(want, "shape", None):
            self._refuse(f"on the shape of {name}: {list(got.shape)} for {list(want.shape)}")

    def labels(self, got: Any, want: Any) -> None:
        import numpy as np

        self._same_shape("predict", got, want)
        wrong = np.flatnonzero(np.asarray(got) != np.asarray(want))
        if wrong.size:
            row = int(wrong[0])
            self._refuse(f"on sample row {row}: label {_plain(got[row])!r}, original {_plain(want[row])!r}")
        self.compared.append("labels")

    def values(self, name: str, got: Any, want: Any) -> None:
        import numpy as np

        self._same_shape(name, got, want)
        deviation = _deviation(got, want)
        wrong = np.flatnonzero(~(deviation <= self.tolerance))  # NaN counts as wrong
        if wrong.size:
            row = int(wrong[0])
            self._refuse(f"on sample row {row}: {name} deviate by {deviation[row]:.3g} (tolerance {self.tolerance:g})")
        self.compared.append(name)
        self.max_deviation = max(self.max_deviation, float(deviation.max()))

    def report(self) -> dict:
        return {"verified_rows": self.rows, "compared": list(self.compared),
                "max_deviation": self.max_deviation, "tolerance": self.tolerance}


def verify(model: Any, compiled: OnnxModel, sample_input: Any, classifier: bool, tolerance: float, owner: str) -> dict:
    """What was compared on the sample and the largest deviation seen; CompilationError on the first
    row where the compiled model's predict (or predict_proba) does not match the original's."""
    import numpy as np

    try:
        want = np.asarray(model.predict(sample_input))
        want_proba = model.predict_proba(sample_input) if classifier and hasattr(model, "predict_proba") else None
    except Exception as e:  # the user's own model on the user's own sample
        raise CompilationError(f"{owner}: the original model cannot predict sample_input: {_first_line(e)}") from None
    checker = _Verifier(owner, tolerance, len(want))
    try:
        got = compiled.predict(sample_input)
    except InvalidArgument as e:
        raise CompilationError(f"{owner}: the compiled model cannot predict sample_input: {e}") from None
    if classifier:
        checker.labels(got, want)
    else:
        checker.values("predictions", got, want)
    if want_proba is not None:
        try:
            got_proba = compiled.predict_proba(sample_input)
        except InvalidArgument as e:
            raise CompilationError(f"{owner}: the original has predict_proba but the compiled model cannot "
                                   f"answer it: {e}") from None
        checker.values("probabilities", got_proba, want_proba)
    return checker.report()


class CompiledModel:
    """What a framework artifact declared with compile="onnx" delegates to: convert and verify at pack,
    then save, load and serve the ONNX model through an OnnxModelArtifact of the same name."""

    def __init__(self, name: str, owner: str, tolerance: Optional[float] = None,
                 intra_op_threads: Optional[int] = None) -> None:
        self.owner = owner
        self.tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
        self.onnx = OnnxModelArtifact(name, intra_op_threads=intra_op_threads)

    @classmethod
    def declare(cls, name: str, owner: str, compile: Optional[str], tolerance: Any, keep_original: Any,
                intra_op_threads: Optional[int] = None) -> Optional["CompiledModel"]:
        """The compiled model an artifact declared with these options delegates to (None without
        compile); InvalidArgument naming a bad option."""
        check_compile_options(owner, compile, tolerance, keep_original)
        return cls(name, owner, tolerance, intra_op_threads) if compile else None

    @property
    def pip_requirements(self) -> tuple:
        return (_RUNTIME_PLUGIN, runtime_distribution())

    def pack(self, model: Any, metadata: Optional[Mapping], sample_input: Any, converter: Converter) -> None:
        check_metadata(metadata, self.owner)
        rows, columns = _sample_rows(sample_input, self.owner)
        compiler_version = _compiler_version(converter, self.owner)
        try:
            proto = converter.convert(model, rows.shape[1], converter.opset)
        except Exception as e:  # converters raise anything: RuntimeError, NameError, their own classes
            raise CompilationError(f"{self.owner}: {converter.compiler} {compiler_version} cannot "
                                   f"convert {_qualname(model)}: {_first_line(e)}") from None
        if columns is not None:
            proto.metadata_props.add(key=FEATURE_NAMES_KEY, value=json.dumps(columns))
        data = proto.SerializeToString()
        try:
            compiled = OnnxModel(create_session(data, self.onnx.intra_op_threads))
        except InvalidArgument as e:
            raise CompilationError(f"{self.owner}: the {converter.compiler} output does not load: {e}") from None
        report = verify(model, compiled, sample_input, converter.is_classifier(model), self.tolerance, self.owner)
        self.onnx.adopt(data, compiled, {
            "from": _qualname(model), "compiler": converter.compiler, "compiler_version": compiler_version,
            "opset": converter.opset, "runtime": f"{runtime_distribution()} {_version(runtime_distribution())}",
            **report})
