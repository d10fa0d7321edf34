"""A fresh BENTO_HOME per test, a tiny iris model converted once per session, services importable by name."""
from __future__ import annotations

import os
import sys

import pytest

from bento.testing import bento_home, iris  # noqa: F401  (a private BENTO_HOME per test, the iris data)

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # onnx_services must be importable by name to be saved in a bundle


@pytest.fixture(scope="session")
def classifier(iris):
    """(scikit-learn LogisticRegression, its ONNX ModelProto from skl2onnx)."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    model = LogisticRegression(max_iter=300).fit(X, y)
    proto = to_onnx(model, X[:1].astype(np.float32), options={id(model): {"zipmap": False}}, target_opset=17)
    return model, proto
