"""TensorFlow in Bento: SavedModel and Keras 3 artifacts, and TF Serving's request format.

TensorFlow is imported when an artifact or TfTensorInput first needs it, never by importing this
package (which every `bento` start-up does through the plugin entry point). Without TensorFlow,
using one of these classes is an error that says `pip install tensorflow-cpu`.
"""
from __future__ import annotations

from .artifacts import KerasModelArtifact, TensorflowSavedModelArtifact
from .signature import ServedModel
from .tensors import TfTensorInput, TfTensorOutput

__version__ = "0.1.0"

__all__ = ["TensorflowSavedModelArtifact", "KerasModelArtifact", "TfTensorInput", "TfTensorOutput", "ServedModel"]
