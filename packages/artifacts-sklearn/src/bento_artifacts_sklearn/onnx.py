"""How scikit-learn models compile to ONNX (skl2onnx), for SklearnModelArtifact(..., compile="onnx").

Imported only when such an artifact is constructed; skl2onnx itself only when one is packed, so a
compiled bundle loads and serves without skl2onnx or scikit-learn installed.
"""
from __future__ import annotations

import warnings
from typing import Any

from bento_artifacts_onnx.compiled import Converter

__all__ = ["CONVERTER"]

# opset 17 is the newest skl2onnx 1.17-1.20 and every onnxruntime >= 1.14 support for its converters
OPSET = 17


def _is_classifier(model: Any) -> bool:
    from sklearn.base import is_classifier

    return is_classifier(model)


def _convert(model: Any, n_features: int, opset: int) -> Any:
    import numpy as np
    from skl2onnx import to_onnx

    # zipmap=False: probabilities as one (n, classes) tensor, not a list of {class: p} maps
    options = {id(model): {"zipmap": False}} if _is_classifier(model) else None
    with warnings.catch_warnings():
        # skl2onnx reads attributes scikit-learn has deprecated (SVC's probA_): the user can do nothing about it
        warnings.simplefilter("ignore", FutureWarning)
        return to_onnx(model, np.zeros((1, n_features), dtype=np.float32), options=options, target_opset=opset)


CONVERTER = Converter(compiler="skl2onnx", install="'bento-artifacts-sklearn[onnx]'", opset=OPSET,
                      convert=_convert, is_classifier=_is_classifier)
