"""Clients that cannot take the server or its probes down, on every engine: floods of idle and
half-sent connections, clients that never read their answers, SIGTERM while connections wait in
the kernel's queue. Real `bento serve` processes on 127.0.0.1, bounded loops. waitress meets the
first two with the "stays up" issue (16); until then its runs are expected failures."""
from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
import requests

ROWS = b"[[5.1, 3.5, 1.4, 0.2]]"


@pytest.fixture
def hostile(engine, request):
    """The engine under test; waitress' runs are expected to fail before issue 16."""
    if engine == "waitress":
        request.applymarker(pytest.mark.xfail(reason="waitress stays up with issue 16", strict=False))
    return engine


def _probe_seconds(url: str) -> float:
    """How long /healthz and then /readyz take to answer 200, on new connections."""
    started = time.monotonic()
    for path in ("/healthz", "/readyz"):
        assert requests.get(url + path, timeout=5, headers={"Connection": "close"}).status_code == 200
    return time.monotonic() - started


def _connect(port: int, count: int, first_bytes: bytes = b"") -> list:
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        if first_bytes:
            conn.sendall(first_bytes)
        conns.append(conn)
    return conns


def _close(conns: list) -> None:
    for conn in conns:
        conn.close()


def _established(port: int) -> int:
    """Server-side ESTABLISHED TCP connections on `port` (from /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if int(r[1].split(":")[1], 16) == port and r[3] == "01")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def _tree(pid: int) -> list:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [pid] + [p for child in f.read().split() for p in _tree(int(child))]


@pytest.mark.parametrize("workers", [1, 2])
def test_probes_answer_within_a_second_while_2000_idle_and_half_sent_connections_are_open(
        hostile, serve_process, iris_bundle, workers):
    p = serve_process([iris_bundle, "--workers", str(workers)]).wait_ready()
    conns = []
    try:
        conns += _connect(p.port, 1000)
        conns += _connect(p.port, 1000, b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        slowest = max(_probe_seconds(p.url) for _ in range(5))
        assert slowest < 1.0, f"probes took {slowest:.2f} s with 2,000 idle connections open"
        r = requests.post(p.url + "/predict", data=ROWS, headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 200 and r.json() == [0]
    finally:
        _close(conns)


def test_clients_that_never_read_cost_a_bounded_buffer_and_lose_their_connection(
        hostile, serve_process, iris_bundle):
    """300 connections each pipeline 18 requests for the 1.4 MB Swagger bundle and never read:
    probes still answer, the server's memory grows by a bounded amount (no spill to disk), and
    after channel_timeout the server closes them."""
    p = serve_process([iris_bundle], env={"BENTO_SERVER_CHANNEL_TIMEOUT": "2"}).wait_ready()
    (pid,) = _tree(p.proc.pid)
    before = _rss_kb(pid)
    request = b"GET /swagger-ui/swagger-ui-bundle.js HTTP/1.1\r\nHost: x\r\n\r\n" * 18
    conns = []
    try:
        for conn in _connect(p.port, 300):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.sendall(request)
            conns.append(conn)
        peak = before
        deadline = time.monotonic() + 30
        while _established(p.port) > 0:
            assert time.monotonic() < deadline, f"{_established(p.port)} never-reading connections still open"
            assert _probe_seconds(p.url) < 1.0
            peak = max(peak, _rss_kb(pid))
            time.sleep(0.2)
        assert peak - before < 150_000, f"RSS grew by {(peak - before) // 1024} MB"
    finally:
        _close(conns)


def test_sigterm_answers_every_connection_the_kernel_accepted(serve_process, quirks_bundle):
    """500 clients connect and send at once, SIGTERM follows at once: each gets an answer (200,
    or 503 with Connection: close), none a reset."""
    p = serve_process([quirks_bundle]).wait_ready()
    body = b"1"
    request = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
               % (len(body), body))
    conns = _connect(p.port, 500)
    answers: list = []

    def read(conn):
        try:
            data = conn.recv(4096)
            answers.append(data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1 ") else f"empty {data!r}")
        except OSError as e:
            answers.append(f"{type(e).__name__}")

    try:
        for conn in conns:
            conn.sendall(request)
        p.proc.send_signal(signal.SIGTERM)
        readers = [threading.Thread(target=read, args=(c,)) for c in conns]
        for t in readers:
            t.start()
        for t in readers:
            t.join(30)
        assert p.proc.wait(30) == 0
        assert sorted(set(map(str, answers))) <= ["b'200'", "b'503'"], answers
        assert len(answers) == 500
    finally:
        _close(conns)
