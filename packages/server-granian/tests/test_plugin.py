"""bento-server-granian as a plugin: its entry point registers the `granian` engine, importing
it stays cheap, and the accept-queue probe the drain relies on reads the kernel's count."""
from __future__ import annotations

import socket
import subprocess
import sys

from bento.plugins import get_plugin_manager

from bento_server.engine import http_engine
from bento_server_granian.backlog import accept_queue


def test_entry_point_registers_the_granian_engine():
    pm = get_plugin_manager()
    info = {i.name: i for i in pm.infos}["server-granian"]
    assert info.distribution == "bento-server-granian" and info.module == "bento_server_granian.plugin"
    engine = http_engine(pm, "granian")
    assert engine.__name__ == "GranianEngine" and engine.interface == "asgi"


def test_importing_the_plugin_and_building_the_cli_stays_cheap():
    code = ("import sys, bento_server_granian.plugin; from bento.cli import make_cli; make_cli(); "
            "print(','.join(m for m in ('granian', 'uvloop', 'falcon') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_a_server_on_another_engine_never_imports_granian():
    """Every server lists the engines; the granian one used to import granian (and uvloop,
    anyio, watchfiles) on that, about 30 MB more in each waitress process."""
    code = ("import sys; from bento.plugins import get_plugin_manager; from bento_server.engine import http_engine; "
            "engine = http_engine(get_plugin_manager(), 'waitress'); "
            "print(engine.__name__, ','.join(m for m in ('granian', 'uvloop') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["HTTPServer"], out.stdout


def test_accept_queue_counts_connections_the_kernel_accepted_and_no_one_took():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        assert accept_queue(listener) == 0
        clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
        try:
            assert accept_queue(listener) == 3
            listener.accept()[0].close()
            assert accept_queue(listener) == 2
        finally:
            for c in clients:
                c.close()
