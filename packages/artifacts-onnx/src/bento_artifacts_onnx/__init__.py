"""ONNX models in Bento bundles, served by ONNX Runtime: `OnnxModelArtifact`, and the compilation
that `SklearnModelArtifact(..., compile="onnx")` / `XgboostModelArtifact(..., compile="onnx")` use.

Importing this package imports neither onnxruntime nor numpy (it is loaded at every `bento`
start-up through the plugin entry point); they are imported when a model is packed or loaded.
"""
from __future__ import annotations

from .artifact import OnnxModelArtifact
from .compiled import DEFAULT_TOLERANCE, CompilationError
from .runtime import DEFAULT_INTRA_OP_THREADS, OnnxModel

__version__ = "0.1.0"

__all__ = ["OnnxModelArtifact", "OnnxModel", "CompilationError", "DEFAULT_INTRA_OP_THREADS", "DEFAULT_TOLERANCE"]
