"""Bad input, misbehaving user code and hostile clients, each against a real server on 127.0.0.1."""
from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

ROWS = [[5.1, 3.5, 1.4, 0.2]]
LIMIT = 4096


@pytest.fixture(scope="module")
def url(iris_service, dev_server):
    with dev_server(iris_service, max_request_size=LIMIT, channel_timeout=1.0) as url:
        yield url


def post(url, body, ctype="application/json", **headers):
    return requests.post(url, data=body, headers={"Content-Type": ctype, **headers}, timeout=30)


def assert_error(r, status, *words):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["request_id"] == r.headers["X-Request-Id"]
    for word in words:
        assert word in body["error"], body["error"]
    assert "Traceback" not in body["error"]
    return body["error"]


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


def test_malformed_json(url):
    assert_error(post(url + "/predict", b"[[5.1, 3.5,"), 400, "JSON")


def test_malformed_csv(url):
    body = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5\n1,2,3,4,5,6\n"
    assert_error(post(url + "/predict", body, "text/csv"), 400)


def test_wrong_shape(url):
    assert_error(post(url + "/predict", json.dumps([[1.0, 2.0, 3.0]])), 400, "4 columns")


def test_records_with_a_missing_column(url):
    full = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    partial = {k: v for k, v in full.items() if k != "petal_width"}
    assert_error(post(url + "/predict", json.dumps([full, partial])), 400, "record 1 has the keys")


def test_wrong_dtype(url):
    assert_error(post(url + "/predict", json.dumps([["a", "b", "c", "d"]])), 400)


def test_empty_body(url):
    assert_error(post(url + "/predict", b""), 400)
    assert_error(post(url + "/predict_single", b""), 400)


def test_body_over_the_limit_with_content_length(url):
    assert_error(post(url + "/predict", b"[" + b" " * LIMIT + b"]"), 413, "exceeds")


def test_body_over_the_limit_chunked(url):
    def chunks():
        for _ in range(10):
            yield b" " * 1000

    assert_error(requests.post(url + "/predict", data=chunks(), headers={"Content-Type": "application/json"}),
                 413, "exceeds")


def test_chunked_body_within_the_limit_is_served(url):
    def chunks():
        yield b"[[5.1, 3.5,"
        yield b" 1.4, 0.2]]"

    r = requests.post(url + "/predict", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == [0]


def test_content_length_larger_than_the_body_times_out_the_connection(url):
    """The server waits for bytes that never come, then closes the connection (channel_timeout);
    meanwhile everything else is served."""
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
    assert done["reply"] == b"" and done["after"] < 10


def test_content_length_smaller_than_the_body(url):
    """The first request gets its answer; the rest of the bytes are a malformed next request."""
    body = json.dumps(ROWS).encode()
    reply = raw(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%sGARBAGE GARBAGE\r\n\r\n" % (len(body), body), timeout=5)
    first, second = reply.split(b"HTTP/1.", 2)[1:]
    assert first.startswith(b"1 200") and first.endswith(b"[0]")
    assert second[2:3] == b"4" and b"application/json" in second and b'"request_id"' in second


def test_unsupported_content_type(url):
    assert_error(post(url + "/predict", b"\x89PNG", "image/png"), 415, "image/png")


def test_unsupported_content_encoding(url):
    assert_error(post(url + "/predict", b"xx", **{"Content-Encoding": "br"}), 415, "br")


def test_gzip_bomb(url):
    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]", 9)
    assert len(bomb) < LIMIT
    assert_error(post(url + "/predict", bomb, **{"Content-Encoding": "gzip"}), 413, "gzip")


def test_not_gzip(url):
    assert_error(post(url + "/predict", b"[[1,2,3,4]]", **{"Content-Encoding": "gzip"}), 400, "gzip")
    truncated = gzip.compress(json.dumps(ROWS).encode())[:-12]
    assert_error(post(url + "/predict", truncated, **{"Content-Encoding": "gzip"}), 400, "gzip")


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deep_json_nesting(url, iris_url):
    assert_error(post(url + "/predict", DEEP), 413)  # 200 kB: over this server's limit
    assert_error(post(iris_url + "/predict", DEEP), 400)
    assert_error(post(iris_url + "/predict_single", DEEP), 400)


def test_deep_json_nesting_rejected_by_json_input(quirks_url):
    assert_error(post(quirks_url + "/echo", DEEP), 400, "JSON")


def test_huge_integer_literal(url, quirks_url):
    huge = b"[[" + b"9" * 3000 + b", 1, 2, 3]]"
    assert_error(post(url + "/predict", huge), 400)
    assert_error(post(quirks_url + "/echo", b"9" * 3000), 400)


def test_nan_and_infinity(url, quirks_url):
    assert_error(post(url + "/predict", b"[[NaN, 3.5, 1.4, 0.2]]"), 400)
    assert_error(post(url + "/predict_single", b"[[1e999, 3.5, 1.4, 0.2]]"), 400)
    assert_error(post(quirks_url + "/echo", b"Infinity"), 400)


def test_wrong_method(url):
    assert_error(requests.get(url + "/predict"), 405, "GET", "POST")
    assert_error(requests.put(url + "/healthz"), 405)


def test_unknown_route(url):
    assert_error(requests.post(url + "/nope", data=b"{}"), 404, "/nope")


def test_malformed_http_gets_json_400(url):
    reply = raw(url, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n", timeout=5)
    assert reply.startswith(b"HTTP/1.1 400") and b"application/json" in reply and b'"error"' in reply


def test_a_raising_item_fails_only_its_own_response(quirks_service, dev_server, post_json):
    """One request makes the batch function raise; the requests batched with it still succeed."""
    # A server of its own with a generous timeout: the 0.4 s blocker teaches the latency model
    # that a batch is slow, and under the shared server's 1.5 s timeout it would (rightly) shed
    # the queued requests with 503 before computing them.
    with dev_server(quirks_service, timeout=30, refusal_delay=0) as quirks_url:
        _raising_item_in_a_batch(quirks_url, post_json)


def _raising_item_in_a_batch(quirks_url, post_json):
    url = quirks_url + "/echo"
    blocker = threading.Thread(target=post_json, args=(url, {"sleep": 0.4}))
    blocker.start()
    time.sleep(0.1)  # the runner is busy: what follows queues into one batch
    items = [1, 2, "boom", 3, 4, 5]
    with ThreadPoolExecutor(len(items)) as pool:
        replies = list(pool.map(lambda i: post_json(url, i), items))
    blocker.join()
    for item, r in zip(items, replies):
        if item == "boom":
            assert_error(r, 500, "ValueError")
        else:
            assert r.status_code == 200 and r.json() == item
    metrics = requests.get(quirks_url + "/metrics").text
    batched = [line for line in metrics.splitlines() if line.startswith('bento_batch_size_bucket{api="echo",le="1.0"}')]
    total = [line for line in metrics.splitlines() if line.startswith('bento_batch_size_count{api="echo"}')]
    assert float(batched[0].split()[-1]) < float(total[0].split()[-1])  # some batch held more than one


def test_a_hanging_function_answers_504_at_the_timeout(quirks_url, post_json):
    started = time.monotonic()
    r = post_json(quirks_url + "/hang", 4)
    assert_error(r, 504, "timeout")
    assert 1.2 < time.monotonic() - started < 3
    queued = post_json(quirks_url + "/hang", 0)  # behind the hung call: refused, never computed
    assert_error(queued, 503)
    assert queued.headers["Retry-After"] == "1"
    assert post_json(quirks_url + "/echo", 7).json() == 7  # other APIs are unaffected


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
        # channel_timeout=1 s: the trickling connections are closed although they never went idle
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
