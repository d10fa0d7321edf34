"""Every route of SPEC §6 against a real waitress server on 127.0.0.1."""
from __future__ import annotations

import gzip
import logging
from concurrent.futures import ThreadPoolExecutor

import requests

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
RECORDS = [dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], r)) for r in ROWS]


def test_predict_dataframe_records_and_values(iris_url, post_json):
    assert post_json(iris_url + "/predict", RECORDS).json() == [0, 2]
    r = post_json(iris_url + "/predict", ROWS)
    assert r.status_code == 200 and r.json() == [0, 2]
    assert r.headers["Content-Type"] == "application/json"


def test_predict_csv(iris_url):
    body = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    r = requests.post(iris_url + "/predict", data=body, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json() == [0, 2]


def test_gzip_body_is_decoded_before_the_adapter(iris_url):
    import json

    r = requests.post(iris_url + "/predict", data=gzip.compress(json.dumps(ROWS).encode()),
                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json() == [0, 2]


def test_non_batch_api(iris_url, post_json):
    assert post_json(iris_url + "/predict_single", ROWS).json() == [0, 2]


def test_concurrent_requests_of_many_rows_each_get_their_own_rows(iris_url, post_json):
    """Micro-batched together, every request still gets exactly its N results, in order."""
    bodies = [ROWS * (i % 4 + 1) for i in range(40)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: post_json(iris_url + "/predict", b).json(), bodies))
    assert answers == [[0, 2] * (i % 4 + 1) for i in range(40)]


def test_request_id_is_echoed_or_generated(iris_url, post_json):
    r = post_json(iris_url + "/predict", ROWS, headers={"X-Request-Id": "client-abc.123"})
    assert r.headers["X-Request-Id"] == "client-abc.123"
    generated = post_json(iris_url + "/predict", ROWS).headers["X-Request-Id"]
    assert len(generated) == 32
    insane = post_json(iris_url + "/predict", ROWS, headers={"X-Request-Id": "bad id\twith spaces"})
    assert insane.headers["X-Request-Id"] != "bad id\twith spaces"
    for path in ("/healthz", "/nope", "/metadata"):
        assert requests.get(iris_url + path).headers["X-Request-Id"]


def test_healthz_and_readyz(iris_url):
    assert requests.get(iris_url + "/healthz").status_code == 200
    assert requests.get(iris_url + "/readyz").json() == {"status": "ready"}


def test_metadata(iris_url):
    meta = requests.get(iris_url + "/metadata").json()
    assert meta["name"] == "SrvIrisStatic" and meta["version"]
    apis = {a["name"]: a for a in meta["apis"]}
    assert apis["predict"]["input"]["type"] == "DataframeInput" and apis["predict"]["batch"] is True
    assert apis["predict"]["mb_max_latency"] == 5000
    assert apis["predict_single"]["http_methods"] == ["POST"]
    assert meta["artifacts"] == [{"name": "model", "type": "SklearnModelArtifact", "metadata": {"accuracy": 0.97}}]


def test_docs_json_describes_each_adapter(iris_url):
    doc = requests.get(iris_url + "/docs.json").json()
    assert doc["openapi"].startswith("3.")
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv"} <= set(body)
    assert "/predict_single" in doc["paths"]


def test_swagger_ui_is_served_from_local_files(iris_url):
    page = requests.get(iris_url + "/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text and "/docs.json" in page.text
    assert "http" not in page.text.split("<body>")[1].replace("/docs.json", "")  # no CDN
    js = requests.get(iris_url + "/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert requests.get(iris_url + "/swagger-ui/swagger-ui.css").headers["Content-Type"] == "text/css"
    assert requests.get(iris_url + "/swagger-ui/..%2Fsecret").status_code == 404


def test_swagger_ui_at_root_without_static_content(quirks_url):
    assert "SwaggerUIBundle" in requests.get(quirks_url + "/").text


def test_web_static_content(iris_url):
    assert requests.get(iris_url + "/").text == "<html><body>iris ui</body></html>"
    assert requests.get(iris_url + "/app.js").text == "console.log('iris');"
    assert requests.get(iris_url + "/../conftest.py").status_code == 404


def test_metrics(iris_url, post_json):
    post_json(iris_url + "/predict", ROWS)
    text = requests.get(iris_url + "/metrics").text
    assert 'bento_requests_total{api="predict",status="200"}' in text
    for name in ("bento_request_duration_seconds_bucket", "bento_requests_in_flight", "bento_batch_size_bucket",
                 "bento_queue_wait_seconds_bucket", "bento_queue_depth", "bento_batch_duration_seconds_bucket"):
        assert name in text, name


def test_feedback_is_logged(iris_url, post_json, caplog):
    with caplog.at_level(logging.INFO, logger="bento.feedback"):
        r = post_json(iris_url + "/feedback", {"request_id": "abc", "label": 2})
    assert r.status_code == 200 and r.json()["request_id"] == "abc"
    assert any('"request_id":"abc"' in rec.getMessage() for rec in caplog.records)
    bad = post_json(iris_url + "/feedback", {"label": 2})
    assert bad.status_code == 400 and "request_id" in bad.json()["error"]
    assert requests.post(iris_url + "/feedback", data=b"{nope").status_code == 400


def test_per_item_status_and_headers(quirks_url, post_json):
    r = post_json(quirks_url + "/status", 1)
    assert r.status_code == 201 and r.json() == {"ok": 1} and r.headers["X-Custom"] == "yes"
    bad = post_json(quirks_url + "/status", "bad")
    assert bad.status_code == 422 and bad.json()["error"] == "item is bad"
    assert bad.json()["request_id"] == bad.headers["X-Request-Id"]


def test_hook_start_dev_server_through_the_service(iris_service, post_json):
    """BentoService.start_dev_server() reaches this plugin through the hook."""
    handle = iris_service.start_dev_server(port=0)
    try:
        assert handle.url.startswith("http://127.0.0.1:")
        assert post_json(handle.url + "/predict", ROWS).json() == [0, 2]
    finally:
        iris_service.stop_dev_server()
    try:
        requests.get(handle.url + "/healthz", timeout=1)
        raise AssertionError("server still answers after stop")
    except requests.ConnectionError:
        pass
