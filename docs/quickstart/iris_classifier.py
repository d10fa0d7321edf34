"""The quickstart service: an iris classifier behind one batch API."""
from bento import BentoService, api, artifacts, env
from bento_adapters import DataframeInput
from bento_artifacts_sklearn import SklearnModelArtifact


@env(infer_pip_packages=True)
@artifacts([SklearnModelArtifact("model")])
class IrisClassifier(BentoService):
    """Classifies iris flowers from sepal length/width and petal length/width (cm)."""

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        """Species index (0 setosa, 1 versicolor, 2 virginica) for each row."""
        # The model was fitted on a plain array: pass one, so sklearn does not warn (once per
        # batch) that the DataFrame's column names were not seen in training.
        return self.artifacts.model.predict(df.to_numpy())
