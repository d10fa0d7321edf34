"""XgboostModelArtifact: an XGBoost model saved with XGBoost's own `save_model` (UBJSON), never pickled,
or compiled to ONNX at pack time (compile="onnx") and then served by ONNX Runtime without xgboost.

XGBoost's parser can crash the process (SIGSEGV) on a truncated model file instead of raising, so
`save` writes the file's sha256 beside it and `load` checks it before XGBoost reads a byte.

xgboost is imported on first use, not at import time: this module is loaded through the `bento`
entry point at every CLI start-up, and `import xgboost` alone costs most of a second.
"""
from __future__ import annotations

import importlib
import os
import re
from types import ModuleType
from typing import Any, Mapping, Optional

from bento import BentoServiceArtifact
from bento.bundle.manifest import sha256_file
from bento.exceptions import BundleError, InvalidArgument, PluginError

__all__ = ["XgboostModelArtifact", "DEFAULT_NTHREAD"]

# One thread per prediction by default. The server already runs several requests at once (worker
# threads, micro-batches, often several workers): XGBoost's default of every core per call makes
# those threads fight over the same cores (OpenMP oversubscription) and p99 latency jumps on a
# shared machine. Raise it for a process that predicts few, large batches.
DEFAULT_NTHREAD = 1

_SUFFIX = ".ubj"
_DIGEST_SUFFIX = ".sha256"
_BOOSTER = "Booster"
# XGBoost prefixes its errors with "[hh:mm:ss] /path/to/file.cc:123: " and appends a C++ stack trace.
_XGB_ERROR_PREFIX = re.compile(r"^\[[\d:]+\]\s+\S+:\d+:\s*")


def _xgboost() -> ModuleType:
    try:
        return importlib.import_module("xgboost")
    except ImportError as e:
        raise PluginError(f"XgboostModelArtifact needs xgboost, which cannot be imported ({e}): "
                          "pip install xgboost-cpu") from e


def _kind_of(model: Any) -> Optional[str]:
    """"Booster", or the name of the xgboost sklearn wrapper class `model` is exactly an instance of."""
    xgb = _xgboost()
    name = type(model).__name__
    if type(model) is xgb.Booster:
        return _BOOSTER
    if isinstance(model, xgb.XGBModel) and getattr(xgb, name, None) is type(model):
        return name
    return None


def _model_class(kind: str) -> type:
    """The class to rebuild a saved model with; only xgboost's own classes qualify."""
    xgb = _xgboost()
    cls = getattr(xgb, kind, None)
    if cls is xgb.Booster or (isinstance(cls, type) and issubclass(cls, xgb.XGBModel)):
        return cls
    raise BundleError(f"unknown xgboost model kind {kind!r} (expected Booster or an xgboost sklearn class)")


def _xgboost_message(error: Exception) -> str:
    """The first line of an XGBoostError without its timestamp/source prefix and C++ stack trace."""
    first = (str(error).strip().splitlines() or [""])[0]
    return _XGB_ERROR_PREFIX.sub("", first).strip() or type(error).__name__


def _check_digest(path: str) -> None:
    """Refuse a model file that is not byte for byte the one `save` wrote."""
    try:
        with open(path + _DIGEST_SUFFIX, encoding="ascii") as f:
            expected = f.read().strip()
        actual = sha256_file(path)
    except (OSError, UnicodeDecodeError) as e:
        raise BundleError(f"XGBoost model {path} or its checksum cannot be read: {e}") from None
    if actual != expected:
        raise BundleError(f"{path} is not the XGBoost model that was saved (corrupted or truncated): "
                          f"sha256 {actual[:12]}... expected {expected[:12]}...")


class XgboostModelArtifact(BentoServiceArtifact):
    """An `xgboost.Booster` or an xgboost sklearn model (XGBClassifier, XGBRegressor, XGBRanker, ...).

    Saved as `<name>.ubj` (plus `<name>.ubj.sha256`) with XGBoost's `save_model`, which keeps the sklearn wrapper's own
    attributes (classes, objective); the wrapper class is recorded as option `kind` so `load`
    rebuilds the same type. `nthread` is the thread count each prediction uses once loaded
    (default DEFAULT_NTHREAD, see there why). `kind` is written by `pack`; users do not pass it.

    `compile="onnx"` converts an XGBClassifier/XGBRegressor (and the RF flavours) with onnxmltools
    when packed (`pack(model, sample_input=X)`), verifies it on X as `SklearnModelArtifact` does,
    and saves only the .onnx file (`nthread` becomes ONNX Runtime's intra-op thread count);
    `keep_original=True` saves the .ubj too, never loaded.
    """

    def __init__(self, name: str, nthread: Optional[int] = None, kind: Optional[str] = None,
                 compile: Optional[str] = None, tolerance: Optional[float] = None,
                 keep_original: Optional[bool] = None) -> None:
        if nthread is not None and (isinstance(nthread, bool) or not isinstance(nthread, int) or nthread < 1):
            raise InvalidArgument(f"XgboostModelArtifact '{name}': nthread must be a positive integer, got {nthread!r}")
        options = {"nthread": nthread, "kind": kind, "compile": compile, "tolerance": tolerance,
                   "keep_original": keep_original}
        super().__init__(name, **{k: v for k, v in options.items() if v is not None})
        self._compiled = _compiled_model(name, compile, tolerance, keep_original, nthread)
        self._model: Any = None

    @property
    def format(self) -> str:
        return "onnx" if self._compiled else "xgboost-ubj"

    @property
    def nthread(self) -> int:
        return self._options.get("nthread", DEFAULT_NTHREAD)

    @property
    def pip_requirements(self) -> tuple:
        return self._compiled.pip_requirements if self._compiled else ()

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._compiled.onnx.described(self._metadata) if self._compiled else self._metadata

    def _path(self, directory: str) -> str:
        return os.path.join(directory, self.name + _SUFFIX)

    def pack(self, model: Any, metadata: Optional[dict] = None, sample_input: Any = None) -> "XgboostModelArtifact":
        kind = _kind_of(model)
        if kind is None:
            raise InvalidArgument(
                f"XgboostModelArtifact '{self.name}' takes an xgboost.Booster or an xgboost sklearn model "
                "(XGBClassifier, XGBRegressor, XGBRanker, XGBRFClassifier, XGBRFRegressor), "
                f"got {type(model).__name__}")
        if self._compiled:
            from .onnx import COMPILABLE_KINDS, CONVERTER

            if kind not in COMPILABLE_KINDS:
                raise InvalidArgument(f"XgboostModelArtifact '{self.name}': compile='onnx' takes "
                                      f"{', '.join(COMPILABLE_KINDS)}, got {kind}")
            self._compiled.pack(model, metadata, sample_input, CONVERTER)
        elif sample_input is not None:
            raise InvalidArgument(f"XgboostModelArtifact '{self.name}': sample_input is used only with compile='onnx'")
        self._options["kind"] = kind
        self._model = model
        return self

    def save(self, dst_dir: str) -> None:
        if self._compiled:
            self._compiled.onnx.save(dst_dir)
            if not self._options.get("keep_original"):
                return
        path = self._path(dst_dir)
        self._model.save_model(path)
        with open(path + _DIGEST_SUFFIX, "w", encoding="ascii") as f:
            f.write(sha256_file(path) + "\n")

    def load(self, src_dir: str) -> "XgboostModelArtifact":
        if self._compiled:  # the original, if kept, is never read
            self._compiled.onnx.load(src_dir)
            return self
        xgb = _xgboost()
        path = self._path(src_dir)
        _check_digest(path)
        model = _model_class(self._options.get("kind", _BOOSTER))()
        try:
            model.load_model(path)
        except Exception as e:  # XGBoostError, or a UnicodeDecodeError from its Python side
            raise BundleError(f"{path} is not a readable XGBoost model: {_xgboost_message(e)}") from None
        if isinstance(model, xgb.Booster):
            model.set_param({"nthread": self.nthread})
        else:
            model.set_params(n_jobs=self.nthread)  # also sets the inner booster's nthread
        self._model = model
        return self

    def get(self) -> Any:
        return self._compiled.onnx.get() if self._compiled else self._model


def _compiled_model(name: str, compile: Optional[str], tolerance: Any, keep_original: Any, nthread: Optional[int]) -> Any:
    """The CompiledModel that a compile="onnx" artifact delegates to, None without compile options."""
    owner = f"XgboostModelArtifact '{name}'"
    if compile is None and tolerance is None and keep_original is None:
        return None
    try:
        from bento_artifacts_onnx.compiled import CompiledModel
    except ImportError:
        raise PluginError(f"{owner}: compile='onnx' needs bento-artifacts-onnx and onnxmltools: "
                          "pip install 'bento-artifacts-xgboost[onnx]'") from None
    return CompiledModel.declare(name, owner, compile, tolerance, keep_original, intra_op_threads=nthread)
