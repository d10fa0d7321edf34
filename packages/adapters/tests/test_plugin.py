"""The plugin as installed: entry point, registry, cheap import, and a third-party adapter plugin."""
from __future__ import annotations

import subprocess
import sys

from bento.plugins import Kind, get_plugin_manager
from bento.testing import plugin_venv
from importlib_metadata import entry_points

import bento_adapters
from bento_adapters import plugin
from bento_adapters.testing import write_upper_plugin

ALL_INPUTS = ["DataframeInput", "FileInput", "ImageInput", "JsonInput", "MultiFileInput", "MultiImageInput", "StringInput"]
ALL_OUTPUTS = ["DataframeOutput", "DefaultOutput", "JsonOutput"]


def test_entry_point_loads_the_plugin_module():
    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "adapters"]
    assert ep.load() is plugin
    assert ep.dist.name == "bento-adapters" and ep.dist.version == bento_adapters.__version__


def test_hook_register_input_adapters_and_register_output_adapters_fill_the_registry():
    pm = get_plugin_manager()
    registry = pm.registry
    assert set(ALL_INPUTS) <= set(registry.names(Kind.INPUT_ADAPTER))
    assert set(ALL_OUTPUTS) <= set(registry.names(Kind.OUTPUT_ADAPTER))
    info = registry.provider(Kind.INPUT_ADAPTER, bento_adapters.DataframeInput)
    assert (info.name, info.distribution) == ("adapters", "bento-adapters")
    assert registry.provider(Kind.OUTPUT_ADAPTER, bento_adapters.DefaultOutput).distribution == "bento-adapters"
    assert any(i.distribution == "bento-adapters" for i in pm.infos)


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
            "from bento.plugins import Kind, default_manager; default_manager().registry.names(Kind.INPUT_ADAPTER); "
            "bento_adapters.DataframeInput(); bento_adapters.ImageInput(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'PIL', 'orjson', 'multipart') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


THIRD_PARTY_CHECK = '''
from bento.plugins import Kind, default_manager
from bento import BentoService, api

registry = default_manager().registry
Upper = registry.get(Kind.INPUT_ADAPTER, "UpperInput")
print(",".join(registry.names(Kind.INPUT_ADAPTER)))
print(registry.provider(Kind.INPUT_ADAPTER, Upper).distribution)

class Shout(BentoService):
    @api(input=Upper(), batch=True)
    def shout(self, words):
        return [w + "!" for w in words]

print(Shout().shout(["hi", "there"]))
'''


def test_third_party_adapter_plugin_installs_and_registers(tmp_path):
    python = plugin_venv(tmp_path / "venv", write_upper_plugin(tmp_path / "bento-upper"))
    out = subprocess.run([python, "-c", THIRD_PARTY_CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names, dist, result = out.stdout.strip().splitlines()
    assert "UpperInput" in names.split(",") and "JsonInput" in names.split(",")
    assert dist == "bento-upper"
    assert result == "['HI!', 'THERE!']"
