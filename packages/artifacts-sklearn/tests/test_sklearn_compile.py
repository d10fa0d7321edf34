"""SklearnModelArtifact(compile="onnx"): converted and verified at pack, served by ONNX Runtime from the
.onnx file alone; disagreement and unsupported estimators refused on one line."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import bento
from bento.bundle.layout import ORIGIN_FILE
from bento.exceptions import InvalidArgument
from bento_artifacts_onnx import CompilationError
from bento_artifacts_sklearn import SklearnModelArtifact

MODELS = ["svc", "rf", "pipeline"]


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True, as_frame=True)


@pytest.fixture(scope="module")
def models(iris):
    """The iris SVC and RandomForest of the benchmarks (fitted on arrays), and a Pipeline fitted on a DataFrame."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = iris
    return {
        "svc": SVC(gamma="scale").fit(X.to_numpy(), y),
        "rf": RandomForestClassifier(n_estimators=20, random_state=0).fit(X.to_numpy(), y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y),
    }


def _sample(kind, X):
    return X if kind == "pipeline" else X.to_numpy()


def _compiled(models, iris, kind, **options) -> SklearnModelArtifact:
    return SklearnModelArtifact("model", compile="onnx", **options).pack(models[kind], sample_input=_sample(kind, iris[0]))


@pytest.mark.parametrize("kind", MODELS)
def test_round_trip_serves_the_onnx_file_alone(kind, models, iris, tmp_path):
    X, _ = iris
    packed = _compiled(models, iris, kind)
    packed.save(str(tmp_path))
    assert os.listdir(tmp_path) == ["model.onnx"]
    loaded = SklearnModelArtifact("model", **packed.options).load(str(tmp_path)).get()
    sample = _sample(kind, X)
    assert loaded.predict(sample).tolist() == models[kind].predict(sample).tolist()
    if kind != "svc":  # SVC(probability=False) has no predict_proba
        np.testing.assert_allclose(loaded.predict_proba(sample), models[kind].predict_proba(sample), atol=1e-5)


def test_packed_artifact_already_answers_through_onnx(models, iris):
    packed = _compiled(models, iris, "rf")
    assert (packed.format, packed.PICKLE_BASED) == ("onnx", False)
    assert type(packed.get()).__name__ == "OnnxModel"
    assert packed.pip_requirements == ("bento-artifacts-onnx", "onnxruntime")


def test_loading_a_compiled_model_imports_no_scikit_learn(models, iris, tmp_path):
    packed = _compiled(models, iris, "pipeline")
    packed.save(str(tmp_path))
    code = ("import sys; from bento_artifacts_sklearn import SklearnModelArtifact; "
            f"m = SklearnModelArtifact('model', **{packed.options!r}).load({str(tmp_path)!r}).get(); "
            "print(m.predict([[5.1, 3.5, 1.4, 0.2]]).tolist(), [n for n in ('sklearn', 'skl2onnx', 'onnx') "
            "if n in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("] ")[1].strip() == "[]" and out.stdout.startswith("[0]")


def test_kept_original_is_saved_and_never_loaded(models, iris, tmp_path):
    packed = _compiled(models, iris, "rf", keep_original=True)
    assert packed.options == {"format": "pickle", "compile": "onnx", "keep_original": True}
    packed.save(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "model.pkl"]
    (tmp_path / "model.pkl").write_bytes(b"not a pickle")
    loaded = SklearnModelArtifact("model", **packed.options).load(str(tmp_path)).get()
    assert loaded.predict(iris[0].to_numpy()[:2]).tolist() == [0, 0]


def test_dataframe_columns_are_matched_by_name(models, iris):
    X, _ = iris
    compiled = _compiled(models, iris, "pipeline").get()
    assert compiled.predict(X[X.columns[::-1]]).tolist() == models["pipeline"].predict(X).tolist()
    from bento.exceptions import BadInput

    with pytest.raises(BadInput, match=r"compiled from columns .*; missing: petal width \(cm\)"):
        compiled.predict(X.drop(columns="petal width (cm)").assign(other=1.0))


def test_bundle_records_what_was_verified_and_lists_onnxruntime_not_scikit_learn(models, iris, tmp_path):
    from importlib_metadata import version

    from iris_services import CompiledIris

    X, _ = iris
    svc = CompiledIris().pack("model", models["svc"], metadata={"accuracy": 0.97}, sample_input=X.to_numpy())
    assert svc.predict(X.to_numpy()[:3]).tolist() == [0, 0, 0]
    path = svc.save_to_dir(str(tmp_path / "bundle"))
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    assert (info["type"], info["format"], info["pickle_based"]) == ("SklearnModelArtifact", "onnx", False)
    assert info["options"] == {"format": "pickle", "compile": "onnx"}
    compiled = info["metadata"]["onnx"]["compiled"]
    assert compiled["from"] == "sklearn.svm._classes.SVC"
    assert (compiled["compiler"], compiled["compiler_version"]) == ("skl2onnx", version("skl2onnx"))
    assert compiled["opset"] == 17 and compiled["verified_rows"] == 150 and compiled["compared"] == ["labels"]
    assert 0 <= compiled["max_deviation"] <= compiled["tolerance"] == 1e-5
    assert info["metadata"]["accuracy"] == 0.97
    requirements = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"onnxruntime=={version('onnxruntime')}" in requirements
    assert "bento-artifacts-onnx==0.1.0" in requirements
    assert not [r for r in requirements if r.startswith(("scikit-learn", "skl2onnx", "onnx=", "skops"))]
    os.remove(os.path.join(path, "CompiledIris", "artifacts", "model.onnx"))  # only the .onnx file is read:
    with pytest.raises(bento.exceptions.BundleError, match="model.onnx"):  # without it, nothing loads
        bento.load(path)


def test_compiled_bundle_from_a_registry_loads_without_pickle_trust(models, iris, tmp_path):
    from iris_services import CompiledIris

    X, _ = iris
    path = CompiledIris().pack("model", models["rf"], sample_input=X.to_numpy()).save_to_dir(str(tmp_path / "b"))
    open(os.path.join(path, ORIGIN_FILE), "w").close()
    assert bento.load(path, trust_pickle=False).proba(X.to_numpy()[:1]).shape == (1, 3)


def test_uncompiled_bundle_pins_scikit_learn(models, iris, tmp_path):
    from importlib_metadata import version

    from iris_services import PickledIris

    path = PickledIris().pack("model", models["svc"]).save_to_dir(str(tmp_path / "bundle"))
    requirements = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"scikit-learn=={version('scikit-learn')}" in requirements
    assert not [r for r in requirements if r.startswith("onnxruntime")]


def test_unsupported_estimator_names_it_and_the_converters_reason(iris):
    from importlib_metadata import version
    from sklearn.semi_supervised import LabelPropagation

    X, y = iris
    with pytest.raises(CompilationError) as err:
        SklearnModelArtifact("model", compile="onnx").pack(LabelPropagation().fit(X, y), sample_input=X)
    assert str(err.value) == (
        f"SklearnModelArtifact 'model': skl2onnx {version('skl2onnx')} cannot convert "
        "sklearn.semi_supervised._label_propagation.LabelPropagation: Unable to find a shape calculator for type "
        "'<class 'sklearn.semi_supervised._label_propagation.LabelPropagation'>'.")


def test_a_label_changed_by_float32_is_refused_naming_the_row():
    """x = 1e8 + 0..7: float64 separates the rows, float32 (spacing 8 there) makes them one value."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = (1e8 + np.arange(8.0)).reshape(-1, 1)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, [0, 0, 0, 0, 1, 1, 1, 1])
    assert model.predict(X).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    with pytest.raises(CompilationError) as err:
        SklearnModelArtifact("model", compile="onnx").pack(model, sample_input=X)
    assert str(err.value).startswith("SklearnModelArtifact 'model': the compiled model disagrees with the "
                                     "original on sample row 4: label 0, original 1 (")
    assert "\n" not in str(err.value)


def test_probabilities_beyond_the_tolerance_are_refused_naming_the_row(models, iris):
    with pytest.raises(CompilationError, match=r"on sample row \d+: probabilities deviate by [0-9.e-]+ "
                                               r"\(tolerance 1e-12\)"):
        _compiled(models, iris, "pipeline", tolerance=1e-12)


@pytest.mark.parametrize("options, sample, message", [
    ({"compile": "onnx"}, None, r"compile='onnx' needs pack\(model, sample_input=X\)"),
    ({}, [[1.0, 2.0, 3.0, 4.0]], "sample_input is used only with compile='onnx'"),
    ({"compile": "onnx"}, [1.0, 2.0, 3.0, 4.0], r"non-empty 2-D array or DataFrame \(rows x features\), got shape \[4\]"),
    ({"compile": "onnx"}, [["a", "b", "c", "d"]], "sample_input must be numeric"),
])
def test_bad_pack_arguments_are_one_line_errors(options, sample, message, models):
    with pytest.raises(InvalidArgument, match=message):
        SklearnModelArtifact("model", **options).pack(models["svc"], sample_input=sample)


@pytest.mark.parametrize("options, message", [
    ({"compile": "tvm"}, "compile='tvm' is not one of onnx"),
    ({"compile": "onnx", "tolerance": -1}, "tolerance must be a finite number >= 0, got -1"),
    ({"compile": "onnx", "keep_original": "yes"}, "keep_original must be True or False"),
    ({"tolerance": 1e-3}, "tolerance and keep_original apply only with compile='onnx'"),
])
def test_bad_compile_options_are_refused_at_declaration(options, message):
    with pytest.raises(InvalidArgument, match=message):
        SklearnModelArtifact("model", **options)


_COMPILED: dict = {}


@pytest.mark.parametrize("kind", ["rf", "pipeline"])
@settings(max_examples=30, deadline=None)
@given(rows=arrays(np.float32, st.tuples(st.integers(1, 64), st.just(4)), elements=st.floats(0, 8, width=32)))
def test_compiled_model_answers_as_the_original_on_generated_rows(kind, rows, models, iris):
    """N rows in, N answers out; probabilities within the tolerance, labels equal wherever the two most
    likely classes are not a near tie (float32 may break a tie the other way)."""
    if kind not in _COMPILED:
        _COMPILED[kind] = _compiled(models, iris, kind).get()
    compiled, model = _COMPILED[kind], models[kind]
    frame = iris[0].iloc[:0].reindex(range(len(rows)))  # the pipeline was fitted on named columns
    frame[:] = rows
    original = frame if kind == "pipeline" else rows.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the original must see the rows the way it was fitted
        want, want_proba = model.predict(original), model.predict_proba(original)
    got, got_proba = compiled.predict(original), compiled.predict_proba(original)
    assert got.shape == (len(rows),) and got_proba.shape == (len(rows), 3)
    np.testing.assert_allclose(got_proba, want_proba, atol=1e-5)
    top2 = np.sort(want_proba, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    assert (got[clear] == want[clear]).all()
