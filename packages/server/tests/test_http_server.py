"""What only a real server on 127.0.0.1 shows: concurrent clients, body limits on the wire,
malformed HTTP, clients that lie, trickle or leave, and the dev server's start and stop, on
every installed HTTP engine."""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

ROWS = [[5.1, 3.5, 1.4, 0.2]]
TWO_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
LIMIT = 4096


@pytest.fixture(scope="module")
def url(iris_service, dev_server):
    """SrvIris with a 4 KiB body limit and 1 s idle and header timeouts."""
    with dev_server(iris_service, max_request_size=LIMIT, idle_timeout=1.0, header_timeout=1.0) as url:
        yield url


def post(url, body, ctype="application/json", **headers):
    return requests.post(url, data=body, headers={"Content-Type": ctype, **headers}, timeout=30)


def raw(url: str, payload: bytes, read: bool = True, timeout: float = 10) -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(payload)
        if not read:
            return b""
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def test_concurrent_requests_of_many_rows_each_get_their_own_rows(iris_url, post_json):
    """Micro-batched together, every request still gets exactly its N results, in order."""
    bodies = [TWO_ROWS * (i % 4 + 1) for i in range(40)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: post_json(iris_url + "/predict", b).json(), bodies))
    assert answers == [[0, 2] * (i % 4 + 1) for i in range(40)]


def test_hook_start_dev_server_through_the_service(iris_service, post_json):
    """BentoService.start_dev_server() reaches this plugin through the hook."""
    handle = iris_service.start_dev_server(port=0)
    try:
        assert handle.url.startswith("http://127.0.0.1:")
        assert post_json(handle.url + "/predict", TWO_ROWS).json() == [0, 2]
    finally:
        iris_service.stop_dev_server()
    try:
        requests.get(handle.url + "/healthz", timeout=1)
        raise AssertionError("server still answers after stop")
    except requests.ConnectionError:
        pass


def test_body_over_the_limit_with_content_length(url, assert_error):
    """Refused before the body is buffered (waitress' max_body; granian: the engine's guard)."""
    assert_error(post(url + "/predict", b"[" + b" " * LIMIT + b"]"), 413, "exceeds", str(LIMIT))


def test_body_over_the_limit_chunked(url, assert_error):
    def chunks():
        for _ in range(10):
            yield b" " * 1000

    assert_error(requests.post(url + "/predict", data=chunks(), headers={"Content-Type": "application/json"}),
                 413, "exceeds", str(LIMIT))


def test_chunked_body_within_the_limit_is_served(url):
    def chunks():
        yield b"[[5.1, 3.5,"
        yield b" 1.4, 0.2]]"

    r = requests.post(url + "/predict", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == [0]


def test_content_length_larger_than_the_body_times_out_the_connection(url, engine):
    """The server waits for bytes that never come, then closes the connection (idle_timeout;
    granian first answers 408); meanwhile everything else is served."""
    started = time.monotonic()
    done = {}

    def liar():
        done["reply"] = raw(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n[[5.1", timeout=15)
        done["after"] = time.monotonic() - started

    t = threading.Thread(target=liar)
    t.start()
    assert requests.get(url + "/healthz", timeout=30).status_code == 200
    assert post(url + "/predict", json.dumps(ROWS)).status_code == 200
    t.join(20)
    assert done["after"] < 10
    if engine == "waitress":
        assert done["reply"] == b""
    else:
        assert done["reply"].startswith(b"HTTP/1.1 408") and b'"request_id"' in done["reply"]


def test_content_length_smaller_than_the_body(url, engine):
    """The first request gets its answer; the rest of the bytes are a malformed next request
    (a 400: JSON from waitress, granian's own plain one)."""
    body = json.dumps(ROWS).encode()
    reply = raw(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%sGARBAGE GARBAGE\r\n\r\n" % (len(body), body), timeout=5)
    first, second = reply.split(b"HTTP/1.", 2)[1:]
    assert first.startswith(b"1 200") and first.endswith(b"[0]")
    assert second[2:3] == b"4"
    if engine == "waitress":
        assert b"application/json" in second and b'"request_id"' in second


def test_malformed_http_gets_400(url, engine):
    """A JSON error from waitress; granian answers malformed HTTP itself, before any Python runs."""
    reply = raw(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n", timeout=5)
    assert reply.startswith(b"HTTP/1.1 400")
    if engine == "waitress":
        assert b"application/json" in reply and b'"error"' in reply


def test_client_that_disconnects_mid_batch(quirks_url, post_json):
    url = quirks_url + "/echo"
    blocker = threading.Thread(target=post_json, args=(url, {"sleep": 0.5}))
    blocker.start()
    time.sleep(0.1)
    body = b"123"
    host, port = quirks_url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.15)  # queued behind the blocker by now; then the client goes away unanswered
    blocker.join()
    assert post_json(url, 8).json() == 8
    metrics = requests.get(quirks_url + "/metrics").text
    assert 'bento_rejections_total{api="echo",reason="disconnected"} 1.0' in metrics


def test_slowloris_connections_do_not_stop_healthz(url):
    host, port = url.split("//")[1].split(":")
    socks = []
    for _ in range(40):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    try:
        for _ in range(6):  # a header line every 0.4 s keeps the channel "active"
            started = time.monotonic()
            assert requests.get(url + "/healthz", timeout=2).status_code == 200
            assert time.monotonic() - started < 0.5
            for s in socks:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(0.4)
        # header_timeout=1 s: the trickling connections are closed although they never went idle
        closed = 0
        for s in socks:
            s.settimeout(2)
            try:
                closed += s.recv(1) == b""
            except (ConnectionResetError, socket.timeout):
                closed += 1
        assert closed == len(socks)
    finally:
        for s in socks:
            s.close()
