"""OnnxModelArtifact: an ONNX model saved as `<name>.onnx` (protobuf, no pickle) and served by ONNX Runtime."""
from __future__ import annotations

import os
from types import MappingProxyType
from typing import Any, Mapping, Optional

from bento import BentoServiceArtifact
from bento.artifacts.base import freeze
from bento.exceptions import InvalidArgument

from .runtime import DEFAULT_INTRA_OP_THREADS, OnnxModel, check_threads, create_session, runtime_distribution

__all__ = ["OnnxModelArtifact", "METADATA_KEY"]

# The metadata entry (bento.yml, /metadata) that describes the model: inputs, outputs, and for a
# compiled model what was verified. Users' own metadata may not use it.
METADATA_KEY = "onnx"
_SUFFIX = ".onnx"


def model_bytes(model: Any, owner: str) -> bytes:
    """The serialized model from a ModelProto, bytes, or the path of a .onnx file."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        try:
            with open(model, "rb") as f:
                return f.read()
        except OSError as e:
            raise InvalidArgument(f"{owner}: cannot read ONNX model file {os.fspath(model)}: {e.strerror}") from None
    if callable(getattr(model, "SerializeToString", None)):  # onnx.ModelProto, without importing onnx
        return model.SerializeToString()
    raise InvalidArgument(f"{owner} takes an onnx.ModelProto, its bytes or the path of a .onnx file, "
                          f"got {type(model).__module__}.{type(model).__qualname__}")


def check_metadata(metadata: Optional[Mapping], owner: str) -> None:
    if metadata and METADATA_KEY in metadata:
        raise InvalidArgument(f"{owner}: metadata key '{METADATA_KEY}' is reserved for the model's description")


class OnnxModelArtifact(BentoServiceArtifact):
    """An ONNX model. `self.artifacts.<name>` is an `OnnxModel` (`run`, `predict`, `predict_proba`).

    `intra_op_threads` is the thread count of each inference call once loaded (default
    DEFAULT_INTRA_OP_THREADS, see there why). The model's inputs and outputs are recorded in the
    artifact's metadata under "onnx" (bento.yml, the server's /metadata).
    """

    def __init__(self, name: str, intra_op_threads: Optional[int] = None) -> None:
        check_threads(intra_op_threads, f"OnnxModelArtifact '{name}'")
        super().__init__(name, **({} if intra_op_threads is None else {"intra_op_threads": intra_op_threads}))
        self._bytes: Optional[bytes] = None
        self._model: Optional[OnnxModel] = None
        self._description: Optional[Mapping[str, Any]] = None

    @property
    def format(self) -> str:
        return "onnx"

    @property
    def intra_op_threads(self) -> int:
        return self._options.get("intra_op_threads", DEFAULT_INTRA_OP_THREADS)

    @property
    def pip_requirements(self) -> tuple:
        return (runtime_distribution(),)

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.described(self._metadata)

    def described(self, metadata: Mapping[str, Any]) -> Mapping[str, Any]:
        """`metadata` with the model's description added, once packed (a loaded bundle has it already)."""
        if self._description is None:
            return metadata
        return MappingProxyType({**metadata, METADATA_KEY: self._description})

    def _path(self, directory: str) -> str:
        return os.path.join(directory, self.name + _SUFFIX)

    def pack(self, model: Any, metadata: Optional[dict] = None) -> "OnnxModelArtifact":
        owner = f"OnnxModelArtifact '{self.name}'"
        check_metadata(metadata, owner)
        data = model_bytes(model, owner)
        try:
            session = create_session(data, self.intra_op_threads)
        except InvalidArgument as e:
            raise InvalidArgument(f"{owner}: {e}") from None
        self.adopt(data, OnnxModel(session))
        return self

    def adopt(self, data: bytes, model: OnnxModel, compiled: Optional[dict] = None) -> None:
        """Take a model already loaded into a session from `data`, with what was verified when it was compiled."""
        self._bytes = data
        self._model = model
        self._description = freeze({**model.describe(), **({"compiled": compiled} if compiled else {})})

    def save(self, dst_dir: str) -> None:
        with open(self._path(dst_dir), "wb") as f:
            f.write(self._bytes)

    def load(self, src_dir: str) -> "OnnxModelArtifact":
        with open(self._path(src_dir), "rb") as f:
            self._model = OnnxModel(create_session(f.read(), self.intra_op_threads))
        return self

    def get(self) -> Optional[OnnxModel]:
        return self._model
