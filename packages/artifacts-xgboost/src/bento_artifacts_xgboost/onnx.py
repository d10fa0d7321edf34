"""How XGBoost's scikit-learn models compile to ONNX (onnxmltools), for XgboostModelArtifact(..., compile="onnx").

Imported only when such an artifact is packed; a compiled bundle loads and serves without xgboost,
onnxmltools or scikit-learn being imported.
"""
from __future__ import annotations

import copy
from typing import Any

from bento_artifacts_onnx.compiled import Converter

__all__ = ["CONVERTER", "COMPILABLE_KINDS"]

# onnxmltools 1.16 converts XGBoost trees with opset 15 at most (its RuntimeError says so above that)
OPSET = 15
# The wrappers whose predict/predict_proba the compiled model answers (a Booster's inplace_predict
# has no counterpart). Verification still decides: onnxmltools 1.16 gets some XGBRFClassifier
# labels wrong, and such a model is refused at pack.
COMPILABLE_KINDS = ("XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor")


def _is_classifier(model: Any) -> bool:
    return type(model).__name__.endswith("Classifier")


def _convert(model: Any, n_features: int, opset: int) -> Any:
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    if model.get_booster().feature_names is not None:
        # onnxmltools reads features as f0, f1, ... only; a model fitted on a DataFrame names them.
        # Convert a copy without names (the compiled model records the names and selects by them).
        model = copy.deepcopy(model)
        model.get_booster().feature_names = None
    return convert_xgboost(model, initial_types=[("X", FloatTensorType([None, n_features]))], target_opset=opset)


CONVERTER = Converter(compiler="onnxmltools", install="'bento-artifacts-xgboost[onnx]'", opset=OPSET,
                      convert=_convert, is_classifier=_is_classifier)
