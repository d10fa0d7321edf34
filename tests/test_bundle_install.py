"""`pip install <bundle>` into a fresh virtual environment, then use it as a package and a command."""
import os
import shutil
import subprocess
import sys

import pytest

from bento_e2e import ROOT

PACKAGES = ["core", "adapters", "artifacts-sklearn", "server"]  # the bundle pins bento-server for its image


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        pytest.skip("uv is not installed (it is in requirements-dev.txt)")
    return find_uv_bin()


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new venv with only the bento packages (and their dependencies) installed from this checkout."""
    uv = _uv()
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "-q", "--python", py, *(str(ROOT / "packages" / p) for p in PACKAGES)],
                   check=True)
    return venv


def test_installed_bundle_loads_and_runs(iris_bundle, fresh_venv):
    uv = _uv()
    py = str(fresh_venv / "bin" / "python")
    out = subprocess.run([uv, "pip", "install", "-q", "--python", py, iris_bundle], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    code = "import IrisClassifier; print(IrisClassifier.load().predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]))"
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0 2]"
    script = str(fresh_venv / "bin" / "IrisClassifier")
    out = subprocess.run([script, "run", "predict", "--input", "[[5.1,3.5,1.4,0.2]]"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0]"


def test_tampered_bundle_refuses_to_install(iris_bundle, fresh_venv, tmp_path):
    uv = _uv()
    copy = tmp_path / "bundle"
    shutil.copytree(iris_bundle, copy)
    with open(copy / "IrisClassifier" / "iris_classifier.py", "a") as f:
        f.write("\nprint('injected')\n")
    out = subprocess.run([uv, "pip", "install", "-q", "--python", str(fresh_venv / "bin" / "python"), str(copy)],
                         capture_output=True, text=True)
    assert out.returncode != 0
    message = " ".join(out.stderr.split())  # uv wraps long lines
    assert "IrisClassifier/iris_classifier.py does not match MANIFEST.sha256: refusing to install" in message
    assert os.path.exists(iris_bundle)
