"""Artifacts built into core: any picklable object, JSON-able data, a text file; registered
`trylast`, so a plugin may provide its own type of the same name."""
from __future__ import annotations

import json
import os
import pickle
from typing import Any, Callable, Optional

from ..exceptions import InvalidArgument
from ..markers import hookimpl
from .base import BentoServiceArtifact

__all__ = ["PickleArtifact", "JSONArtifact", "TextFileArtifact", "register_artifacts"]


class _ValueArtifact(BentoServiceArtifact):
    """Holds one Python value and stores it in a single file `<name><SUFFIX>`."""

    SUFFIX = ""

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self._value: Any = None

    def _path(self, directory: str) -> str:
        return os.path.join(directory, self.name + self.SUFFIX)

    def pack(self, model: Any, metadata: Optional[dict] = None) -> "BentoServiceArtifact":
        self._check(model)
        self._value = model
        return self

    def _check(self, model: Any) -> None:
        """Raise InvalidArgument when `model` cannot be stored in this format."""

    def get(self) -> Any:
        return self._value


class PickleArtifact(_ValueArtifact):
    """Any picklable object. Loading a pickle runs code: registry bundles need trust."""

    PICKLE_BASED = True
    SUFFIX = ".pkl"

    def save(self, dst_dir: str) -> None:
        with open(self._path(dst_dir), "wb") as f:
            pickle.dump(self._value, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, src_dir: str) -> "PickleArtifact":
        with open(self._path(src_dir), "rb") as f:
            self._value = pickle.load(f)
        return self


class JSONArtifact(_ValueArtifact):
    """JSON-serialisable data (label maps, thresholds, vocabularies)."""

    SUFFIX = ".json"

    @property
    def format(self) -> str:
        return "json"

    def _check(self, model: Any) -> None:
        try:
            json.dumps(model)
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"JSONArtifact '{self.name}' needs JSON-serialisable data: {e}") from None

    def save(self, dst_dir: str) -> None:
        with open(self._path(dst_dir), "w", encoding="utf-8") as f:
            json.dump(self._value, f)

    def load(self, src_dir: str) -> "JSONArtifact":
        with open(self._path(src_dir), encoding="utf-8") as f:
            self._value = json.load(f)
        return self


class TextFileArtifact(_ValueArtifact):
    """A text string (a prompt, a vocabulary file); option `encoding` (utf-8)."""

    SUFFIX = ".txt"

    @property
    def format(self) -> str:
        return "text"

    @property
    def _encoding(self) -> str:
        return self._options.get("encoding", "utf-8")

    def _check(self, model: Any) -> None:
        if not isinstance(model, str):
            raise InvalidArgument(f"TextFileArtifact '{self.name}' needs a str, got {type(model).__name__}")

    def save(self, dst_dir: str) -> None:
        with open(self._path(dst_dir), "w", encoding=self._encoding) as f:
            f.write(self._value)

    def load(self, src_dir: str) -> "TextFileArtifact":
        with open(self._path(src_dir), encoding=self._encoding) as f:
            self._value = f.read()
        return self


@hookimpl(trylast=True)
def register_artifacts(register: Callable[[type], None]) -> None:
    for cls in (PickleArtifact, JSONArtifact, TextFileArtifact):
        register(cls)
