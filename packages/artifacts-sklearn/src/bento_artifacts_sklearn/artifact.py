"""SklearnModelArtifact: a scikit-learn estimator saved with pickle, or with skops (no pickle)."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
from typing import Any, Optional

from bento import BentoServiceArtifact
from bento.exceptions import BundleError, InvalidArgument, PluginError

__all__ = ["SklearnModelArtifact", "FORMATS"]

FORMATS = ("pickle", "skops")
PICKLE_PROTOCOL = 5


class SklearnModelArtifact(BentoServiceArtifact):
    """A scikit-learn estimator (anything derived from `sklearn.base.BaseEstimator`, or with a
    `predict` method). `format="skops"` stores it with skops.io: loading runs no pickle code
    and accepts only the types recorded when it was saved."""

    # Asked of the class (no format known), the answer is the safe one; instances know better.
    PICKLE_BASED = True

    def __init__(self, name: str, format: str = "pickle") -> None:
        if format not in FORMATS:
            raise InvalidArgument(f"SklearnModelArtifact '{name}': format {format!r} is not one of {', '.join(FORMATS)}")
        if format == "skops" and importlib.util.find_spec("skops") is None:
            raise PluginError(f"SklearnModelArtifact '{name}': format='skops' needs skops: "
                              "pip install 'bento-artifacts-sklearn[skops]'")
        super().__init__(name, format=format)
        self.PICKLE_BASED = format == "pickle"
        self._model: Any = None

    @property
    def format(self) -> str:
        return self._options["format"]

    def _path(self, directory: str) -> str:
        return os.path.join(directory, f"{self.name}.{'pkl' if self.PICKLE_BASED else 'skops'}")

    def _types_path(self, directory: str) -> str:
        return os.path.join(directory, f"{self.name}.skops-types.json")

    def pack(self, model: Any, metadata: Optional[dict] = None) -> "SklearnModelArtifact":
        from sklearn.base import BaseEstimator

        if not isinstance(model, BaseEstimator) and not callable(getattr(model, "predict", None)):
            raise InvalidArgument(
                f"SklearnModelArtifact '{self.name}' needs a scikit-learn estimator (sklearn.base.BaseEstimator, "
                f"or an object with a predict method), got {type(model).__module__}.{type(model).__qualname__}")
        self._model = model
        return self

    def get(self) -> Any:
        return self._model

    def save(self, dst_dir: str) -> None:
        path = self._path(dst_dir)
        if self.PICKLE_BASED:
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
        path = self._path(src_dir)
        if self.PICKLE_BASED:
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
