"""TensorflowSavedModelArtifact and KerasModelArtifact: round trips, bundles, shape checks, bad input, HTTP."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import bento
from bento.adapters import HTTPRequest
from bento.bundle.manifest import write_manifest
from bento.bundle.layout import ORIGIN_FILE
from bento.exceptions import APIError, BundleError, InvalidArgument
from bento_adapters.testing import post_json
from bento_artifacts_tensorflow import KerasModelArtifact, ServedModel, TensorflowSavedModelArtifact

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def _save(service: str, model, tmp_path) -> str:
    import tf_services

    svc = getattr(tf_services, service)()
    svc.pack("model", model, metadata={"framework": "tensorflow"})
    return svc.save_to_dir(str(tmp_path / service))


def _infer(svc, *bodies):
    """What the server does with concurrent requests: one task per body, one micro-batch."""
    api = svc.get_inference_api("predict")
    tasks = [api.input_adapter.from_http_request(HTTPRequest(headers={"content-type": "application/json"},
                                                             body=json.dumps(b).encode())) for b in bodies]
    results = api.infer(tasks)
    out = []
    for r in results:
        if hasattr(r, "err_msg"):
            out.append((r.http_status, r.err_msg))
        else:
            out.append((r.http_status, json.loads(api.output_adapter.to_http_body(r)[0])))
    return out


# ---------------------------------------------------------------- Keras


def test_keras_round_trip_in_keras_format(keras_model, tmp_path):
    packed = KerasModelArtifact("model").pack(keras_model)
    packed.save(str(tmp_path))
    assert os.listdir(tmp_path) == ["model.keras"] and packed.format == "keras" and not packed.PICKLE_BASED
    loaded = KerasModelArtifact("model").load(str(tmp_path)).get()
    assert isinstance(loaded, ServedModel) and isinstance(loaded, keras.Model)
    assert isinstance(loaded.__wrapped__, keras.Sequential)
    np.testing.assert_allclose(loaded.predict(np.array(ROWS), verbose=0), keras_model.predict(np.array(ROWS), verbose=0),
                               rtol=1e-5)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in keras_model.layers]


def test_keras_calls_match_the_eager_model_for_any_batch_size_and_are_all_checked(keras_model):
    served = KerasModelArtifact("model").pack(keras_model).get()
    for rows in (1, 5, 64):
        x = np.random.default_rng(rows).random((rows, 4), dtype=np.float32)
        np.testing.assert_allclose(served(x), keras_model(x), rtol=1e-5)  # traced once, any batch size
        np.testing.assert_allclose(served(tf.constant(x), training=False), keras_model(x), rtol=1e-5)  # eager path
    assert served(np.ones((2, 4), np.int64)).dtype == tf.float32  # integers are cast to the model's dtype
    for call in (served, served.predict, served.predict_on_batch):
        with pytest.raises(bento.exceptions.BadInput, match=r"\(2, 5\) does not fit the model, which takes \(None, 4\)"):
            call(np.ones((2, 5), np.float32))


def test_keras_bundle_serves_json_lists_through_the_default_output(keras_model, tmp_path):
    path = _save("KerasIris", keras_model, tmp_path)
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    (info,) = meta["artifacts"]
    assert (info["type"], info["format"], info["pickle_based"]) == ("KerasModelArtifact", "keras", False)
    assert meta["apis"][0]["input"]["type"] == "TfTensorInput"
    open(os.path.join(path, ORIGIN_FILE), "w").close()  # as if pulled from a registry: no pickle, no trust needed
    svc = bento.load(path)
    ((status, body),) = _infer(svc, {"instances": ROWS})
    assert status == 200
    np.testing.assert_allclose(body, keras_model.predict(np.array(ROWS), verbose=0), rtol=1e-5)


def test_keras_shape_mismatch_is_a_400_that_names_the_shapes(keras_model, tmp_path):
    svc = bento.load(_save("KerasIris", keras_model, tmp_path))
    ((status, message),) = _infer(svc, {"instances": [[1.0, 2.0, 3.0]]})
    assert status == 400
    assert "input of shape (1, 3) does not fit the model, which takes (None, 4)" in message
    with pytest.raises(APIError, match=r"does not fit the model, which takes \(None, 4\)"):
        svc.predict(np.ones((2, 3), np.float32))


def test_one_bad_request_does_not_fail_its_micro_batch(keras_model, tmp_path):
    svc = bento.load(_save("KerasIris", keras_model, tmp_path))
    results = _infer(svc, {"instances": ROWS[:1]}, {"instances": [[1.0, 2.0, 3.0]]}, {"instances": ROWS},
                     {"instances": [[[1.0, 2.0, 3.0, 4.0]]]})
    assert [status for status, _ in results] == [200, 400, 200, 400]
    expected = keras_model.predict(np.array(ROWS), verbose=0)
    np.testing.assert_allclose(results[0][1], expected[:1], rtol=1e-5)
    np.testing.assert_allclose(results[2][1], expected, rtol=1e-5)
    assert "(1, 1, 4) does not fit" in results[3][1]


def test_corrupted_keras_file_is_a_bundle_error(keras_model, tmp_path):
    path = _save("KerasIris", keras_model, tmp_path)
    model_file = os.path.join(path, "KerasIris", "artifacts", "model.keras")
    with open(model_file, "r+b") as f:
        f.truncate(100)
    write_manifest(path)  # written broken, not tampered with afterwards
    with pytest.raises(BundleError, match=r"artifact 'model' \(KerasModelArtifact\) failed to load: .*"
                                          r"is not a \.keras archive \(corrupted or truncated\?\)"):
        bento.load(path)


@pytest.mark.parametrize("model", [object(), "model.keras", np.ones(3)])
def test_keras_artifact_rejects_what_is_not_a_keras_model(model):
    with pytest.raises(InvalidArgument, match=rf"takes a keras.Model .*, got {type(model).__name__}"):
        KerasModelArtifact("model").pack(model)


def test_keras_artifact_rejects_a_tf_module(tf_modules):
    with pytest.raises(InvalidArgument, match="got Linear"):
        KerasModelArtifact("model").pack(tf_modules["linear"])


# ---------------------------------------------------------------- SavedModel


def test_saved_model_from_a_tf_module(tf_modules, tmp_path):
    path = _save("SavedModelService", tf_modules["linear"], tmp_path)
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    assert (info["format"], info["pickle_based"]) == ("tf-savedmodel", False)
    assert os.path.isfile(os.path.join(path, "SavedModelService", "artifacts", "model", "saved_model.pb"))
    svc = bento.load(path)
    # JSON integers reach the float32 signature (cast), as do floats; 1*1 + 2*2 + 3*3 + 4*4 = 30
    assert _infer(svc, {"instances": [[1, 2, 3, 4]]}, {"inputs": [[0.5, 0, 0, 0]]}) == [(200, [[30.0]]), (200, [[0.5]])]
    ((status, message),) = _infer(svc, {"instances": [[1, 2, 3]]})
    assert status == 400 and "does not fit the model, which takes (None, 4)" in message


def test_saved_model_get_before_saving_is_the_checked_module(tf_modules):
    served = TensorflowSavedModelArtifact("model").pack(tf_modules["linear"]).get()
    assert served.__wrapped__ is tf_modules["linear"] and isinstance(served, tf.Module)
    assert served(tf.constant([[1, 1, 1, 1]])).numpy().tolist() == [[10.0]]
    with pytest.raises(bento.exceptions.BadInput, match=r"\(1, 2\) does not fit"):
        served(tf.constant([[1.0, 1.0]]))


def test_saved_model_b64_strings_end_to_end(tf_modules, tmp_path):
    svc = bento.load(_save("SavedModelService", tf_modules["strlen"], tmp_path))
    body = {"instances": [{"b64": base64.b64encode(b"\x00\x01\x02").decode()}, "four"]}
    assert _infer(svc, body) == [(200, [3, 4])]


def test_saved_model_from_a_keras_export_directory(keras_model, tmp_path):
    exported = tmp_path / "exported"
    keras_model.export(str(exported), verbose=False)
    path = _save("ExportedKeras", str(exported), tmp_path)
    shutil.rmtree(exported)  # the bundle holds its own copy
    ((status, body),) = _infer(bento.load(path), {"instances": ROWS})
    assert status == 200
    np.testing.assert_allclose(body, keras_model.predict(np.array(ROWS), verbose=0), rtol=1e-5)


def test_saved_model_directory_without_variables_is_refused(tf_modules, tmp_path):
    tf.saved_model.save(tf_modules["linear"], str(tmp_path / "sm"))
    shutil.rmtree(tmp_path / "sm" / "variables")
    with pytest.raises(InvalidArgument, match="incomplete SavedModel: variables/variables.index is missing"):
        TensorflowSavedModelArtifact("model").pack(str(tmp_path / "sm"))


def test_bundle_whose_saved_model_lost_its_variables_is_a_bundle_error(tf_modules, tmp_path):
    path = _save("SavedModelService", tf_modules["linear"], tmp_path)
    shutil.rmtree(os.path.join(path, "SavedModelService", "artifacts", "model", "variables"))
    write_manifest(path)
    with pytest.raises(BundleError, match=r"\(TensorflowSavedModelArtifact\) failed to load: .*incomplete SavedModel"):
        bento.load(path)


@pytest.mark.parametrize("model, message", [
    (42, "takes a tf.Module .* or a SavedModel directory path, got int"),
    (np.ones(3), "got ndarray"),
    ("/no/such/saved_model", "SavedModel directory /no/such/saved_model does not exist"),
])
def test_saved_model_artifact_rejects_wrong_types(model, message):
    with pytest.raises(InvalidArgument, match=message):
        TensorflowSavedModelArtifact("model").pack(model)


def test_saved_model_artifact_points_keras_models_to_their_artifact(keras_model, tmp_path):
    with pytest.raises(InvalidArgument, match="use KerasModelArtifact, or pack the directory that model.export"):
        TensorflowSavedModelArtifact("model").pack(keras_model)
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(InvalidArgument, match="is not a SavedModel: no saved_model.pb"):
        TensorflowSavedModelArtifact("model").pack(str(tmp_path / "not_a_model"))


# ---------------------------------------------------------------- command line and HTTP


def test_bento_run_reads_a_tf_serving_body(keras_model, tmp_path):
    path = _save("KerasIris", keras_model, tmp_path)
    bento_cli = os.path.join(os.path.dirname(sys.executable), "bento")
    out = subprocess.run([bento_cli, "run", path, "predict", "--input", json.dumps({"instances": ROWS})],
                         capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr
    np.testing.assert_allclose(json.loads(out.stdout), keras_model.predict(np.array(ROWS), verbose=0), rtol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("service", ["KerasIris", "ExportedKeras"])
def test_served_over_http(service, keras_model, tmp_path):
    pytest.importorskip("bento_server", reason="bento-server not installed")
    model = keras_model
    if service == "ExportedKeras":
        model = str(tmp_path / "exported")
        keras_model.export(model, verbose=False)
    svc = bento.load(_save(service, model, tmp_path))
    handle = svc.start_dev_server(port=_free_port())
    try:
        url = f"{handle.url.rstrip('/')}/predict"
        status, body = post_json(url, {"instances": ROWS}, timeout=60)
        bad_status, bad_body = post_json(url, {"instances": [[1.0, 2.0, 3.0]]}, timeout=60)
    finally:
        svc.stop_dev_server()
    assert status == 200
    np.testing.assert_allclose(body, keras_model.predict(np.array(ROWS), verbose=0), rtol=1e-5)
    assert bad_status == 400 and "does not fit the model" in bad_body["error"]
