"""The end-to-end tests' compiled service: a scikit-learn model served by ONNX Runtime, and an API that
says which model frameworks the serving process has imported. This module imports no scikit-learn."""
from __future__ import annotations

import sys

from bento_adapters import DataframeInput, JsonInput

from bento import BentoService, api, artifacts, env
from bento_artifacts_sklearn import SklearnModelArtifact

FRAMEWORKS = ("sklearn", "skl2onnx", "onnx", "onnxruntime")


@env(infer_pip_packages=True)
@artifacts([SklearnModelArtifact("model", compile="onnx")])
class CompiledIris(BentoService):
    """Iris species from a RandomForest compiled to ONNX at pack time."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)

    @api(input=JsonInput())
    def modules(self, _):
        return {name: name in sys.modules for name in FRAMEWORKS}
