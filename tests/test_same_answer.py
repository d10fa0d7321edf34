"""The promise a model server exists to keep: a request's answer depends on nothing but the
request. Random mixes of valid and invalid requests of every input kind are sent at once to a
real `bento serve` (so they share batches), then one by one; every status and body must match,
on every installed HTTP engine. `bento run` over a file holding the same JSON items, and a
direct call, must agree too."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from bento.plugins import get_plugin_manager
from bento_e2e import BIN, form, wait_ready
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bento_deploy.process import free_port
from bento_server.engine import http_engines

JSON_CT = {"Content-Type": "application/json"}
CSV_CT = {"Content-Type": "text/csv"}
TEXT_CT = {"Content-Type": "text/plain; charset=utf-8"}

scalars = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(
    lambda f: round(f, 3)), st.sampled_from(["x", "y", "boom", ""]), st.booleans(), st.none())
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.sampled_from("pq"), inner, max_size=2)),
                           max_leaves=6)


@st.composite
def frame_requests(draw) -> tuple:
    """(api, body, headers) of a DataframeInput request: records, values, columns or CSV, with
    columns a/b in either order (or a third), values of mixed types, sometimes malformed."""
    api = draw(st.sampled_from(["frame", "declared"]))
    columns = draw(st.sampled_from([["a", "b"], ["b", "a"], ["a", "b", "c"], ["a"]]))
    rows = draw(st.lists(st.lists(scalars, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["records", "values", "columns", "csv", "broken"]))
    if kind == "records":
        body = json.dumps([dict(zip(columns, r)) for r in rows])
    elif kind == "values":
        body = json.dumps(rows)
    elif kind == "columns":
        body = json.dumps({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    elif kind == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
        return api, text.getvalue().encode(), CSV_CT
    else:
        body = draw(st.sampled_from(['[{"a": 1}, {"b": 2}]', "[[1, 2], [3]]", "{", "[]", '"x"']))
    return api, body.encode(), JSON_CT


json_requests = st.one_of(
    json_values.map(lambda v: ("json", json.dumps(v).encode(), JSON_CT)),
    st.sampled_from([("json", b"{nope", JSON_CT), ("json", b"", JSON_CT)]))
text_requests = st.one_of(
    st.text(alphabet="abc boom\u00e9", max_size=8).map(lambda t: ("text", t.encode(), TEXT_CT)),
    st.just(("text", b"\xff\xfe", TEXT_CT)))
file_requests = st.binary(max_size=16).map(lambda b: ("file", *form(("file", "f.bin", None, b)).values()))
any_request = st.one_of(frame_requests(), json_requests, text_requests, file_requests)


@pytest.fixture(scope="module")
def same_answer_bundle(tmp_path_factory) -> str:
    from same_answer_service import SameAnswer

    return SameAnswer().save_to_dir(str(tmp_path_factory.mktemp("same") / "SameAnswer"))


@pytest.fixture(scope="module", params=sorted(http_engines(get_plugin_manager())))
def same_answer_url(same_answer_bundle, tmp_path_factory, request):
    """SameAnswer served by a real `bento serve` on each installed engine (one worker, so
    requests sent at once share batches)."""
    bundle = same_answer_bundle
    port = free_port()
    proc = subprocess.Popen([str(BIN / "bento"), "serve", bundle, "--port", str(port), "--mb-max-latency", "60000",
                             "--engine", request.param],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "BENTO_HOME": str(tmp_path_factory.mktemp("home"))})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, 120, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _answer(url: str, request: tuple) -> tuple:
    api, body, headers = request
    r = requests.post(f"{url}/{api}", data=body, headers=headers, timeout=120)
    value = r.json()
    if isinstance(value, dict) and "request_id" in value:
        value = {k: v for k, v in value.items() if k != "request_id"}
    return r.status_code, value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(st.lists(any_request, min_size=2, max_size=10))
@example([("frame", b'[{"a": 1, "b": 2}]', JSON_CT), ("frame", b"[[1, 2]]", JSON_CT)])  # other orients
@example([("frame", b"test\n \nx\n", CSV_CT), ("frame", b'[{"test": "y"}]', JSON_CT)])  # a blank CSV row
@example([("frame", b'[{"a": 1, "b": 2}]', JSON_CT), ("frame", b'[{"a": 1.5, "b": "x"}]', JSON_CT)])  # dtypes
@example([("json", b'"boom"', JSON_CT), ("json", b"1", JSON_CT), ("json", b"[1]", JSON_CT)])  # a raising item
def test_every_request_gets_the_answer_it_gets_alone(same_answer_url, batch):
    start = threading.Barrier(len(batch))

    def send(request):
        start.wait()
        return _answer(same_answer_url, request)

    with ThreadPoolExecutor(len(batch)) as pool:
        together = list(pool.map(send, batch))
    alone = [_answer(same_answer_url, request) for request in batch]
    assert together == alone


def test_a_blank_csv_row_is_a_row_not_lost(same_answer_url):
    status, rows = _answer(same_answer_url, ("frame", b"test\n \nx\n", CSV_CT))
    assert status == 200 and len(rows) == 2


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(json_values, min_size=1, max_size=8))
def test_bento_run_and_a_direct_call_agree_with_http(same_answer_url, same_answer_bundle, tmp_path, items):
    """The same JSON items through `bento run` (one per line of a .jsonl file), a direct call
    and HTTP: the results of the items that succeed over HTTP, in order, and a failure for the rest."""
    from same_answer_service import SameAnswer

    http = [_answer(same_answer_url, ("json", json.dumps(v).encode(), JSON_CT)) for v in items]
    lines = tmp_path / "items.jsonl"
    lines.write_text("".join(json.dumps(v) + "\n" for v in items))
    run = subprocess.run([str(BIN / "bento"), "run", same_answer_bundle, "json", "--input-file", str(lines), "-q"],
                         capture_output=True, text=True)
    printed = [json.loads(line) for line in run.stdout.splitlines()]
    assert printed == [body for status, body in http if status == 200]
    failed_inputs = [":".join(line.split(":")[:2]) for line in run.stderr.splitlines() if line.startswith("Error: input")]
    assert failed_inputs == [f"Error: input {i + 1}" for i, (status, _) in enumerate(http) if status != 200]
    api_ = SameAnswer().get_inference_api("json")
    direct = api_.infer(api_.input_adapter.from_python((items,), True))
    assert [r.data if r.http_status == 200 else r.http_status for r in direct] == \
        [body if status == 200 else status for status, body in http]
