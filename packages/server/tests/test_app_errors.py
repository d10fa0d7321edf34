"""Bad input and misbehaving user code, each answered in the server's JSON error shape by the
Falcon app in this process (falcon.testing, no socket)."""
from __future__ import annotations

import gzip
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROWS = [[5.1, 3.5, 1.4, 0.2]]
LIMIT = 4096
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def client(iris_service, app_client):
    """SrvIris with a small body limit."""
    with app_client(iris_service, max_request_size=LIMIT) as client:
        yield client


def post(client, path: str, body, ctype: str = "application/json", **headers):
    return client.simulate_post(path, body=body, headers={"Content-Type": ctype, **headers})


def test_malformed_json(client, assert_error):
    assert_error(post(client, "/predict", b"[[5.1, 3.5,"), 400, "JSON")


def test_malformed_csv(client, assert_error):
    body = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5\n1,2,3,4,5,6\n"
    assert_error(post(client, "/predict", body, "text/csv"), 400)


def test_csv_with_a_bare_carriage_return(client, assert_error):
    assert_error(post(client, "/predict", "a\rb,c\n1,2\n", "text/csv"), 400)


def test_wrong_shape(client, assert_error):
    assert_error(post(client, "/predict", json.dumps([[1.0, 2.0, 3.0]])), 400, "4 columns")


def test_records_with_a_missing_column(client, assert_error):
    full = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    partial = {k: v for k, v in full.items() if k != "petal_width"}
    assert_error(post(client, "/predict", json.dumps([full, partial])), 400, "record 1 has the keys")


def test_wrong_dtype(client, assert_error):
    assert_error(post(client, "/predict", json.dumps([["a", "b", "c", "d"]])), 400)


def test_empty_body(client, assert_error):
    assert_error(post(client, "/predict", b""), 400)
    assert_error(post(client, "/predict_single", b""), 400)


def test_body_over_the_limit(client, assert_error):
    """The app's own bound, behind the transport's (which refuses before buffering: test_http_server)."""
    assert_error(post(client, "/predict", b"[" + b" " * LIMIT + b"]"), 413, "exceeds")


def test_unsupported_content_type(client, assert_error):
    assert_error(post(client, "/predict", b"\x89PNG", "image/png"), 415, "image/png")


def test_unsupported_content_encoding(client, assert_error):
    assert_error(post(client, "/predict", b"xx", **{"Content-Encoding": "br"}), 415, "br")


def test_gzip_bomb(client, assert_error):
    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]", 9)
    assert len(bomb) < LIMIT
    assert_error(post(client, "/predict", bomb, **{"Content-Encoding": "gzip"}), 413, "gzip")


def test_not_gzip(client, assert_error):
    assert_error(post(client, "/predict", b"[[1,2,3,4]]", **{"Content-Encoding": "gzip"}), 400, "gzip")
    truncated = gzip.compress(json.dumps(ROWS).encode())[:-12]
    assert_error(post(client, "/predict", truncated, **{"Content-Encoding": "gzip"}), 400, "gzip")


def test_deep_json_nesting(client, iris_client, assert_error):
    assert_error(post(client, "/predict", DEEP), 413)  # 200 kB: over this app's limit
    assert_error(post(iris_client, "/predict", DEEP), 400)
    assert_error(post(iris_client, "/predict_single", DEEP), 400)


def test_deep_json_nesting_rejected_by_json_input(quirks_client, assert_error):
    assert_error(post(quirks_client, "/echo", DEEP), 400, "JSON")


def test_huge_integer_literal(client, quirks_client, assert_error):
    assert_error(post(client, "/predict", b"[[" + b"9" * 3000 + b", 1, 2, 3]]"), 400)
    assert_error(post(quirks_client, "/echo", b"9" * 3000), 400)


def test_nan_and_infinity(client, quirks_client, assert_error):
    assert_error(post(client, "/predict", b"[[NaN, 3.5, 1.4, 0.2]]"), 400)
    assert_error(post(client, "/predict_single", b"[[1e999, 3.5, 1.4, 0.2]]"), 400)
    assert_error(post(quirks_client, "/echo", b"Infinity"), 400)


def test_wrong_method(client, assert_error):
    assert_error(client.simulate_get("/predict"), 405, "GET", "POST")
    assert_error(client.simulate_put("/healthz"), 405)


def test_unknown_route(client, assert_error):
    assert_error(client.simulate_post("/nope", body=b"{}"), 404, "/nope")


def test_an_unexpected_error_in_a_route_is_a_json_500(quirks_service, app_client, interface, assert_error):
    from bento_server.asgi import AsyncView

    class Broken:
        def on_get(self, req, resp):
            raise RuntimeError("secret detail")

    with app_client(quirks_service) as client:
        falcon_app = client.app.falcon if interface == "asgi" else client.app  # beside the inference routes
        falcon_app.add_route("/broken", AsyncView(Broken()) if interface == "asgi" else Broken())
        message = assert_error(client.simulate_get("/broken"), 500, "internal server error")
    assert "secret" not in message


def test_a_raising_item_fails_only_its_own_response(quirks_service, app_client, assert_error):
    """One request makes the batch function raise; the requests batched with it still succeed."""
    # An app of its own with a generous timeout: the 0.4 s blocker teaches the latency model
    # that a batch is slow, and under the shared app's 1.5 s timeout it would (rightly) shed
    # the queued requests with 503 before computing them.
    with app_client(quirks_service, timeout=30, refusal_delay=0) as client:
        blocker = threading.Thread(target=client.simulate_post, args=("/echo",), kwargs={"json": {"sleep": 0.4}})
        blocker.start()
        time.sleep(0.1)  # the runner is busy: what follows queues into one batch
        items = [1, 2, "boom", 3, 4, 5]
        with ThreadPoolExecutor(len(items)) as pool:
            replies = list(pool.map(lambda i: client.simulate_post("/echo", json=i), items))
        blocker.join()
        for item, r in zip(items, replies):
            if item == "boom":
                assert_error(r, 500, "ValueError")
            else:
                assert r.status_code == 200 and r.json == item
        metrics = client.simulate_get("/metrics").text
    batched = [line for line in metrics.splitlines() if line.startswith('bento_batch_size_bucket{api="echo",le="1.0"}')]
    total = [line for line in metrics.splitlines() if line.startswith('bento_batch_size_count{api="echo"}')]
    assert float(batched[0].split()[-1]) < float(total[0].split()[-1])  # some batch held more than one


def test_a_hanging_function_answers_504_at_the_timeout(quirks_client, assert_error):
    started = time.monotonic()
    assert_error(quirks_client.simulate_post("/hang", json=4), 504, "timeout")
    assert 1.2 < time.monotonic() - started < 3
    queued = quirks_client.simulate_post("/hang", json=0)  # behind the hung call: refused, never computed
    assert_error(queued, 503)
    assert queued.headers["Retry-After"] == "1"
    assert quirks_client.simulate_post("/echo", json=7).json == 7  # other APIs are unaffected
