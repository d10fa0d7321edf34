"""Bundle layout, manifest, metadata and loading."""
import importlib
import os
import subprocess
import sys

import pytest
import yaml

import bento
from bento.exceptions import BundleError, InvalidArgument, ManifestMismatch, MissingPlugin

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")


def test_save_to_dir_writes_the_full_layout(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"), labels={"stage": "dev"})
    files = set(os.listdir(path))
    assert {"bento.yml", "README.md", "requirements.txt", "Dockerfile", "docker-entrypoint.sh", "pyproject.toml",
            "MANIFEST.sha256", "ToyService"} <= files
    assert "environment.yml" not in files and "setup.sh" not in files
    pkg = set(os.listdir(os.path.join(path, "ToyService")))
    assert {"__init__.py", "bento.yml", "toy_service.py", "toy_helpers.py", "artifacts"} <= pkg
    assert sorted(os.listdir(os.path.join(path, "ToyService", "artifacts"))) == ["obj.pkl", "table.json"]
    meta = yaml.safe_load(open(os.path.join(path, "bento.yml")))
    assert meta["name"] == "ToyService" and meta["version"] == toy.version and meta["labels"] == {"stage": "dev"}
    assert meta["service"] == {"module": "toy_service", "class_name": "ToyService",
                               "doc": "Doubles numbers and looks words up in a table.", "web_static_content": None}
    apis = {a["name"]: a for a in meta["apis"]}
    assert apis["lookup"]["batch"] is True and apis["lookup"]["input"]["type"] == "ToyJsonInput"
    assert apis["explode"]["route"] == "v1/raise"
    arts = {a["name"]: a for a in meta["artifacts"]}
    assert arts["table"]["metadata"] == {"source": {"rows": [1, 2]}} and arts["table"]["format"] == "json"
    assert arts["obj"]["pickle_based"] is True and arts["obj"]["plugin"] == "bento-core"
    reqs = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"bento-core=={bento.__version__}" in reqs
    from importlib_metadata import version

    assert f"pluggy=={version('pluggy')}" in reqs  # declared bare name, pinned to the installed version


def test_artifact_pip_requirements_are_listed_pinned(toy, tmp_path, monkeypatch):
    from importlib_metadata import version

    from bento.artifacts import JSONArtifact

    monkeypatch.setattr(JSONArtifact, "pip_requirements", property(lambda self: ("PyYAML",)))
    path = toy.save_to_dir(str(tmp_path / "b"))
    assert f"PyYAML=={version('PyYAML')}" in open(os.path.join(path, "requirements.txt")).read().split()


def test_env_options_shape_the_bundle(tmp_path):
    req = tmp_path / "req.txt"
    req.write_text("# comment\nrequests>=2\n")
    env = dict(conda_dependencies=["libgomp"], conda_channels=["conda-forge"], requirements_txt_file=str(req),
               setup_sh="apt-get install -y libgomp1\n", docker_base_image="python:3.11-bookworm")
    svc = _service_class(tmp_path, "envsvc", f"@env(**{env!r})")()
    path = svc.save_to_dir(str(tmp_path / "b"))
    env_yml = yaml.safe_load(open(os.path.join(path, "environment.yml")))
    assert env_yml["channels"] == ["conda-forge"] and env_yml["dependencies"] == ["libgomp"]
    assert open(os.path.join(path, "setup.sh")).read() == "apt-get install -y libgomp1\n"
    docker = open(os.path.join(path, "Dockerfile")).read()
    assert docker.startswith("FROM python:3.11-bookworm\n")
    assert "RUN bash /bundle/setup.sh" in docker and "USER bento" in docker
    assert "requests>=2" in open(os.path.join(path, "requirements.txt")).read().split()


def _service_class(tmp_path, module, decorator, imports=""):
    """A one-API service class `Svc` defined in a new module file `module` under tmp_path."""
    (tmp_path / f"{module}.py").write_text(
        f"{imports}from bento import BentoService, api, env, web_static_content\n"
        "from toy_adapters import ToyJsonInput\n"
        f"{decorator}\nclass Svc(BentoService):\n    @api(input=ToyJsonInput())\n    def f(self, x):\n        return x\n")
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(module).Svc
    finally:
        sys.path.remove(str(tmp_path))


def test_infer_pip_packages_lists_imported_distributions(tmp_path):
    cls = _service_class(tmp_path, "infersvc", "@env(infer_pip_packages=True)", imports="import yaml\nimport json\n")
    path = cls().save_to_dir(str(tmp_path / "b"))
    from importlib_metadata import version

    reqs = open(os.path.join(path, "requirements.txt")).read().split()
    assert f"PyYAML=={version('PyYAML')}" in reqs
    assert not any(r.startswith("json") for r in reqs)


def test_load_roundtrip_in_process(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"))
    svc = bento.load(path)
    assert svc.version == toy.version and svc.artifacts.table == {"a": 1, "b": 2}
    assert svc.artifacts.obj == {"anything": [1, 2, 3]}
    assert svc.artifacts["table"].metadata["source"]["rows"] == (1, 2)
    assert svc.double(4) == 8


def test_load_in_a_fresh_process_uses_the_bundle_copy(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"))
    code = ("import bento, toy_adapters; from bento import plugins\n"
            "plugins.default_manager().register(toy_adapters)\n"
            f"svc = bento.load({path!r}); print(svc.double(5), svc.artifacts.table['b'])\n"
            "import toy_service; print(toy_service.__file__)")
    env = {**os.environ, "PYTHONPATH": SVCMODS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[:2] == ["10", "2"]
    assert lines[2].startswith(path)


def test_tampered_file_is_refused(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"))
    with open(os.path.join(path, "ToyService", "toy_helpers.py"), "a") as f:
        f.write("\nimport os; os.system('echo pwned')\n")
    with pytest.raises(ManifestMismatch, match="ToyService/toy_helpers.py does not match MANIFEST.sha256"):
        bento.load(path)


@pytest.mark.parametrize("change, message", [
    (lambda p: open(os.path.join(p, "ToyService", "evil.py"), "w").write("x"), "evil.py is not listed"),
    (lambda p: os.remove(os.path.join(p, "ToyService", "artifacts", "table.json")), "table.json listed in MANIFEST.sha256 is missing"),
    (lambda p: os.remove(os.path.join(p, "MANIFEST.sha256")), "no MANIFEST.sha256"),
])
def test_added_removed_or_unlisted_files_are_refused(toy, tmp_path, change, message):
    path = toy.save_to_dir(str(tmp_path / "b"))
    change(path)
    with pytest.raises(BundleError, match=message):
        bento.load(path)


def test_missing_artifact_plugin_names_the_pip_package(toy, tmp_path):
    import toy_adapters

    from bento import plugins

    path = toy.save_to_dir(str(tmp_path / "b"))
    pm = plugins.get_plugin_manager(load_entrypoints=False)  # as if no artifact plugin were installed
    pm.register(toy_adapters)
    _rewrite_meta(path, lambda m: m["artifacts"][0].update(type="XgboostModelArtifact",
                                                           plugin="bento-artifacts-xgboost", plugin_version="0.1.0"))
    with pytest.raises(MissingPlugin, match="artifact type 'XgboostModelArtifact' is provided by no installed plugin: "
                                            "pip install bento-artifacts-xgboost==0.1.0"):
        bento.load(path, plugins=pm)
    _rewrite_meta(path, lambda m: m["artifacts"][0].update(type="FancyArtifact", plugin="fancy-bento", plugin_version="1.2"))
    with pytest.raises(MissingPlugin, match="pip install fancy-bento==1.2"):
        bento.load(path, plugins=pm)
    _rewrite_meta(path, lambda m: m["artifacts"][0].update(plugin="", plugin_version=""))  # a hand-written bundle
    with pytest.raises(MissingPlugin, match="artifact type 'FancyArtifact' is provided by no installed plugin$"):
        bento.load(path, plugins=pm)


def _rewrite_meta(path, change):
    """Edit bento.yml in both places and re-sign, as a bundle written by another install would be."""
    from bento.bundle.manifest import write_manifest

    for p in (os.path.join(path, "bento.yml"), os.path.join(path, "ToyService", "bento.yml")):
        meta = yaml.safe_load(open(p))
        change(meta)
        yaml.safe_dump(meta, open(p, "w"))
    write_manifest(path)


def test_bundle_types_come_from_the_registry_not_dotted_paths(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"))
    text = open(os.path.join(path, "bento.yml")).read()
    assert "bento.artifacts" not in text and "toy_adapters.ToyJsonInput" not in text


def test_class_in_main_cannot_be_saved(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("from bento import BentoService, api\nfrom toy_adapters import ToyJsonInput\n"
                      "import toy_adapters; from bento import plugins\n"
                      "plugins.default_manager().register(toy_adapters)\n"
                      "class Main(BentoService):\n    @api(input=ToyJsonInput())\n    def f(self, x):\n        return x\n"
                      f"Main().save_to_dir({str(tmp_path / 'b')!r})\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": SVCMODS})
    assert out.returncode != 0
    assert "Main is defined in __main__ (a script or notebook cell) and cannot be saved" in out.stderr
    assert not (tmp_path / "b").exists()


def test_save_refuses_unpacked_artifacts_and_bad_labels(tmp_path, toy):
    from toy_service import ToyService

    with pytest.raises(BundleError, match="pack artifact"):
        ToyService().save_to_dir(str(tmp_path / "a"))
    with pytest.raises(InvalidArgument, match="invalid label value"):
        toy.save(labels={"stage": "prod!"})
    assert not (tmp_path / "a").exists()


def test_save_to_dir_refuses_a_non_empty_directory(toy, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidArgument, match="not an empty directory"):
        toy.save_to_dir(str(tmp_path / "b"))
    assert (tmp_path / "b" / "keep.txt").read_text() == "mine"


def test_corrupt_bento_yml_is_a_bundle_error(toy, tmp_path):
    path = toy.save_to_dir(str(tmp_path / "b"))
    _rewrite_meta(path, lambda m: m.pop("apis") and m.update(apis="nope"))
    with pytest.raises(BundleError, match="not valid bundle metadata"):
        bento.load(path)


def test_web_static_content_is_copied_and_served_from_the_bundle(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("<h1>hi</h1>")
    path = _service_class(tmp_path, "staticsvc", "@web_static_content('static')")().save_to_dir(str(tmp_path / "b"))
    (tmp_path / "static" / "index.html").unlink()
    (tmp_path / "static").rmdir()  # the bundle must not need the original folder
    del sys.modules["staticsvc"]
    svc = bento.load(path)
    assert open(os.path.join(svc.web_static_content, "index.html")).read() == "<h1>hi</h1>"
    assert svc.web_static_content.startswith(path)


def test_missing_web_static_content_fails_at_save(tmp_path):
    cls = _service_class(tmp_path, "nostatic", "@web_static_content('missing')")
    with pytest.raises(BundleError, match="missing is not a directory"):
        cls().save_to_dir(str(tmp_path / "b"))
