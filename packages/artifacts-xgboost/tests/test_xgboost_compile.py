"""XgboostModelArtifact(compile="onnx"): onnxmltools at pack, verified on the sample, served by ONNX
Runtime from the .onnx file alone without importing xgboost or scikit-learn."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bento.exceptions import InvalidArgument
from bento_artifacts_xgboost import XgboostModelArtifact


def _compiled(model, sample, **options) -> XgboostModelArtifact:
    return XgboostModelArtifact("model", compile="onnx", **options).pack(model, sample_input=sample)


@pytest.mark.parametrize("kind", ["XGBClassifier", "XGBRegressor"])
def test_round_trip_serves_the_onnx_file_alone(kind, models, iris, tmp_path):
    X, _ = iris
    packed = _compiled(models[kind], X)
    assert packed.options == {"compile": "onnx", "kind": kind} and packed.format == "onnx"
    packed.save(str(tmp_path))
    assert os.listdir(tmp_path) == ["model.onnx"]
    loaded = XgboostModelArtifact("model", **packed.options).load(str(tmp_path)).get()
    np.testing.assert_allclose(loaded.predict(X), models[kind].predict(X), atol=1e-5)
    if kind == "XGBClassifier":
        assert loaded.predict(X).tolist() == models[kind].predict(X).tolist()
        np.testing.assert_allclose(loaded.predict_proba(X), models[kind].predict_proba(X), atol=1e-5)


def test_a_model_fitted_on_a_dataframe_compiles_and_matches_columns_by_name(iris):
    import xgboost as xgb

    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(frame, y)
    compiled = _compiled(model, frame).get()
    assert compiled.predict(frame[["pw", "pl", "sw", "sl"]]).tolist() == model.predict(frame).tolist()


@pytest.mark.parametrize("nthread", [None, 2])
def test_nthread_becomes_onnx_runtimes_intra_op_threads(nthread, models, iris, tmp_path):
    packed = _compiled(models["XGBClassifier"], iris[0], nthread=nthread)
    packed.save(str(tmp_path))
    session = XgboostModelArtifact("model", **packed.options).load(str(tmp_path)).get().session
    assert session.get_session_options().intra_op_num_threads == (nthread or 1)


def test_kept_original_is_saved_and_never_loaded(models, iris, tmp_path):
    packed = _compiled(models["XGBClassifier"], iris[0], keep_original=True)
    packed.save(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "model.ubj", "model.ubj.sha256"]
    (tmp_path / "model.ubj").write_bytes(b"garbage")
    loaded = XgboostModelArtifact("model", **packed.options).load(str(tmp_path)).get()
    assert loaded.predict(iris[0][:1]).tolist() == [0]


def test_a_booster_cannot_be_compiled(models, iris):
    with pytest.raises(InvalidArgument, match="compile='onnx' takes XGBClassifier, XGBRegressor, .*got Booster"):
        _compiled(models["Booster"], iris[0])


def test_sample_input_without_compile_is_refused(models, iris):
    with pytest.raises(InvalidArgument, match="sample_input is used only with compile='onnx'"):
        XgboostModelArtifact("model").pack(models["XGBClassifier"], sample_input=iris[0])


def test_bundle_lists_onnxruntime_and_loads_without_xgboost_or_sklearn(models, iris, tmp_path):
    from importlib_metadata import version
    from xgb_services import CompiledXgbIris

    X, _ = iris
    path = CompiledXgbIris().pack("model", models["XGBClassifier"], sample_input=X).save_to_dir(str(tmp_path / "b"))
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    compiled = info["metadata"]["onnx"]["compiled"]
    assert (compiled["compiler"], compiled["compiler_version"], compiled["opset"]) == (
        "onnxmltools", version("onnxmltools"), 15)
    assert compiled["compared"] == ["labels", "probabilities"] and compiled["max_deviation"] <= 1e-5
    requirements = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"onnxruntime=={version('onnxruntime')}" in requirements
    assert not [r for r in requirements if r.startswith(("scikit-learn", "onnxmltools"))]
    code = ("import sys, bento; svc = bento.load(sys.argv[1]); print(svc.predict([[5.1, 3.5, 1.4, 0.2]]).tolist(), "
            "[m for m in ('xgboost', 'sklearn', 'onnxmltools') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0] []"


_COMPILED: dict = {}


@settings(max_examples=30, deadline=None)
@given(rows=arrays(np.float32, st.tuples(st.integers(1, 64), st.just(4)), elements=st.floats(0, 8, width=32)))
def test_compiled_classifier_answers_as_the_original_on_generated_rows(rows, models, iris):
    model = models["XGBClassifier"]
    if "clf" not in _COMPILED:
        _COMPILED["clf"] = _compiled(model, iris[0]).get()
    got_proba = _COMPILED["clf"].predict_proba(rows)
    assert _COMPILED["clf"].predict(rows).shape == (len(rows),) and got_proba.shape == (len(rows), 3)
    np.testing.assert_allclose(got_proba, model.predict_proba(rows), atol=1e-5)
