"""Services the tests save as bundles (a bundle re-imports its service class by module name)."""
from __future__ import annotations

from bento_adapters import DataframeInput

from bento import BentoService, api, artifacts, env
from bento_artifacts_xgboost import XgboostModelArtifact


@artifacts([XgboostModelArtifact("model")])
class XgbIris(BentoService):
    """Iris species from an XGBClassifier."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)


@artifacts([XgboostModelArtifact("model", nthread=2)])
class XgbIrisTwoThreads(XgbIris):
    """The same API; the loaded model predicts with 2 threads instead of the default 1."""


@artifacts([XgboostModelArtifact("model")])
class XgbBoosterIris(BentoService):
    """Iris class probabilities from a raw Booster (inplace_predict takes a DataFrame as it is)."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.inplace_predict(df)


@env(infer_pip_packages=True)
@artifacts([XgboostModelArtifact("model", compile="onnx")])
class CompiledXgbIris(BentoService):
    """Iris species from an XGBClassifier compiled to ONNX at pack time, served by ONNX Runtime."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)
