"""The plugin itself: entry point, hooks, cheap import, config sections."""
from __future__ import annotations

import subprocess
import sys

import pytest


def test_entry_point_loads_the_plugin():
    from bento.plugins import get_plugin_manager

    pm = get_plugin_manager()
    info = {i.name: i for i in pm.infos}["server"]
    assert info.distribution == "bento-server" and info.module == "bento_server.plugin"
    hooks = {h.name for h in pm.get_hookcallers(pm.get_plugin("server"))}
    assert hooks == {"bento_addhooks", "register_batchers", "register_commands", "register_config_sections",
                     "register_http_engines", "start_dev_server"}


def test_importing_the_plugin_and_building_the_cli_stays_cheap():
    code = ("import sys; from bento.cli import make_cli; make_cli(); "
            "heavy = [m for m in ('falcon', 'waitress', 'prometheus_client', 'pandas') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_config_sections_from_environment():
    from bento.config import load_config
    from bento.exceptions import ConfigError
    from bento.plugins import get_plugin_manager

    pm = get_plugin_manager()
    config = load_config(pm, environ={"BENTO_SERVER_PORT": "6001", "BENTO_BATCHING_ENABLED": "false"}, file_data={})
    assert config.server.port == 6001 and config.server.host == "127.0.0.1"
    assert config.batching.enabled is False and config.batching.mb_max_latency is None
    with pytest.raises(ConfigError, match="workers"):
        load_config(pm, environ={"BENTO_SERVER_WORKERS": "0"}, file_data={})
    with pytest.raises(ConfigError, match="nope"):
        load_config(pm, environ={}, file_data={"server": {"nope": 1}})


def test_serve_help_lists_every_flag():
    from bento.cli import make_cli
    from click.testing import CliRunner

    out = CliRunner().invoke(make_cli(), ["serve", "--help"]).output
    for flag in ("--host", "--port", "--workers", "--threads", "--mb-max-batch-size", "--mb-max-latency",
                 "--disable-microbatch", "--timeout", "--max-request-size", "--trust-pickle"):
        assert flag in out
