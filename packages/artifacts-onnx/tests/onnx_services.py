"""Services the tests save as bundles (a bundle re-imports its service class by module name)."""
from __future__ import annotations

from bento_adapters import DataframeInput

from bento import BentoService, api, artifacts, env
from bento_artifacts_onnx import OnnxModelArtifact


@env(infer_pip_packages=True)
@artifacts([OnnxModelArtifact("model")])
class OnnxIris(BentoService):
    """Iris species from an ONNX model."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)

