"""Deferred imports of the heavy libraries, so `import bento_adapters` (done by every CLI
start-up through the plugin entry point) stays cheap."""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["pandas", "numpy", "orjson", "pil_image", "jsonschema"]


def pandas() -> ModuleType:
    return importlib.import_module("pandas")


def numpy() -> ModuleType:
    return importlib.import_module("numpy")


def orjson() -> ModuleType:
    return importlib.import_module("orjson")


def jsonschema() -> ModuleType:
    return importlib.import_module("jsonschema")


def pil_image() -> ModuleType:
    """`PIL.Image`."""
    return importlib.import_module("PIL.Image")
