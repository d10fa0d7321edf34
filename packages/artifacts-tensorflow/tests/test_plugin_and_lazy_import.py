"""The entry point, and TensorFlow imported only when used: fast `bento` start-up with TF installed, a
clear `pip install tensorflow-cpu` error without it (checked in subprocesses that hide TensorFlow)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import bento
from bento_artifacts_tensorflow import KerasModelArtifact, TensorflowSavedModelArtifact, TfTensorInput, TfTensorOutput

# Makes `import tensorflow` / `import keras` fail in a subprocess, as on a machine without them.
HIDE_TENSORFLOW = textwrap.dedent("""
    import sys

    class HideTensorflow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, HideTensorflow())
""")


def _python(code: str, **env: str) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON value, returned here."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_entry_point_loads_by_name():
    from importlib_metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "tensorflow"]
    assert ep.dist.name == "bento-artifacts-tensorflow"
    plugin = ep.load()
    found: dict = {"artifacts": [], "inputs": [], "outputs": []}
    plugin.register_artifacts(register=found["artifacts"].append)
    plugin.register_input_adapters(register=found["inputs"].append)
    plugin.register_output_adapters(register=found["outputs"].append)
    assert found == {"artifacts": [TensorflowSavedModelArtifact, KerasModelArtifact], "inputs": [TfTensorInput],
                     "outputs": [TfTensorOutput]}
    registry = bento.plugins.default_manager().registry
    assert registry.get(bento.plugins.Kind.ARTIFACT, "KerasModelArtifact") is KerasModelArtifact
    assert registry.get(bento.plugins.Kind.INPUT_ADAPTER, "TfTensorInput") is TfTensorInput


def test_plugin_discovery_does_not_import_tensorflow():
    code = textwrap.dedent("""
        import json, sys, time
        start = time.perf_counter()
        import bento_artifacts_tensorflow
        from bento.plugins import Kind, default_manager
        names = default_manager().registry.names(Kind.ARTIFACT)
        print(json.dumps({"seconds": time.perf_counter() - start, "has_keras_artifact": "KerasModelArtifact" in names,
                          "heavy": [m for m in ("tensorflow", "keras", "numpy") if m in sys.modules]}))
    """)
    found = _python(code)
    assert found["has_keras_artifact"] and found["heavy"] == []
    assert found["seconds"] < 2.0, found  # `import tensorflow` alone takes 3-4 s here


def test_without_tensorflow_the_plugin_loads_and_using_it_says_what_to_install(keras_model, tmp_path):
    from tf_services import KerasIris

    bundle = KerasIris().pack("model", keras_model).save_to_dir(str(tmp_path / "bundle"))
    code = HIDE_TENSORFLOW + textwrap.dedent(f"""
        import json
        import bento
        from bento.plugins import Kind, default_manager
        from bento_artifacts_tensorflow import KerasModelArtifact, TensorflowSavedModelArtifact
        out = {{"registered": "TfTensorInput" in default_manager().registry.names(Kind.INPUT_ADAPTER)}}
        for key, attempt in [("load", lambda: bento.load({bundle!r})),
                             ("pack_keras", lambda: KerasModelArtifact("m").pack(object())),
                             ("pack_savedmodel", lambda: TensorflowSavedModelArtifact("m").pack("/tmp"))]:
            try:
                attempt()
            except Exception as e:
                out[key] = [type(e).__name__, str(e)]
        print(json.dumps(out))
    """)
    found = _python(code)
    assert found["registered"]
    kind, message = found["load"]
    assert kind == "BundleError" and "\n" not in message
    assert "artifact 'model' (KerasModelArtifact) failed to load" in message
    assert "KerasModelArtifact needs TensorFlow" in message and "pip install tensorflow-cpu" in message
    for key, user in [("pack_keras", "KerasModelArtifact"), ("pack_savedmodel", "TensorflowSavedModelArtifact")]:
        kind, message = found[key]
        assert kind == "PluginError" and f"{user} needs TensorFlow" in message and "pip install tensorflow-cpu" in message
