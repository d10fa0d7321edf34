"""TensorFlow SavedModels and Keras 3 models as Bento artifacts, in TensorFlow's and Keras' own formats.

Neither format is pickle: a SavedModel is a graph plus variables, and a `.keras` archive is
loaded in Keras' safe mode (no Python lambdas deserialised), so these bundles load from a
registry without `--trust-pickle`. Custom Keras layers are found through
`@keras.saving.register_keras_serializable()` in the service module, which a bundle imports
before it loads its artifacts.
"""
from __future__ import annotations

import os
import shutil
import sys
import zipfile
from typing import Any, Optional

from bento import BentoServiceArtifact
from bento.exceptions import BundleError, InvalidArgument

from ._lazy import keras, tensorflow
from .signature import ServedModel

__all__ = ["TensorflowSavedModelArtifact", "KerasModelArtifact"]


def _is_keras_model(model: Any) -> bool:
    return "keras" in sys.modules and isinstance(model, sys.modules["keras"].Model)


def _check_saved_model_dir(path: str, error: type) -> None:
    """Raise `error` unless `path` holds a whole SavedModel: the graph and its variables."""
    if not os.path.isdir(path):
        raise error(f"SavedModel directory {path} does not exist")
    if not any(os.path.isfile(os.path.join(path, f)) for f in ("saved_model.pb", "saved_model.pbtxt")):
        raise error(f"{path} is not a SavedModel: no saved_model.pb")
    if not os.path.isfile(os.path.join(path, "variables", "variables.index")):
        raise error(f"{path} is an incomplete SavedModel: variables/variables.index is missing "
                    "(copy the whole directory that tf.saved_model.save or model.export wrote)")


class _ServedArtifact(BentoServiceArtifact):
    """Keeps the model and the ServedModel that `get()` hands to API functions."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._model: Any = None
        self._served: Optional[ServedModel] = None

    def get(self) -> ServedModel:
        return self._served


class TensorflowSavedModelArtifact(_ServedArtifact):
    """A `tf.Module` (or other trackable object with `tf.function`s), or the path of a SavedModel
    directory (e.g. from Keras' `model.export(dir)`); saved as the directory `<name>/`.

    `self.artifacts.<name>` is the object `tf.saved_model.load` returns, its functions checked
    against their input signatures (see `signature`).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._source: Optional[str] = None

    @property
    def format(self) -> str:
        return "tf-savedmodel"

    def pack(self, model: Any, metadata: Optional[dict] = None) -> "TensorflowSavedModelArtifact":
        tf = tensorflow(self.type_name())
        if isinstance(model, (str, os.PathLike)):
            source = os.path.abspath(os.fspath(model))
            _check_saved_model_dir(source, InvalidArgument)
            self._source, self._model = source, tf.saved_model.load(source)
        elif _is_keras_model(model):
            raise InvalidArgument(f"{self.type_name()} '{self.name}' got a Keras model: use KerasModelArtifact, or "
                                  "pack the directory that model.export(dir) writes")
        elif isinstance(model, tf.__internal__.tracking.Trackable):
            self._source, self._model = None, model
        else:
            raise InvalidArgument(f"{self.type_name()} '{self.name}' takes a tf.Module (or another trackable object "
                                  f"with tf.functions) or a SavedModel directory path, got {type(model).__name__}")
        self._served = ServedModel.trackable(self._model)
        return self

    def save(self, dst_dir: str) -> None:
        target = os.path.join(dst_dir, self.name)
        if self._source is not None:
            shutil.copytree(self._source, target)
        else:
            tensorflow(self.type_name()).saved_model.save(self._model, target)

    def load(self, src_dir: str) -> "TensorflowSavedModelArtifact":
        tf = tensorflow(self.type_name())
        path = os.path.join(src_dir, self.name)
        _check_saved_model_dir(path, BundleError)
        self._model = tf.saved_model.load(path)
        self._served = ServedModel.trackable(self._model)
        return self


class KerasModelArtifact(_ServedArtifact):
    """A Keras 3 model (Sequential, functional or subclassed), saved as `<name>.keras`.

    `self.artifacts.<name>` is the model, its `__call__`, `predict` and `predict_on_batch`
    checked against `model.inputs`. Loaded without compiling: serving needs no optimizer.
    """

    @property
    def format(self) -> str:
        return "keras"

    def _path(self, directory: str) -> str:
        return os.path.join(directory, self.name + ".keras")

    def pack(self, model: Any, metadata: Optional[dict] = None) -> "KerasModelArtifact":
        if not isinstance(model, keras(self.type_name()).Model):
            raise InvalidArgument(f"{self.type_name()} '{self.name}' takes a keras.Model (Keras 3: Sequential, "
                                  f"functional or subclassed), got {type(model).__name__}")
        self._model = model
        self._served = ServedModel.keras(model)
        return self

    def save(self, dst_dir: str) -> None:
        self._model.save(self._path(dst_dir))

    def load(self, src_dir: str) -> "KerasModelArtifact":
        path = self._path(src_dir)
        if not zipfile.is_zipfile(path):  # Keras would say "File not found" for a damaged archive
            what = "is missing" if not os.path.exists(path) else "is not a .keras archive (corrupted or truncated?)"
            raise BundleError(f"Keras model {path} {what}")
        self._model = keras(self.type_name()).models.load_model(path, compile=False)
        self._served = ServedModel.keras(self._model)
        return self
