"""OnnxModelArtifact: pack a ModelProto, bytes or a path; the .onnx file alone in the bundle; thread
settings; predict's mapping of arrays and DataFrames onto the input; bad input as one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import bento
from bento.exceptions import BadInput, BundleError, InvalidArgument
from bento_adapters.testing import post_json
from bento_artifacts_onnx import DEFAULT_INTRA_OP_THREADS, OnnxModel, OnnxModelArtifact


def _round_trip(model, tmp_path, **options) -> OnnxModelArtifact:
    packed = OnnxModelArtifact("model", **options).pack(model)
    packed.save(str(tmp_path))
    return OnnxModelArtifact("model", **packed.options).load(str(tmp_path))


def test_entry_point_registers_the_artifact_and_import_is_cheap():
    from importlib_metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "onnx"]
    assert ep.dist.name == "bento-artifacts-onnx"
    registered = []
    ep.load().register_artifacts(register=registered.append)
    assert registered == [OnnxModelArtifact]
    registry = bento.plugins.default_manager().registry
    assert registry.get(bento.plugins.Kind.ARTIFACT, "OnnxModelArtifact") is OnnxModelArtifact
    code = ("import sys, bento_artifacts_onnx.plugin; "
            "print([m for m in ('onnxruntime', 'numpy', 'onnx') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("form", ["proto", "bytes", "path"])
def test_packs_a_proto_bytes_or_path_and_saves_one_onnx_file(form, classifier, iris, tmp_path):
    model, proto = classifier
    X, _ = iris
    source = {"proto": proto, "bytes": proto.SerializeToString(), "path": tmp_path / "given.onnx"}[form]
    (tmp_path / "given.onnx").write_bytes(proto.SerializeToString())
    saved = tmp_path / "saved"
    saved.mkdir()
    loaded = _round_trip(source, saved)
    assert os.listdir(saved) == ["model.onnx"]
    assert (saved / "model.onnx").read_bytes() == proto.SerializeToString()
    assert isinstance(loaded.get(), OnnxModel)
    np.testing.assert_array_equal(loaded.get().predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.get().predict_proba(X), model.predict_proba(X), atol=1e-5)


def test_format_is_onnx_and_nothing_is_pickled(classifier):
    artifact = OnnxModelArtifact("model").pack(classifier[1])
    assert (artifact.format, artifact.PICKLE_BASED, artifact.options) == ("onnx", False, {})


@pytest.mark.parametrize("threads", [None, 2])
def test_session_thread_settings_are_explicit(threads, classifier, tmp_path):
    session = _round_trip(classifier[1], tmp_path, intra_op_threads=threads).get().session
    options = session.get_session_options()
    assert options.intra_op_num_threads == (threads or DEFAULT_INTRA_OP_THREADS) == (threads or 1)
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_thread_count_is_refused(threads):
    with pytest.raises(InvalidArgument, match="intra_op_threads must be a positive integer"):
        OnnxModelArtifact("model", intra_op_threads=threads)


@pytest.mark.parametrize("model, shown", [({"a": 1}, "builtins.dict"), (3.5, "builtins.float")])
def test_packing_something_else_names_what_it_takes(model, shown):
    with pytest.raises(InvalidArgument, match=f"takes an onnx.ModelProto, its bytes or the path .*got {shown}"):
        OnnxModelArtifact("model").pack(model)


def test_bytes_that_are_no_model_are_a_one_line_error(tmp_path):
    with pytest.raises(InvalidArgument) as err:
        OnnxModelArtifact("model").pack(b"not a model")
    assert str(err.value) == ("OnnxModelArtifact 'model': not a model ONNX Runtime can load: "
                              "Failed to load model because protobuf parsing failed.")
    with pytest.raises(InvalidArgument, match="cannot read ONNX model file .*missing.onnx: No such file"):
        OnnxModelArtifact("model").pack(tmp_path / "missing.onnx")


def test_metadata_describes_the_inputs_and_keeps_the_users(classifier):
    artifact = OnnxModelArtifact("model").pack(classifier[1])
    artifact._mark_ready({"owner": "me"})
    meta = artifact.metadata
    assert meta["owner"] == "me"
    assert [dict(i) for i in meta["onnx"]["inputs"]] == [{"name": "X", "type": "tensor(float)", "shape": (None, 4)}]
    assert [o["name"] for o in meta["onnx"]["outputs"]] == ["label", "probabilities"]
    with pytest.raises(InvalidArgument, match="metadata key 'onnx' is reserved"):
        OnnxModelArtifact("model").pack(classifier[1], {"onnx": 1})


def test_predict_maps_arrays_and_dataframes_onto_the_single_input(classifier, iris):
    model, proto = classifier
    X, _ = iris
    onnx_model = OnnxModelArtifact("model").pack(proto).get()
    expected = model.predict(X[:5])
    assert onnx_model.predict(X[:5].tolist()).tolist() == expected.tolist()
    assert onnx_model.predict(pd.DataFrame(X[:5])).tolist() == expected.tolist()
    outputs = onnx_model.run({"X": X[:5].astype(np.float32)})
    assert list(outputs) == ["label", "probabilities"] and outputs["label"].tolist() == expected.tolist()


@pytest.mark.parametrize("rows, message", [
    ([[1.0, 2.0, 3.0]], r"input 'X' takes shape \[n, 4\], got \[1, 3\]"),
    ([1.0, 2.0, 3.0, 4.0], r"input 'X' takes shape \[n, 4\], got \[4\]"),
    ([["a", "b", "c", "d"]], r"input 'X' takes tensor\(float\): could not convert string to float: 'a'"),
])
def test_rows_that_do_not_fit_are_bad_input_on_one_line(rows, message, classifier):
    onnx_model = OnnxModelArtifact("model").pack(classifier[1]).get()
    with pytest.raises(BadInput, match=message) as err:
        onnx_model.predict(rows)
    assert "\n" not in str(err.value)


def test_run_reports_onnx_runtimes_reason_without_its_prefix(classifier):
    onnx_model = OnnxModelArtifact("model").pack(classifier[1]).get()
    with pytest.raises(BadInput) as err:
        onnx_model.run({"X": np.zeros((2, 4), dtype=np.float64)})
    assert str(err.value) == "Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))"


def test_predict_on_a_model_with_two_inputs_points_to_run():
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["sum"])], "add",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 2]) for n in ("a", "b")],
                              [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [None, 2])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx_model = OnnxModelArtifact("add").pack(proto).get()
    with pytest.raises(InvalidArgument, match=r"this one has 2 \(a, b\): call run"):
        onnx_model.predict([[1.0, 2.0]])
    with pytest.raises(InvalidArgument, match="has no 'probabilities' output"):
        onnx_model.predict_proba([[1.0, 2.0]])
    ones = np.ones((1, 2), dtype=np.float32)
    assert onnx_model.run({"a": ones, "b": ones})["sum"].tolist() == [[2.0, 2.0]]


@settings(max_examples=40, deadline=None)
@given(rows=arrays(np.float32, st.tuples(st.integers(1, 64), st.just(4)),
                   elements=st.floats(-10, 10, width=32)))
def test_n_rows_in_n_results_out_matching_the_original(classifier, rows):
    """ONNX Runtime computes in float32 like the converted model: on float32 rows it agrees with
    scikit-learn's probabilities to float32 rounding, and labels agree wherever no class is a near tie."""
    model, proto = classifier
    onnx_model = _cached_model(proto)
    labels, proba = onnx_model.predict(rows), onnx_model.predict_proba(rows)
    assert labels.shape == (len(rows),) and proba.shape == (len(rows), 3)
    want = model.predict_proba(rows.astype(np.float64))
    np.testing.assert_allclose(proba, want, atol=1e-5)
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    assert (labels[clear] == model.predict(rows.astype(np.float64))[clear]).all()


_MODELS: dict = {}


def _cached_model(proto) -> OnnxModel:
    """One loaded model for every hypothesis example (a session costs milliseconds to build)."""
    if id(proto) not in _MODELS:
        _MODELS[id(proto)] = OnnxModelArtifact("model").pack(proto).get()
    return _MODELS[id(proto)]


def _bundle(classifier, tmp_path) -> str:
    from onnx_services import OnnxIris

    return OnnxIris().pack("model", classifier[1], metadata={"dataset": "iris"}).save_to_dir(str(tmp_path / "bundle"))


def test_bundle_records_the_model_and_lists_onnxruntime(classifier, iris, tmp_path):
    from importlib_metadata import version

    path = _bundle(classifier, tmp_path)
    with open(os.path.join(path, "bento.yml"), encoding="utf-8") as f:
        (info,) = yaml.safe_load(f)["artifacts"]
    assert (info["type"], info["plugin"], info["format"], info["pickle_based"]) == (
        "OnnxModelArtifact", "bento-artifacts-onnx", "onnx", False)
    assert info["metadata"]["dataset"] == "iris"
    assert info["metadata"]["onnx"]["inputs"] == [{"name": "X", "type": "tensor(float)", "shape": [None, 4]}]
    requirements = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"onnxruntime=={version('onnxruntime')}" in requirements
    assert not [r for r in requirements if r.startswith("scikit-learn")]
    loaded = bento.load(path)
    assert loaded.predict(iris[0][:3]).tolist() == classifier[0].predict(iris[0][:3]).tolist()
    assert loaded.artifacts["model"].metadata["onnx"]["inputs"][0]["name"] == "X"


def test_truncated_model_file_is_a_one_line_bundle_error(classifier, tmp_path):
    from bento.bundle.manifest import write_manifest

    path = _bundle(classifier, tmp_path)
    model_file = os.path.join(path, "OnnxIris", "artifacts", "model.onnx")
    with open(model_file, "r+b") as f:
        f.truncate(os.path.getsize(model_file) // 2)
    write_manifest(path)  # a bundle written broken, not tampered with afterwards
    with pytest.raises(BundleError) as err:
        bento.load(path)
    assert "artifact 'model' (OnnxModelArtifact) failed to load" in str(err.value)
    assert "not a model ONNX Runtime can load" in str(err.value) and "\n" not in str(err.value)


def test_served_over_http_with_the_model_in_metadata(classifier, iris, tmp_path):
    pytest.importorskip("bento_server", reason="bento-server not installed")
    svc = bento.load(_bundle(classifier, tmp_path))
    handle = svc.start_dev_server(port=0)  # any free port
    try:
        url = handle.url.rstrip("/")
        assert post_json(url + "/predict", iris[0][:2].tolist()) == (200, classifier[0].predict(iris[0][:2]).tolist())
        status, body = post_json(url + "/predict", [[1.0, 2.0, 3.0]])
        assert status == 400 and body["error"] == "input 'X' takes shape [n, 4], got [1, 3]"
        with urllib.request.urlopen(url + "/metadata", timeout=30) as response:
            (artifact,) = json.loads(response.read())["artifacts"]
    finally:
        svc.stop_dev_server()
    assert artifact["type"] == "OnnxModelArtifact"
    assert artifact["metadata"]["onnx"]["inputs"] == [{"name": "X", "type": "tensor(float)", "shape": [None, 4]}]
