"""SklearnModelArtifact: a scikit-learn estimator saved with pickle, or with skops (no pickle), or
compiled to ONNX at pack time (compile="onnx") and then served by ONNX Runtime without scikit-learn."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
from typing import Any, Mapping, Optional

from bento import BentoServiceArtifact
from bento.exceptions import BundleError, InvalidArgument, PluginError

__all__ = ["SklearnModelArtifact", "FORMATS"]

FORMATS = ("pickle", "skops")
PICKLE_PROTOCOL = 5


class SklearnModelArtifact(BentoServiceArtifact):
    """A scikit-learn estimator (anything derived from `sklearn.base.BaseEstimator`, or with a
    `predict` method). `format="skops"` stores it with skops.io: loading runs no pickle code
    and accepts only the types recorded when it was saved.

    `compile="onnx"` converts the model with skl2onnx when packed (`pack(model, sample_input=X)`),
    verifies on X that the compiled model predicts the same labels (and probabilities within
    `tolerance`, default 1e-5), and saves only the .onnx file: the bundle is served by ONNX Runtime
    and never imports scikit-learn. `keep_original=True` saves the estimator too (in `format`),
    for the record; it is never loaded.
    """

    # Asked of the class (no format known), the answer is the safe one; instances know better.
    PICKLE_BASED = True

    def __init__(self, name: str, format: str = "pickle", compile: Optional[str] = None,
                 tolerance: Optional[float] = None, keep_original: Optional[bool] = None) -> None:
        owner = f"SklearnModelArtifact '{name}'"
        if format not in FORMATS:
            raise InvalidArgument(f"{owner}: format {format!r} is not one of {', '.join(FORMATS)}")
        if format == "skops" and importlib.util.find_spec("skops") is None:
            raise PluginError(f"{owner}: format='skops' needs skops: pip install 'bento-artifacts-sklearn[skops]'")
        options = {"compile": compile, "tolerance": tolerance, "keep_original": keep_original}
        super().__init__(name, format=format, **{k: v for k, v in options.items() if v is not None})
        self._compiled = _compiled_model(name, owner, compile, tolerance, keep_original)
        self.PICKLE_BASED = format == "pickle" and self._compiled is None
        self._model: Any = None

    @property
    def format(self) -> str:
        return "onnx" if self._compiled else self._options["format"]

    @property
    def pip_requirements(self) -> tuple:
        if self._compiled:
            return self._compiled.pip_requirements
        return ("scikit-learn", "skops") if self._options["format"] == "skops" else ("scikit-learn",)

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._compiled.onnx.described(self._metadata) if self._compiled else self._metadata

    def _path(self, directory: str) -> str:
        return os.path.join(directory, f"{self.name}.{'skops' if self._options['format'] == 'skops' else 'pkl'}")

    def _types_path(self, directory: str) -> str:
        return os.path.join(directory, f"{self.name}.skops-types.json")

    def pack(self, model: Any, metadata: Optional[dict] = None, sample_input: Any = None) -> "SklearnModelArtifact":
        from sklearn.base import BaseEstimator

        if not isinstance(model, BaseEstimator) and not callable(getattr(model, "predict", None)):
            raise InvalidArgument(
                f"SklearnModelArtifact '{self.name}' needs a scikit-learn estimator (sklearn.base.BaseEstimator, "
                f"or an object with a predict method), got {type(model).__module__}.{type(model).__qualname__}")
        if self._compiled:
            from .onnx import CONVERTER

            self._compiled.pack(model, metadata, sample_input, CONVERTER)
        elif sample_input is not None:
            raise InvalidArgument(f"SklearnModelArtifact '{self.name}': sample_input is used only with compile='onnx'")
        self._model = model
        return self

    def get(self) -> Any:
        return self._compiled.onnx.get() if self._compiled else self._model

    def save(self, dst_dir: str) -> None:
        if self._compiled:
            self._compiled.onnx.save(dst_dir)
            if not self._options.get("keep_original"):
                return
        path = self._path(dst_dir)
        if self._options["format"] == "pickle":
            with open(path, "wb") as f:
                pickle.dump(self._model, f, protocol=PICKLE_PROTOCOL)
            return
        import skops.io

        try:
            skops.io.dump(self._model, path)
        except (TypeError, ValueError, NotImplementedError) as e:
            raise InvalidArgument(f"SklearnModelArtifact '{self.name}': skops cannot save "
                                  f"{type(self._model).__name__}: {e}; use format='pickle'") from None
        with open(self._types_path(dst_dir), "w", encoding="utf-8") as f:
            json.dump(sorted(skops.io.get_untrusted_types(file=path)), f, indent=1)

    def load(self, src_dir: str) -> "SklearnModelArtifact":
        if self._compiled:  # the original, if kept, is never read
            self._compiled.onnx.load(src_dir)
            return self
        path = self._path(src_dir)
        if self._options["format"] == "pickle":
            with open(path, "rb") as f:
                self._model = pickle.load(f)
            return self
        import skops.io

        try:
            with open(self._types_path(src_dir), encoding="utf-8") as f:
                trusted = json.load(f)
        except FileNotFoundError:
            raise BundleError(f"SklearnModelArtifact '{self.name}': {self._types_path(src_dir)} is missing") from None
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted))
        if untrusted:
            raise BundleError(f"SklearnModelArtifact '{self.name}': {path} holds types not recorded when it was "
                              f"saved: {', '.join(untrusted)}")
        self._model = skops.io.load(path, trusted=trusted)
        return self


def _compiled_model(name: str, owner: str, compile: Optional[str], tolerance: Any, keep_original: Any) -> Any:
    """The CompiledModel that a compile="onnx" artifact delegates to, None without compile options."""
    if compile is None and tolerance is None and keep_original is None:
        return None
    try:
        from bento_artifacts_onnx.compiled import CompiledModel
    except ImportError:
        raise PluginError(f"{owner}: compile='onnx' needs bento-artifacts-onnx and skl2onnx: "
                          "pip install 'bento-artifacts-sklearn[onnx]'") from None
    return CompiledModel.declare(name, owner, compile, tolerance, keep_original)
