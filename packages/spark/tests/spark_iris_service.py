"""The service the bento-spark tests save as a bundle: one API per adapter and behaviour tested."""
from __future__ import annotations

import os

import pandas as pd
from bento import BentoService, api, artifacts, env
from bento_adapters import DataframeInput, FileInput, JsonInput, StringInput
from bento_artifacts_sklearn import SklearnModelArtifact

FEATURES = ["sl", "sw", "pl", "pw"]
SPECIES = ["setosa", "versicolor", "virginica"]
LOADS = []  # one entry per instance created in this process: the bundle is loaded once per process


@env(pip_packages=["scikit-learn", "pandas"])
@artifacts([SklearnModelArtifact("model")])
class SparkIris(BentoService):
    """Iris species from sepal and petal sizes, behind one API per input adapter."""

    def __init__(self) -> None:
        super().__init__()
        LOADS.append(os.getpid())

    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)

    @api(input=DataframeInput(columns=FEATURES, dtype="float64"), batch=True)
    def predict_declared(self, df):
        return self.artifacts.model.predict(df)

    @api(input=DataframeInput(), batch=True)
    def proba(self, df):
        return pd.DataFrame(self.artifacts.model.predict_proba(df), columns=SPECIES)

    @api(input=DataframeInput(), batch=True)
    def picky(self, df):
        """Refuses a whole batch when any flower has a sepal longer than 7.5 cm."""
        if (df["sl"] > 7.5).any():
            raise ValueError("sepal longer than 7.5 cm")
        return self.artifacts.model.predict(df)

    @api(input=DataframeInput(), batch=True)
    def whoami(self, df):
        return [f"{os.getpid()}:{len(LOADS)}"] * len(df)

    @api(input=JsonInput(), batch=True)
    def species(self, flowers):
        frame = pd.DataFrame([f if isinstance(f, dict) else dict(zip(FEATURES, f)) for f in flowers])[FEATURES]
        return [SPECIES[i] for i in self.artifacts.model.predict(frame)]

    @api(input=StringInput(), batch=True)
    def shout(self, texts):
        if "boom" in texts:
            raise RuntimeError("boom is not a word")
        return [t.upper() for t in texts]

    @api(input=FileInput())
    def size(self, file):
        return len(file.bytes)


@artifacts([SklearnModelArtifact("model", compile="onnx")])
class SparkIrisOnnx(SparkIris):
    """The same APIs over the model compiled to ONNX at pack time (served by ONNX Runtime)."""
