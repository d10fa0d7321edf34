"""The plugin as installed: entry point, registry, cheap import, and a third-party adapter plugin."""
from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import textwrap
import venv

from bento.plugins import Registry, get_plugin_manager, plugin_infos
from importlib_metadata import entry_points

import bento_adapters
from bento_adapters import plugin

ALL_INPUTS = ["DataframeInput", "FileInput", "ImageInput", "JsonInput", "MultiFileInput", "MultiImageInput", "StringInput"]
ALL_OUTPUTS = ["DataframeOutput", "DefaultOutput", "JsonOutput"]


def test_entry_point_loads_the_plugin_module():
    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "adapters"]
    assert ep.load() is plugin
    assert ep.dist.name == "bento-adapters" and ep.dist.version == bento_adapters.__version__


def test_registry_has_every_adapter_from_this_distribution():
    pm = get_plugin_manager()
    registry = Registry(pm)
    assert set(ALL_INPUTS) <= set(registry.names("input adapter"))
    assert set(ALL_OUTPUTS) <= set(registry.names("output adapter"))
    info = registry.provider("input adapter", bento_adapters.DataframeInput)
    assert (info.name, info.distribution) == ("adapters", "bento-adapters")
    assert any(i.distribution == "bento-adapters" for i in plugin_infos(pm))


def test_every_input_describes_its_body_for_openapi_and_takes_post():
    for cls in plugin.INPUT_ADAPTERS:
        adapter = cls(["a", "b"]) if cls.__name__.startswith("Multi") else cls()
        assert cls.HTTP_METHODS == ("POST",)
        content = adapter.request_schema()
        assert content and all(set(v) == {"schema"} for v in content.values()), cls.__name__
    for cls in plugin.OUTPUT_ADAPTERS:
        assert set(cls().response_schema()) == {"application/json"}


def test_importing_the_plugin_does_not_import_heavy_libraries():
    code = ("import sys, bento, bento_adapters, bento_adapters.plugin; "
            "from bento.plugins import get_registry; get_registry().names('input adapter'); "
            "bento_adapters.DataframeInput(); bento_adapters.ImageInput(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'PIL', 'orjson', 'multipart') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


THIRD_PARTY_MODULE = '''
from bento import hookimpl
from bento_adapters.json_input import JsonInput


class UpperInput(JsonInput):
    """Strings, upper-cased."""

    def coerce(self, value):
        return str(value).upper()


@hookimpl
def register_input_adapters(register):
    register(UpperInput)
'''

THIRD_PARTY_PYPROJECT = '''
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "bento-upper"
version = "0.3.0"

[project.entry-points.bento]
upper = "bento_upper"
'''

THIRD_PARTY_CHECK = '''
from bento.plugins import get_registry
from bento import BentoService, api

registry = get_registry()
Upper = registry.get("input adapter", "UpperInput")
print(",".join(registry.names("input adapter")))
print(registry.provider("input adapter", Upper).distribution)

class Shout(BentoService):
    @api(input=Upper(), batch=True)
    def shout(self, words):
        return [w + "!" for w in words]

print(Shout().shout(["hi", "there"]))
'''


def test_third_party_adapter_plugin_installs_and_registers(tmp_path):
    project = tmp_path / "bento-upper"
    project.mkdir()
    (project / "pyproject.toml").write_text(THIRD_PARTY_PYPROJECT)
    (project / "bento_upper.py").write_text(textwrap.dedent(THIRD_PARTY_MODULE))
    env = tmp_path / "venv"
    venv.create(env, with_pip=importlib.util.find_spec("pip") is None)  # else this env's pip serves it
    python = str(env / "bin" / "python")
    # The new venv sees this environment's packages (bento-core, bento-adapters, editable or not,
    # also when this one is itself a venv, which --system-site-packages would skip).
    venv_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    parent_sites = [p for p in site.getsitepackages() if os.path.isdir(p)]
    with open(os.path.join(venv_site, "_bento_test_parent.pth"), "w") as f:
        f.write("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parent_sites) + "\n")
    # pip fetches the build backend (setuptools) into an isolated build env, as for any user
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(project)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    out = subprocess.run([python, "-c", THIRD_PARTY_CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names, dist, result = out.stdout.strip().splitlines()
    assert "UpperInput" in names.split(",") and "JsonInput" in names.split(",")
    assert dist == "bento-upper"
    assert result == "['HI!', 'THERE!']"
