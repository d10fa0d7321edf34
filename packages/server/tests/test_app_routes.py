"""Every route of SPEC §6, served by the Falcon app in this process (falcon.testing, no socket)."""
from __future__ import annotations

import gzip
import json
import logging
import threading
import time

from bento_server.app import BentoApp, ServingState, loading_app
from bento_server.arrival import ARRIVED_KEY
from bento_server.config import BatchingConfig, ServerConfig
from falcon.testing import TestClient

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
RECORDS = [dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], r)) for r in ROWS]


def test_predict_dataframe_records_and_values(iris_client):
    assert iris_client.simulate_post("/predict", json=RECORDS).json == [0, 2]
    r = iris_client.simulate_post("/predict", json=ROWS)
    assert r.status_code == 200 and r.json == [0, 2]
    assert r.headers["Content-Type"] == "application/json"


def test_predict_csv(iris_client):
    body = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    r = iris_client.simulate_post("/predict", body=body, content_type="text/csv")
    assert r.status_code == 200 and r.json == [0, 2]


def test_gzip_body_is_decoded_before_the_adapter(iris_client):
    r = iris_client.simulate_post("/predict", body=gzip.compress(json.dumps(ROWS).encode()),
                                  headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json == [0, 2]


def test_non_batch_api(iris_client):
    assert iris_client.simulate_post("/predict_single", json=ROWS).json == [0, 2]


def test_per_item_status_and_headers(quirks_client, assert_error):
    r = quirks_client.simulate_post("/status", json=1)
    assert r.status_code == 201 and r.json == {"ok": 1} and r.headers["X-Custom"] == "yes"
    assert_error(quirks_client.simulate_post("/status", json="bad"), 422, "item is bad")


def test_request_id_is_echoed_or_generated(iris_client):
    r = iris_client.simulate_post("/predict", json=ROWS, headers={"X-Request-Id": "client-abc.123"})
    assert r.headers["X-Request-Id"] == "client-abc.123"
    generated = iris_client.simulate_post("/predict", json=ROWS).headers["X-Request-Id"]
    assert len(generated) == 32
    insane = iris_client.simulate_post("/predict", json=ROWS, headers={"X-Request-Id": "bad id\twith spaces"})
    assert insane.headers["X-Request-Id"] != "bad id\twith spaces"
    for path in ("/healthz", "/nope", "/metadata"):
        assert iris_client.simulate_get(path).headers["X-Request-Id"]


def test_a_request_past_its_deadline_since_arrival_is_refused_while_the_model_has_other_work(
        app_client, quirks_service, assert_error):
    """Deadlines count from the arrival time the transport puts in the environ, not from when
    the app sees the request: one that arrived longer ago than the API's latency bound (10 s for
    /echo) is 503 while the model is busy; an idle model serves it (late beats never)."""
    with app_client(quirks_service, timeout=60, refusal_delay=0) as client:
        busy = threading.Thread(target=client.simulate_post, args=("/echo",), kwargs={"json": {"sleep": 1.0}})
        busy.start()
        late = {ARRIVED_KEY: time.time() - 20}
        try:
            deadline = time.monotonic() + 30
            while 'bento_queue_wait_seconds_count{api="echo"} 1.0' not in client.simulate_get("/metrics").text:
                assert time.monotonic() < deadline, "the sleeping request never reached the model"
                time.sleep(0.01)
            refused = client.simulate_post("/echo", json="late", extras=late)
            assert_error(refused, 503, "latency bound")
            assert refused.headers["Retry-After"] == "1"
        finally:
            busy.join()
        assert client.simulate_post("/echo", json="late", extras=late).json == "late"
        assert client.simulate_post("/echo", json="fresh", extras={ARRIVED_KEY: time.time()}).json == "fresh"


def test_healthz_and_readyz(iris_client):
    assert iris_client.simulate_get("/healthz").json == {"status": "ok"}
    assert iris_client.simulate_get("/readyz").json == {"status": "ready"}


def test_while_loading_only_healthz_answers(interface, assert_error):
    client = TestClient(loading_app(interface))
    assert client.simulate_get("/healthz").status_code == 200
    for r in (client.simulate_get("/readyz"), client.simulate_post("/predict", json=ROWS)):
        assert_error(r, 503, "loading")
        assert r.headers["Retry-After"] == "1"


def test_readyz_is_503_while_draining(quirks_service, interface, assert_error):
    state = ServingState()
    app = BentoApp(quirks_service, ServerConfig(), BatchingConfig(), state)
    try:
        client = TestClient(app.serving(interface))
        assert client.simulate_get("/readyz").status_code == 200
        state.draining = True
        assert_error(client.simulate_get("/readyz"), 503, "draining")
        assert client.simulate_get("/healthz").status_code == 200
    finally:
        app.close()


def test_metadata(iris_client):
    meta = iris_client.simulate_get("/metadata").json
    assert meta["name"] == "SrvIrisStatic" and meta["version"]
    apis = {a["name"]: a for a in meta["apis"]}
    assert apis["predict"]["input"]["type"] == "DataframeInput" and apis["predict"]["batch"] is True
    assert apis["predict"]["mb_max_latency"] == 5000
    assert apis["predict_single"]["http_methods"] == ["POST"]
    assert meta["artifacts"] == [{"name": "model", "type": "SklearnModelArtifact", "metadata": {"accuracy": 0.97}}]


def test_docs_json_describes_each_adapter(iris_client):
    doc = iris_client.simulate_get("/docs.json").json
    assert doc["openapi"].startswith("3.")
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv"} <= set(body)
    assert "/predict_single" in doc["paths"]


def test_swagger_ui_is_served_from_local_files(iris_client):
    page = iris_client.simulate_get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text and "/docs.json" in page.text
    assert "http" not in page.text.split("<body>")[1].replace("/docs.json", "")  # no CDN
    js = iris_client.simulate_get("/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert iris_client.simulate_get("/swagger-ui/swagger-ui.css").headers["Content-Type"] == "text/css"
    assert iris_client.simulate_get("/swagger-ui/..%2Fsecret").status_code == 404


def test_swagger_ui_at_root_without_static_content(quirks_client):
    assert "SwaggerUIBundle" in quirks_client.simulate_get("/").text


def test_web_static_content(iris_client):
    assert iris_client.simulate_get("/").text == "<html><body>iris ui</body></html>"
    assert iris_client.simulate_get("/app.js").text == "console.log('iris');"
    assert iris_client.simulate_get("/../conftest.py").status_code == 404


def test_metrics(iris_client):
    iris_client.simulate_post("/predict", json=ROWS)
    text = iris_client.simulate_get("/metrics").text
    assert 'bento_requests_total{api="predict",status="200"}' in text
    for name in ("bento_request_duration_seconds_bucket", "bento_requests_in_flight", "bento_batch_size_bucket",
                 "bento_queue_wait_seconds_bucket", "bento_queue_depth", "bento_batch_duration_seconds_bucket"):
        assert name in text, name


def test_feedback_is_logged(iris_client, assert_error, caplog):
    with caplog.at_level(logging.INFO, logger="bento.feedback"):
        r = iris_client.simulate_post("/feedback", json={"request_id": "abc", "label": 2})
    assert r.status_code == 200 and r.json["request_id"] == "abc"
    assert any('"request_id":"abc"' in rec.getMessage() for rec in caplog.records)
    assert_error(iris_client.simulate_post("/feedback", json={"label": 2}), 400, "request_id")
    assert_error(iris_client.simulate_post("/feedback", body=b"{nope"), 400, "JSON")
