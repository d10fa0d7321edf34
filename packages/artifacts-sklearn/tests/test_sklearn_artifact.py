"""SklearnModelArtifact: pack, save and load an iris model with pickle and with skops."""
from __future__ import annotations

import json
import operator
import os
import subprocess
import sys

import numpy as np
import pytest
import bento
from bento import BentoService, api, artifacts
from bento.bundle.layout import ORIGIN_FILE
from bento.exceptions import BundleError, InvalidArgument, UntrustedArtifact
from bento.plugins import Kind, get_plugin_manager
from importlib_metadata import entry_points
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from bento_adapters import DataframeInput
from bento_artifacts_sklearn import SklearnModelArtifact
from bento_artifacts_sklearn import plugin


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, LogisticRegression(max_iter=300).fit(X, y)


def round_trip(artifact: SklearnModelArtifact, model, directory) -> SklearnModelArtifact:
    artifact.pack(model)
    artifact.save(str(directory))
    return SklearnModelArtifact(artifact.name, format=artifact.format).load(str(directory))


def test_pickle_round_trip(iris, tmp_path):
    X, model = iris
    artifact = SklearnModelArtifact("model")
    assert artifact.format == "pickle" and artifact.PICKLE_BASED
    loaded = round_trip(artifact, model, tmp_path)
    assert os.listdir(tmp_path) == ["model.pkl"]
    with open(tmp_path / "model.pkl", "rb") as f:
        assert f.read(2) == b"\x80\x05"  # pickle protocol 5
    np.testing.assert_array_equal(loaded.get().predict(X), model.predict(X))


def test_skops_round_trip_without_pickle(iris, tmp_path):
    X, model = iris
    artifact = SklearnModelArtifact("clf", format="skops")
    assert artifact.format == "skops" and not artifact.PICKLE_BASED
    loaded = round_trip(artifact, model, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["clf.skops", "clf.skops-types.json"]
    np.testing.assert_array_equal(loaded.get().predict(X), model.predict(X))
    assert artifact.fresh_copy().format == "skops"


def test_skops_trusts_exactly_the_types_recorded_at_save(iris, tmp_path):
    X, _ = iris
    model = make_pipeline(FunctionTransformer(operator.abs), LogisticRegression(max_iter=300)).fit(X, iris[1].predict(X))
    loaded = round_trip(SklearnModelArtifact("pipe", format="skops"), model, tmp_path)
    assert json.loads((tmp_path / "pipe.skops-types.json").read_text()) == ["_operator.abs"]
    np.testing.assert_array_equal(loaded.get().predict(X), model.predict(X))
    (tmp_path / "pipe.skops-types.json").write_text("[]")
    with pytest.raises(BundleError, match="holds types not recorded when it was saved: _operator.abs"):
        SklearnModelArtifact("pipe", format="skops").load(str(tmp_path))
    os.remove(tmp_path / "pipe.skops-types.json")
    with pytest.raises(BundleError, match="pipe.skops-types.json is missing"):
        SklearnModelArtifact("pipe", format="skops").load(str(tmp_path))


@pytest.mark.parametrize("value, shown", [({"a": 1}, "builtins.dict"), (np.zeros(3), "numpy.ndarray")])
def test_packing_something_else_names_the_expected_type(value, shown):
    with pytest.raises(InvalidArgument, match=rf"needs a scikit-learn estimator .*got {shown}"):
        SklearnModelArtifact("model").pack(value)


def test_unknown_format_is_refused():
    with pytest.raises(InvalidArgument, match="format 'joblib' is not one of pickle, skops"):
        SklearnModelArtifact("model", format="joblib")


@artifacts([SklearnModelArtifact("model", format="skops")])
class IrisClassifier(BentoService):
    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)


def test_service_packs_and_predicts_through_dataframe_input(iris):
    X, model = iris
    svc = IrisClassifier().pack("model", model, metadata={"accuracy": 0.97})
    assert svc.predict(X.head(3)).tolist() == model.predict(X.head(3)).tolist()
    assert svc.predict(X.head(2).to_dict("records")).tolist() == model.predict(X.head(2)).tolist()


def test_plugin_registers_the_artifact_and_does_not_import_sklearn():
    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "sklearn"]
    assert ep.load() is plugin and ep.dist.name == "bento-artifacts-sklearn"
    assert get_plugin_manager().registry.get(Kind.ARTIFACT, "SklearnModelArtifact") is SklearnModelArtifact
    code = ("import sys, bento_artifacts_sklearn.plugin; from bento_artifacts_sklearn import SklearnModelArtifact; "
            "SklearnModelArtifact('m'); print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"



def test_bundle_round_trip_keeps_format_and_predictions(iris, tmp_path):
    X, model = iris
    svc = IrisClassifier().pack("model", model)
    path = svc.save_to_dir(str(tmp_path / "bundle"))
    assert "model.skops" in os.listdir(os.path.join(path, "IrisClassifier", "artifacts"))
    loaded = bento.load(path)
    assert loaded.artifacts["model"].format == "skops"
    assert loaded.predict(X.tail(4)).tolist() == model.predict(X.tail(4)).tolist()


def registry_copy(svc: BentoService, directory) -> str:
    """A saved bundle marked as pulled from a registry (what `bento pull` leaves behind)."""
    path = svc.save_to_dir(str(directory))
    with open(os.path.join(path, ORIGIN_FILE), "w") as f:
        f.write("test-registry\n")
    return path


def test_skops_bundle_from_a_registry_loads_without_pickle_trust(iris, tmp_path):
    X, model = iris
    path = registry_copy(IrisClassifier().pack("model", model), tmp_path / "bundle")
    assert bento.load(path, trust_pickle=False).predict(X.head(1)).tolist() == model.predict(X.head(1)).tolist()


@artifacts([SklearnModelArtifact("model")])
class PickledIris(BentoService):
    @api(input=DataframeInput(), batch=True)
    def predict(self, df):
        return self.artifacts.model.predict(df)


def test_pickle_bundle_from_a_registry_needs_trust(iris, tmp_path):
    path = registry_copy(PickledIris().pack("model", iris[1]), tmp_path / "bundle")
    with pytest.raises(UntrustedArtifact, match="artifact\\(s\\) model use pickle"):
        bento.load(path, trust_pickle=False)
    assert bento.load(path, trust_pickle=True).artifacts["model"].format == "pickle"
