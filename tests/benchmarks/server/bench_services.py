"""The benchmark's services: the same two APIs as the BentoML 0.13 peer (peers/bento013_service.py),
and an echo without a model, which measures what bento adds over its HTTP engine's own echo."""
import numpy as np
from bento import BentoService, api, artifacts, env
from bento_adapters import DataframeInput, JsonInput
from bento_artifacts_sklearn import SklearnModelArtifact


@env(pip_packages=["scikit-learn", "pandas"])
@artifacts([SklearnModelArtifact("model")])
class IrisSVC(BentoService):
    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)

    @api(input=JsonInput(), batch=False)
    def predict_single(self, parsed_json):
        return self.artifacts.model.predict(np.asarray(parsed_json)).tolist()

    @api(input=JsonInput(), batch=True)
    def predict_json_batch(self, bodies):
        """predict_single's bodies and model call, micro-batched: beside predict_single it
        shows what the batcher itself adds (predict also pays sklearn's DataFrame checks)."""
        labels = self.artifacts.model.predict(np.asarray([row for body in bodies for row in body])).tolist()
        ends = np.cumsum([len(body) for body in bodies]).tolist()
        return [labels[end - len(body):end] for body, end in zip(bodies, ends)]


class IrisRF(IrisSVC):
    """The same APIs over the RandomForest."""


@env(pip_packages=["pandas"])
@artifacts([SklearnModelArtifact("model", compile="onnx")])
class IrisSVCOnnx(IrisSVC):
    """The same APIs over the SVC compiled to ONNX at pack time: served by ONNX Runtime, no scikit-learn."""


class IrisRFOnnx(IrisSVCOnnx):
    """The same APIs over the RandomForest compiled to ONNX."""


class Echo(BentoService):
    """No model: the request's JSON back, as the engines' ceilings (falcon_ceiling.py) do, so the
    difference in CPU per request is bento's own cost (adapters, pipeline, batcher, guard)."""

    @api(input=JsonInput(), batch=False)
    def echo(self, parsed_json):
        return parsed_json

    @api(input=JsonInput(), batch=True)
    def echo_batch(self, bodies):
        return bodies
