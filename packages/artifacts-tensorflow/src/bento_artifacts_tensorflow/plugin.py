"""The `tensorflow` entry point of the `bento` group. Importing it does not import TensorFlow."""
from __future__ import annotations

from typing import Callable

from bento import hookimpl

from .artifacts import KerasModelArtifact, TensorflowSavedModelArtifact
from .tensors import TfTensorInput, TfTensorOutput

__all__ = ["register_artifacts", "register_input_adapters", "register_output_adapters"]


@hookimpl
def register_artifacts(register: Callable[[type], None]) -> None:
    register(TensorflowSavedModelArtifact)
    register(KerasModelArtifact)


@hookimpl
def register_input_adapters(register: Callable[[type], None]) -> None:
    register(TfTensorInput)


@hookimpl
def register_output_adapters(register: Callable[[type], None]) -> None:
    register(TfTensorOutput)
