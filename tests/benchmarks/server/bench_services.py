"""The benchmark's services: the same two APIs as the BentoML 0.13 peer (peers/bento013_service.py)."""
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


class IrisRF(IrisSVC):
    """The same APIs over the RandomForest."""
