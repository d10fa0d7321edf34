"""The `adapters` entry point of the `bento` group: registers every adapter of this package."""
from __future__ import annotations

from typing import Callable

from bento import hookimpl

from .dataframe_input import DataframeInput
from .file_input import FileInput, MultiFileInput
from .image_input import ImageInput, MultiImageInput
from .json_input import JsonInput
from .outputs import DataframeOutput, DefaultOutput, JsonOutput
from .string_input import StringInput

__all__ = ["INPUT_ADAPTERS", "OUTPUT_ADAPTERS", "register_input_adapters", "register_output_adapters"]

INPUT_ADAPTERS = (JsonInput, StringInput, DataframeInput, FileInput, ImageInput, MultiFileInput, MultiImageInput)
OUTPUT_ADAPTERS = (DefaultOutput, JsonOutput, DataframeOutput)


@hookimpl
def register_input_adapters(register: Callable[[type], None]) -> None:
    for cls in INPUT_ADAPTERS:
        register(cls)


@hookimpl
def register_output_adapters(register: Callable[[type], None]) -> None:
    for cls in OUTPUT_ADAPTERS:
        register(cls)
