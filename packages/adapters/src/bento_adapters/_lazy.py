"""Deferred imports of the heavy libraries, so `import bento_adapters` (done by every CLI
start-up through the plugin entry point) stays cheap. Each accessor imports once and then returns
the module from a cache: they run several times per request, and `importlib.import_module` of an
imported module still takes the import machinery's lock (3 calls were 12 % of a request's time
in the event-loop server's profile)."""
from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

__all__ = ["pandas", "numpy", "orjson", "pil_image", "jsonschema"]


@cache
def pandas() -> ModuleType:
    return importlib.import_module("pandas")


@cache
def numpy() -> ModuleType:
    return importlib.import_module("numpy")


@cache
def orjson() -> ModuleType:
    return importlib.import_module("orjson")


@cache
def jsonschema() -> ModuleType:
    return importlib.import_module("jsonschema")


@cache
def pil_image() -> ModuleType:
    """`PIL.Image`."""
    return importlib.import_module("PIL.Image")
