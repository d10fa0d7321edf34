"""TensorFlow and Keras, imported on first use: this package is imported at every `bento` start-up
through its entry point, and `import tensorflow` alone takes seconds."""
from __future__ import annotations

import importlib
from types import ModuleType

from bento.exceptions import PluginError

__all__ = ["tensorflow", "keras"]


def _require(module: str, user: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise PluginError(f"{user} needs TensorFlow, which cannot be imported ({e}): "
                          "pip install tensorflow-cpu (or tensorflow on a GPU machine)") from e


def tensorflow(user: str) -> ModuleType:
    """`tensorflow`, or a PluginError naming `user` (what needed it) and the pip command."""
    return _require("tensorflow", user)


def keras(user: str) -> ModuleType:
    """Keras 3, which comes with TensorFlow >= 2.16."""
    tensorflow(user)
    return _require("keras", user)
