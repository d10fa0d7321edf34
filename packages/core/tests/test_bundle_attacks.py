"""Attacks on a bundle on disk (issue 17): what MANIFEST.sha256 vouches for is exactly what runs,
is served and is installed, and bento.yml cannot point outside the bundle. Each test is named
for the attack it stops."""
from __future__ import annotations

import importlib._bootstrap_external as bootstrap
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bento
from bento.bundle.manifest import write_manifest
from bento.bundle.metadata import BundleMetadata
from bento.exceptions import BundleError, ManifestMismatch

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")


def _plant_pyc(source: str, code: str) -> str:
    """A .pyc of `code` where Python looks for `source`'s bytecode, its header copied from the
    clean source (same mtime and size), so the import system takes it as up to date."""
    st_ = os.stat(source)
    data = bootstrap._code_to_timestamp_pyc(compile(code, source, "exec"), int(st_.st_mtime), st_.st_size)
    pyc = importlib.util.cache_from_source(source)
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, "wb") as f:
        f.write(data)
    return pyc


def test_planted_pyc_does_not_run_instead_of_the_verified_source(bundle):
    _plant_pyc(os.path.join(bundle, "ToyService", "toy_service.py"), "raise RuntimeError('planted bytecode ran')")
    with pytest.raises(ManifestMismatch, match=r"ToyService/__pycache__ is compiled Python bytecode"):
        bento.load(bundle)


def test_loading_writes_no_bytecode_into_the_bundle(bundle):
    svc = bento.load(bundle)
    assert svc.double(2) == 4
    assert [d for d, _, _ in os.walk(bundle) if "__pycache__" in d] == []
    bento.load(bundle)  # and so loads again


def _named_service(tmp_path, class_name: str) -> type:
    """A service class called `class_name`, with a JSON artifact, in a module file of its own."""
    module = f"named_{class_name}"
    (tmp_path / f"{module}.py").write_text(
        "from bento import BentoService, api, artifacts\nfrom bento.artifacts import JSONArtifact\n"
        "from toy_adapters import ToyJsonInput\n"
        f"@artifacts([JSONArtifact('table')])\nclass {class_name}(BentoService):\n"
        "    @api(input=ToyJsonInput())\n    def f(self, x):\n        return self.artifacts.table[x]\n")
    sys.path.insert(0, str(tmp_path))
    try:
        return getattr(importlib.import_module(module), class_name)
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize("class_name", ["build", "dist"])
def test_service_named_build_or_dist_cannot_have_its_artifact_rewritten(tmp_path, class_name):
    svc = _named_service(tmp_path, class_name)()
    svc.pack("table", {"a": 1})
    path = svc.save_to_dir(str(tmp_path / "b"))
    with open(os.path.join(path, class_name, "artifacts", "table.json"), "w") as f:
        json.dump({"a": "rewritten"}, f)
    with pytest.raises(ManifestMismatch, match=f"{class_name}/artifacts/table.json does not match"):
        bento.load(path)


@pytest.mark.parametrize("target", ["dir", "file"])
def test_symlink_added_to_a_bundle_is_refused(bundle, target):
    link = os.path.join(bundle, "ToyService", "leak")
    os.symlink("/etc" if target == "dir" else "/etc/passwd", link)
    with pytest.raises(ManifestMismatch, match="ToyService/leak is a symbolic link: bundles hold no links"):
        bento.load(bundle)


def test_symlink_in_web_static_content_is_refused_at_save(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("hi")
    os.symlink("/etc", static / "etc")
    module = "linkedstatic"
    (tmp_path / f"{module}.py").write_text(
        "from bento import BentoService, api, web_static_content\nfrom toy_adapters import ToyJsonInput\n"
        f"@web_static_content({str(static)!r})\nclass Svc(BentoService):\n"
        "    @api(input=ToyJsonInput())\n    def f(self, x):\n        return x\n")
    sys.path.insert(0, str(tmp_path))
    try:
        svc = importlib.import_module(module).Svc()
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(ManifestMismatch, match="web_static_content/etc is a symbolic link"):
        svc.save_to_dir(str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


def _rewrite_meta(path: str, change) -> None:
    for p in (os.path.join(path, "bento.yml"), os.path.join(path, "ToyService", "bento.yml")):
        with open(p) as f:
            meta = yaml.safe_load(f)
        change(meta)
        with open(p, "w") as f:
            yaml.safe_dump(meta, f)
    write_manifest(path)


@pytest.mark.parametrize("field, value, message", [
    ("name", "../outside", "invalid bundle name '../outside'"),
    ("module", "../../outside", "service module '../../outside' is not a dotted Python module name"),
    ("web_static_content", "../../../etc", "web_static_content must be 'web_static_content'"),
    ("artifact", "../../x", "name '../../x' is not a Python identifier"),
])
def test_bento_yml_cannot_point_outside_the_bundle(bundle, tmp_path, field, value, message):
    outside = tmp_path / "outside"  # what the name would reach: a package that runs on import
    outside.mkdir()
    (outside / "__init__.py").write_text("raise RuntimeError('code outside the bundle ran')\n")
    shutil.copy(os.path.join(bundle, "bento.yml"), outside / "bento.yml")

    def change(meta):
        if field == "name":
            meta["name"] = value
        elif field == "artifact":
            meta["artifacts"][0]["name"] = value
        else:
            meta["service"][field] = value

    _rewrite_meta(bundle, change)
    with pytest.raises(BundleError, match=message):
        bento.load(bundle)


def test_metadata_commands_never_import_the_bundles_code(run, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    module = "markersvc"
    (tmp_path / f"{module}.py").write_text(
        "import os\nfrom bento import BentoService, api\nfrom toy_adapters import ToyJsonInput\n"
        "if os.environ.get('BENTO_TEST_MARKER'):\n    open(os.environ['BENTO_TEST_MARKER'], 'a').write(__file__)\n"
        "class Marker(BentoService):\n    \"\"\"Writes a marker when imported.\"\"\"\n"
        "    @api(input=ToyJsonInput())\n    def f(self, x):\n        return x\n")
    sys.path.insert(0, str(tmp_path))
    try:
        path = importlib.import_module(module).Marker().save()
    finally:
        sys.path.remove(str(tmp_path))
    monkeypatch.setenv("BENTO_TEST_MARKER", str(marker))
    for args in (["info", path], ["info", os.path.join(path, "Marker")], ["open-api-spec", path],
                 ["get", "Marker:latest"], ["list"]):
        out = run(*args)
        assert out.exit_code == 0, out.output
    assert not marker.exists()
    spec = json.loads(run("open-api-spec", path).output)
    from bento.openapi import openapi_spec

    assert spec == openapi_spec(bento.load(path))  # the same document the server serves
    assert marker.exists()  # loading does run it: the check above is not vacuous


def _pip_wheel(bundle: str, out: str) -> subprocess.CompletedProcess:
    """A real PEP 517 build (uv, as `pip install <bundle>` builds): the bundle's own build backend."""
    from uv import find_uv_bin

    return subprocess.run([find_uv_bin(), "build", "--wheel", "--out-dir", out, bundle], capture_output=True,
                          text=True)


def test_pip_build_refuses_a_file_the_manifest_does_not_list(bundle, tmp_path):
    with open(os.path.join(bundle, "ToyService", "extra.py"), "w") as f:
        f.write("import os; os.system('echo shipped')\n")
    out = _pip_wheel(bundle, str(tmp_path / "w"))
    assert out.returncode != 0
    message = " ".join((out.stdout + out.stderr).split())  # uv wraps long lines
    assert "bundle file ToyService/extra.py is not listed in MANIFEST.sha256" in message
    assert "refusing to install" in message
    with pytest.raises(ManifestMismatch, match="ToyService/extra.py is not listed"):
        bento.load(bundle)  # the same verdict


def test_pip_build_ships_exactly_the_listed_files_and_writes_nothing_into_the_bundle(bundle, tmp_path):
    out = _pip_wheel(bundle, str(tmp_path / "w"))
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "w").glob("*.whl")
    names = {n for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")}
    with open(os.path.join(bundle, "MANIFEST.sha256")) as f:
        listed = {line.split("  ", 1)[1].strip() for line in f}
    package = {n for n in listed if n.startswith("ToyService/")}
    assert names == package | {"ToyService/_bento_provenance/MANIFEST.sha256"}
    bento.load(bundle)  # pip left nothing behind that the manifest would refuse
    assert not {"build", "dist"} & set(os.listdir(bundle))


# ---------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from toy_service import ToyService

    svc = ToyService()
    svc.pack("table", {"a": 1, "b": 2})
    svc.pack("obj", {"anything": [1, 2, 3]})
    return svc.save_to_dir(str(tmp_path_factory.mktemp("pristine") / "b"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_any_byte_of_any_bundle_file_is_refused(pristine, data):
    files = sorted(os.path.relpath(os.path.join(d, n), pristine) for d, _, ns in os.walk(pristine) for n in ns)
    rel = data.draw(st.sampled_from(files), label="file")
    with tempfile.TemporaryDirectory() as tmp:
        copy = shutil.copytree(pristine, os.path.join(tmp, "b"))
        path = os.path.join(copy, rel)
        content = bytearray(open(path, "rb").read())
        if content:
            i = data.draw(st.integers(0, len(content) - 1), label="offset")
            content[i] = data.draw(st.integers(0, 255).filter(lambda b: b != content[i]), label="byte")
        else:
            content = bytearray(b"x")
        with open(path, "wb") as f:
            f.write(content)
        with pytest.raises(BundleError):
            bento.load(copy)


_NAME_CHARS = st.sampled_from(list("abAB_09./\\-~ \x00") + ["..", "/etc", "é"])


@settings(max_examples=300, deadline=None)
@given(name=st.lists(_NAME_CHARS, min_size=1, max_size=8).map("".join),
       module=st.lists(_NAME_CHARS, min_size=1, max_size=8).map("".join))
def test_no_bento_yml_name_or_module_resolves_outside_the_bundle(name, module):
    data = {"name": name, "version": "1", "created_at": "2026-01-01T00:00:00+00:00", "bento_version": "0",
            "python_version": "3.11", "service": {"module": module, "class_name": "C"}}
    try:
        meta = BundleMetadata.from_dict(data)
    except BundleError:
        return
    root = os.path.realpath("/bundle")
    pkg = os.path.realpath(os.path.join(root, meta.name))
    source = os.path.realpath(os.path.join(pkg, *meta.service.module.split(".")) + ".py")
    assert os.path.dirname(pkg) == root and source.startswith(pkg + os.sep)
