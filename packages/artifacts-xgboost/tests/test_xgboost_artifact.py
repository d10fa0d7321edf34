"""XgboostModelArtifact: round trips in XGBoost's own format, thread count, bad input, bundles, HTTP."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pandas as pd
import pytest
import yaml

import bento
from bento.exceptions import BundleError, InvalidArgument
from bento_artifacts_xgboost import DEFAULT_NTHREAD, XgboostModelArtifact

KINDS = ["Booster", "XGBClassifier", "XGBRegressor"]


def _predict(model, X):
    return model.inplace_predict(X) if type(model).__name__ == "Booster" else model.predict(X)


def _nthread(model) -> int:
    booster = model if type(model).__name__ == "Booster" else model.get_booster()
    return int(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])


def _round_trip(model, tmp_path, **options) -> XgboostModelArtifact:
    packed = XgboostModelArtifact("model", **options).pack(model)
    packed.save(str(tmp_path))
    return XgboostModelArtifact("model", **packed.options).load(str(tmp_path))


def test_entry_point_loads_by_name():
    from importlib_metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "xgboost"]
    assert ep.dist.name == "bento-artifacts-xgboost"
    plugin = ep.load()
    registered = []
    plugin.register_artifacts(register=registered.append)
    assert registered == [XgboostModelArtifact]
    assert bento.plugins.default_manager().registry.get(bento.plugins.Kind.ARTIFACT, "XgboostModelArtifact") is XgboostModelArtifact


def test_import_does_not_import_xgboost():
    code = "import sys, bento_artifacts_xgboost; print('xgboost' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_keeps_type_and_predictions(kind, models, iris, tmp_path):
    X, _ = iris
    model = models[kind]
    loaded = _round_trip(model, tmp_path).get()
    assert type(loaded) is type(model)
    np.testing.assert_allclose(_predict(loaded, X), _predict(model, X), rtol=1e-6)
    np.testing.assert_allclose(_predict(loaded, pd.DataFrame(X[:5])), _predict(model, X[:5]), rtol=1e-6)
    with open(tmp_path / "model.ubj", "rb") as f:
        assert f.read(1) == b"{"  # UBJSON, XGBoost's own format; nothing pickled
    assert sorted(os.listdir(tmp_path)) == ["model.ubj", "model.ubj.sha256"]


def test_classifier_keeps_its_sklearn_state(models, iris, tmp_path):
    X, _ = iris
    loaded = _round_trip(models["XGBClassifier"], tmp_path).get()
    assert list(loaded.classes_) == [0, 1, 2]
    np.testing.assert_allclose(loaded.predict_proba(X[:3]), models["XGBClassifier"].predict_proba(X[:3]), rtol=1e-6)


def test_pack_records_kind_and_format_not_pickle(models):
    artifact = XgboostModelArtifact("model").pack(models["XGBClassifier"])
    assert artifact.options == {"kind": "XGBClassifier"}
    assert artifact.format == "xgboost-ubj"
    assert artifact.PICKLE_BASED is False


@pytest.mark.parametrize("kind", ["Booster", "XGBClassifier"])
@pytest.mark.parametrize("nthread", [None, 2])
def test_loaded_model_uses_the_configured_thread_count(kind, nthread, models, tmp_path):
    loaded = _round_trip(models[kind], tmp_path, nthread=nthread).get()
    assert _nthread(loaded) == (nthread or DEFAULT_NTHREAD)


@pytest.mark.parametrize("nthread", [0, -1, 1.5, "2", True])
def test_bad_nthread_is_rejected(nthread):
    with pytest.raises(InvalidArgument, match="nthread must be a positive integer"):
        XgboostModelArtifact("model", nthread=nthread)


@pytest.mark.parametrize("model", [object(), [1, 2], "model.ubj"])
def test_packing_a_wrong_type_names_the_expected_types(model):
    with pytest.raises(InvalidArgument) as err:
        XgboostModelArtifact("model").pack(model)
    assert "xgboost.Booster" in str(err.value) and "XGBClassifier" in str(err.value)
    assert type(model).__name__ in str(err.value)


def test_packing_an_sklearn_model_of_another_library_is_rejected(iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    with pytest.raises(InvalidArgument, match="got LogisticRegression"):
        XgboostModelArtifact("model").pack(LogisticRegression(max_iter=200).fit(X, y))


def test_bundle_round_trip_records_kind_and_loads_without_trust(models, iris, tmp_path):
    from xgb_services import XgbIris

    from bento.bundle.layout import ORIGIN_FILE

    X, _ = iris
    svc = XgbIris()
    svc.pack("model", models["XGBClassifier"], metadata={"dataset": "iris"})
    path = svc.save_to_dir(str(tmp_path / "bundle"))
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    assert (info["type"], info["format"], info["pickle_based"]) == ("XgboostModelArtifact", "xgboost-ubj", False)
    assert info["options"] == {"kind": "XGBClassifier"}
    assert info["plugin"] == "bento-artifacts-xgboost"
    open(os.path.join(path, ORIGIN_FILE), "w").close()  # as if pulled from a registry: still loads
    loaded = bento.load(path)
    assert list(loaded.predict(pd.DataFrame(X[:3]))) == list(models["XGBClassifier"].predict(X[:3]))
    assert loaded.artifacts["model"].metadata["dataset"] == "iris"


def test_nthread_declared_on_the_service_reaches_the_loaded_bundle(models, tmp_path):
    from xgb_services import XgbIrisTwoThreads

    path = XgbIrisTwoThreads().pack("model", models["XGBClassifier"]).save_to_dir(str(tmp_path / "bundle"))
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    assert info["options"] == {"nthread": 2, "kind": "XGBClassifier"}
    assert _nthread(bento.load(path).artifacts.model) == 2


def test_corrupted_model_file_is_a_one_line_bundle_error(models, tmp_path):
    from xgb_services import XgbIris

    from bento.bundle.manifest import write_manifest

    path = XgbIris().pack("model", models["XGBClassifier"]).save_to_dir(str(tmp_path / "bundle"))
    model_file = os.path.join(path, "XgbIris", "artifacts", "model.ubj")
    with open(model_file, "r+b") as f:
        f.truncate(os.path.getsize(model_file) // 2)
    write_manifest(path)  # a bundle written broken, not tampered with afterwards
    with pytest.raises(BundleError) as err:
        bento.load(path)
    message = str(err.value)
    assert "artifact 'model' (XgboostModelArtifact) failed to load" in message
    assert "is not the XGBoost model that was saved (corrupted or truncated)" in message
    assert "\n" not in message


def test_unreadable_model_file_gives_xgboosts_reason_without_its_stack_trace(models, tmp_path):
    from bento.bundle.manifest import sha256_file

    XgboostModelArtifact("model").pack(models["Booster"]).save(str(tmp_path))
    model_file = tmp_path / "model.ubj"
    model_file.write_bytes(b"garbage" * 10)
    (tmp_path / "model.ubj.sha256").write_text(sha256_file(str(model_file)))
    with pytest.raises(BundleError) as err:
        XgboostModelArtifact("model", kind="Booster").load(str(tmp_path))
    message = str(err.value)
    assert "is not a readable XGBoost model: " in message and "Invalid model format" in message
    assert "\n" not in message and "[bt]" not in message and "c_api.cc" not in message


def test_missing_model_file_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="cannot be read"):
        XgboostModelArtifact("model", kind="Booster").load(str(tmp_path))


def test_bento_run_predicts_from_the_command_line(models, tmp_path):
    from xgb_services import XgbIris

    path = XgbIris().pack("model", models["XGBClassifier"]).save_to_dir(str(tmp_path / "bundle"))
    bento_cli = os.path.join(os.path.dirname(sys.executable), "bento")
    out = subprocess.run([bento_cli, "run", path, "predict", "--input", "[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [0, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("service, kind", [("XgbIris", "XGBClassifier"), ("XgbBoosterIris", "Booster")])
def test_served_over_http(service, kind, models, iris, tmp_path):
    pytest.importorskip("bento_server", reason="bento-server not installed")
    import xgb_services

    X, _ = iris
    path = getattr(xgb_services, service)().pack("model", models[kind]).save_to_dir(str(tmp_path / "bundle"))
    svc = bento.load(path)
    handle = svc.start_dev_server(port=_free_port())
    try:
        request = urllib.request.Request(f"{handle.url.rstrip('/')}/predict", data=json.dumps(X[:2].tolist()).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            body = json.loads(response.read())
    finally:
        svc.stop_dev_server()
    np.testing.assert_allclose(body, _predict(models[kind], X[:2]), rtol=1e-5)
