"""The waitress server as bento fits it: how it takes new connections, when a request arrived,
and that it stands below the Falcon layer."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from waitress import wasyncore

from bento_server import transport as http
from bento_server.arrival import ARRIVED_KEY
from bento_server.config import ServerConfig


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _healthz_probe(path: str, rid: str):
    """The transport's probe answerer, for /healthz only."""
    return (200, b'{"status":"ok"}') if path == "/healthz" else None


@pytest.fixture
def make_server():
    """HTTPServers on real loopback sockets whose main loop the test drives itself."""
    made: list = []

    def make(app=_hello, probe=None, probe_sock=None, **settings) -> tuple:
        sock = http.bind_socket("127.0.0.1", 0, backlog=128)
        server = http.HTTPServer(app, sock, ServerConfig(**{"threads": 2, "connection_limit": 100, **settings}), probe,
                                 probe_sock)
        made.append((server, []))
        return made[-1]

    yield make
    for server, clients in made:
        for client in clients:
            client.close()
        if server._open:  # the test did not run (and so shut down) the main loop
            server._shutdown(keep_listener=False)


@pytest.fixture
def fitted(make_server):
    return make_server()


def _connect(server, clients: list, n: int) -> None:
    for _ in range(n):
        clients.append(socket.create_connection(server.server.socket.getsockname()))  # queued in the backlog


def _response(client: socket.socket) -> bytes:
    """One whole response of _hello (it may arrive in several segments)."""
    data = b""
    while not data.endswith(b"\r\n\r\nok"):
        chunk = client.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def _connections(server) -> int:
    return len(server._channels())


def test_one_wake_up_accepts_a_burst_of_pending_connections(fitted):
    server, clients = fitted
    _connect(server, clients, http._ACCEPT_BURST + 8)
    server.server.handle_accept()
    assert _connections(server) == http._ACCEPT_BURST  # waitress alone takes one per wake-up
    server.server.handle_accept()
    assert _connections(server) == http._ACCEPT_BURST + 8
    server.server.handle_accept()  # nothing pending: returns at once
    assert _connections(server) == http._ACCEPT_BURST + 8


class _Blocking:
    """A WSGI app whose /block requests hold their request thread until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/block":
            self.release.wait(20)
        return _hello(environ, start_response)


def _serving(server):
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    return runner


def _open(server, clients: list, n: int, request: bytes = b"") -> list:
    """`n` more connections, each having sent `request`, once the server holds them all."""
    before = _connections(server)
    new = []
    for _ in range(n):
        s = socket.create_connection(server.server.socket.getsockname(), timeout=10)
        if request:
            s.sendall(request)
        new.append(s)
    clients.extend(new)
    _wait(lambda: _connections(server) >= before + n, f"the server took {n} connections")
    return new


def _wait(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _closed_by_server(client: socket.socket) -> bool:
    client.settimeout(5)
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def test_at_the_connection_limit_the_connections_waiting_longest_for_nothing_make_room(make_server):
    app = _Blocking()
    server, clients = make_server(app, threads=3)
    runner = _serving(server)
    busy = _open(server, clients, 2, b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")  # two request threads
    oldest = _open(server, clients, 8)
    time.sleep(http._MIN_WAIT)  # only connections that have waited that long make room
    _open(server, clients, 90)  # 100: the limit
    newcomer = socket.create_connection(server.server.socket.getsockname(), timeout=10)
    clients.append(newcomer)
    newcomer.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _response(newcomer).startswith(b"HTTP/1.1 200 OK")
    assert all(_closed_by_server(c) for c in oldest)
    app.release.set()
    assert all(_response(c).startswith(b"HTTP/1.1 200 OK") for c in busy)  # never closed: being served
    server.stop()
    runner.join(10)


def test_when_every_connection_is_being_served_a_new_one_is_refused_at_once_but_probes_answer(make_server):
    app = _Blocking()
    server, clients = make_server(app, probe=_healthz_probe)
    runner = _serving(server)
    _open(server, clients, 100, b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")  # 2 served, 98 queued
    for request, status in ((b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"503"),
                            (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"200")):
        started = time.monotonic()
        with socket.create_connection(server.server.socket.getsockname(), timeout=10) as s:
            s.sendall(request)
            reply = s.recv(65536)
            assert reply.split()[1] == status, reply
            assert b"Connection: close" in reply and _closed_by_server(s)
        assert time.monotonic() - started < 1
    app.release.set()
    server.stop()
    runner.join(10)


class _StalledPass(wasyncore.dispatcher):
    """Something in the main I/O loop whose handling takes until released: a pass slowed by a
    flood (thousands of connections, request threads holding the GIL) took up to 2.4 s."""

    def __init__(self, loop_map: dict) -> None:
        self.poke, theirs = socket.socketpair()
        super().__init__(theirs, map=loop_map)
        self.entered, self.release = threading.Event(), threading.Event()

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(1)
        self.entered.set()
        self.release.wait(60)


def test_the_probe_port_answers_while_a_pass_of_the_main_loop_is_stalled(make_server):
    """The probe listener has an I/O loop on a thread of its own, so a slow main loop holds no probe."""
    server, clients = make_server(probe=_healthz_probe, probe_sock=http.bind_socket("127.0.0.1", 0, backlog=16))
    stall = _StalledPass(server.map)
    runner = _serving(server)
    try:
        stall.poke.send(b"x")
        assert stall.entered.wait(10), "the main loop never ran"
        with socket.create_connection(server.probes.socket.getsockname(), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = s.recv(65536)  # a timeout here: the probe waited for the stalled main loop
        assert reply.split()[1] == b"200", reply
        assert not stall.release.is_set()
    finally:
        stall.release.set()
        server.stop()
        runner.join(10)
        stall.poke.close()


def test_workers_sharing_the_socket_take_one_connection_per_wake_up(make_server):
    """So that the kernel's wake-ups spread a burst of connections over the workers."""
    server, clients = make_server(workers=2)
    _connect(server, clients, 3)
    server.server.handle_accept()
    assert _connections(server) == 1


def test_a_request_arrives_when_the_kernel_received_it_not_when_the_server_read_it(make_server):
    """Deadlines count from arrival: time a request waited unread in its socket is counted."""
    seen: dict = {}

    def app(environ, start_response):
        seen.update(arrived=environ[ARRIVED_KEY], handled=time.time())
        return _hello(environ, start_response)

    server, clients = make_server(app)
    _connect(server, clients, 1)
    server.server.handle_accept()
    sent = time.time()
    clients[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)  # the main loop is not running: the request waits in the socket
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    clients[0].settimeout(10)
    assert _response(clients[0]).startswith(b"HTTP/1.1 200 OK")
    server.stop()
    runner.join(10)
    assert seen["handled"] - sent >= 0.3
    assert sent - 0.05 <= seen["arrived"] <= sent + 0.05


def test_the_transport_imports_no_falcon():
    """It serves any WSGI callable: the app layer sits on top of it, never under it."""
    code = "import sys, bento_server.transport; print('falcon' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
