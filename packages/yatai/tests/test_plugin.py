"""bento-yatai as a plugin: its entry point, a cheap import, its commands, config and hooks."""
from __future__ import annotations

import subprocess
import sys

from bento import hookimpl


def test_entry_point_loads_by_name():
    from importlib_metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "yatai"]
    assert ep.dist.name == "bento-yatai"
    module = ep.load()
    assert module.__name__ == "bento_yatai.plugin"


def test_import_and_cli_build_stay_cheap():
    code = ("import sys, bento_yatai.plugin; from bento.cli import make_cli; make_cli(); "
            "print(sorted(m for m in ('grpc', 'peewee', 'minio', 'prometheus_client', 'google.protobuf') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_hook_register_commands_replaces_the_placeholders():
    from bento.cli import make_cli

    cli = make_cli()
    assert cli.commands["push"].callback.__module__ == "bento_yatai.cli"
    assert cli.commands["pull"].callback.__module__ == "bento_yatai.cli"
    assert "start" in cli.commands["yatai"].commands


def test_yatai_config_section(monkeypatch):
    from bento.config import load_config
    from bento.plugins import default_manager

    monkeypatch.setenv("BENTO_YATAI_URL", "grpcs://registry.example:443")
    assert load_config(default_manager()).get("yatai.url") == "grpcs://registry.example:443"


class MemoryStore:
    url = "mem://"


class MemoryPlugin:
    @hookimpl
    def yatai_storage_backend(self, url, options):
        return MemoryStore() if url.startswith("mem://") else None


def test_hook_yatai_storage_backend_of_a_plugin_added_by_bento_addhooks(tmp_path):
    from bento import plugins
    from bento_yatai.storage import get_storage
    from bento_yatai.storage.local import LocalStorage

    pm = plugins.get_plugin_manager()
    pm.register(MemoryPlugin())
    assert isinstance(get_storage("mem://x", {}, pm), MemoryStore)
    assert isinstance(get_storage(str(tmp_path), {}, pm), LocalStorage)
