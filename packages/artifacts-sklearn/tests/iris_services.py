"""Services whose scikit-learn model is compiled to ONNX at pack time, or not. This module imports no
scikit-learn, so with infer_pip_packages its bundle's requirements.txt does not list it either."""
from __future__ import annotations

from bento_adapters import DataframeInput

from bento import BentoService, api, artifacts, env
from bento_artifacts_sklearn import SklearnModelArtifact


@env(infer_pip_packages=True)
@artifacts([SklearnModelArtifact("model", compile="onnx")])
class CompiledIris(BentoService):
    """Iris species from a scikit-learn model served by ONNX Runtime."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)

    @api(input=DataframeInput(), batch=True)
    def proba(self, df):
        return self.artifacts.model.predict_proba(df)


@artifacts([SklearnModelArtifact("model")])
class PickledIris(CompiledIris):
    """The same APIs over the scikit-learn model itself."""
