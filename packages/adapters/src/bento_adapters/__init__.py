"""Bento's request and response formats: JSON, text, DataFrames, files and images.

Importing this package is cheap (it runs at every `bento` start-up through the plugin entry
point): pandas, numpy, Pillow, orjson and multipart are imported when first needed.
"""
from __future__ import annotations

from .dataframe_input import DataframeInput
from .file_input import FileInput, MultiFileInput
from .http_body import UnsupportedContentType
from .image_input import ImageInput, MultiImageInput
from .json_input import JsonInput
from .outputs import DataframeOutput, DefaultOutput, JsonOutput
from .string_input import StringInput

__version__ = "0.1.0"

__all__ = [
    "JsonInput",
    "StringInput",
    "DataframeInput",
    "FileInput",
    "ImageInput",
    "MultiFileInput",
    "MultiImageInput",
    "JsonOutput",
    "DataframeOutput",
    "DefaultOutput",
    "UnsupportedContentType",
]
