"""The HTTP engine is a plugin: engines register by name, `[server] engine` / `--engine` picks
one, a third party's serves `bento serve`'s app, and an unknown name is a one-line error."""
from __future__ import annotations

import subprocess
import sys
import types

import pytest
import requests
from bento import hookimpl
from bento.exceptions import InvalidArgument, PluginError
from bento.plugins import get_plugin_manager

from bento_server.engine import http_engine, http_engines
from bento_server.transport import HTTPServer


class CountingEngine(HTTPServer):
    """A third party's engine: waitress underneath, counting the requests it serves."""

    served = 0

    def __init__(self, app, sock, config, **probes):
        def counted(environ, start_response):
            CountingEngine.served += 1
            return app(environ, start_response)

        super().__init__(counted, sock, config, **probes)


def _plugin() -> types.ModuleType:
    plugin = types.ModuleType("bento_counting_engine")

    @hookimpl
    def register_http_engines(register):
        register("counting", CountingEngine)

    plugin.register_http_engines = register_http_engines
    return plugin


def test_hook_register_http_engines_a_plugins_engine_serves_the_app(iris_service):
    from bento_server.config import BatchingConfig, ServerConfig
    from bento_server.lifecycle import DevServer

    pm = get_plugin_manager()
    pm.register(_plugin())
    assert {"waitress", "counting"} <= set(http_engines(pm))
    engine = http_engine(pm, "counting")
    server = DevServer(iris_service, "127.0.0.1", 0, ServerConfig(), BatchingConfig(), engine)
    try:
        r = requests.post(server.url + "/predict", json=[[5.1, 3.5, 1.4, 0.2]], timeout=30)
        assert r.status_code == 200 and r.json() == [0]
    finally:
        server.stop()
    assert CountingEngine.served == 1


def test_an_unknown_engine_is_a_one_line_error_naming_the_known_ones(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bento.cli", "serve", "x", "--engine", "nope"], capture_output=True,
                       text=True, timeout=60, env={"BENTO_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("Error: unknown HTTP engine 'nope'") and "waitress" in r.stderr


def test_a_known_engine_without_its_plugin_names_the_distribution():
    import bento_server.plugin

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(bento_server.plugin, name="server")  # bento-server alone, as if granian's plugin were missing
    with pytest.raises(InvalidArgument, match=r"unknown HTTP engine 'granian' \(pip install bento-server-granian\); "
                                              r"known: waitress$"):
        http_engine(pm, "granian")


@pytest.mark.parametrize("target, reason", [("bento_no_such_engine:Engine", "No module named 'bento_no_such_engine'"),
                                            ("bento_server.transport:NoSuchEngine", "NoSuchEngine")])
def test_an_engine_registered_by_a_name_that_does_not_load_is_a_plugin_error(target, reason):
    plugin = types.ModuleType("bento_broken_engine")

    @hookimpl
    def register_http_engines(register):
        register("broken", target)

    plugin.register_http_engines = register_http_engines
    pm = get_plugin_manager()
    pm.register(plugin)
    with pytest.raises(PluginError, match=rf"^HTTP engine 'broken' \({target}\) cannot be loaded: .*{reason}"):
        http_engine(pm, "broken")
    assert http_engine(pm, "waitress") is HTTPServer  # the others still load
