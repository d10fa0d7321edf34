"""Services the tests save as bundles (a bundle re-imports its service class by module name)."""
from __future__ import annotations

from bento import BentoService, api, artifacts
from bento_artifacts_tensorflow import KerasModelArtifact, TensorflowSavedModelArtifact, TfTensorInput, TfTensorOutput


@artifacts([KerasModelArtifact("model")])
class KerasIris(BentoService):
    """Iris class probabilities from a Keras model; the output is detected (DefaultOutput)."""

    @api(input=TfTensorInput(), batch=True)
    def predict(self, x):
        return self.artifacts.model(x)


@artifacts([TensorflowSavedModelArtifact("model")])
class SavedModelService(BentoService):
    """Calls the SavedModel's `__call__`, writes the tensor as a JSON list."""

    @api(input=TfTensorInput(), output=TfTensorOutput(), batch=True)
    def predict(self, x):
        return self.artifacts.model(x)


@artifacts([TensorflowSavedModelArtifact("model")])
class ExportedKeras(BentoService):
    """A Keras model exported with `model.export(dir)`: its endpoint is `serve`."""

    @api(input=TfTensorInput(), output=TfTensorOutput(), batch=True)
    def predict(self, x):
        return self.artifacts.model.serve(x)
