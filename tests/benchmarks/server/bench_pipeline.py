"""The inference pipeline's own cost per request, without HTTP: parse each request with its input
adapter (what a request thread does), then one `InferenceAPI.infer` call per batch of 64 (what the
batcher's runner does), with a function that does next to nothing. Prints µs per request.

Compare two checkouts by putting their sources first on the path:
  PYTHONPATH=<checkout>/packages/core/src:<checkout>/packages/adapters/src python bench_pipeline.py
"""
from __future__ import annotations

import json
import statistics
import time

import bento
from bento import BentoService, api
from bento.adapters import HTTPRequest
from bento_adapters import DataframeInput, JsonInput

BATCH = 64
ROUNDS = 300


class Tiny(BentoService):
    @api(input=JsonInput(), batch=True)
    def echo(self, items):
        return items

    @api(input=DataframeInput(), batch=True)
    def frame(self, df):
        return df.to_numpy()[:, 0]

    @api(input=DataframeInput(columns=["a", "b", "c", "d"]), batch=True)
    def declared(self, df):
        return df.to_numpy()[:, 0]


CASES = {
    "JsonInput, one value per request": ("echo", json.dumps([5.1, 3.5, 1.4, 0.2]).encode(), "application/json"),
    "DataframeInput, one record per request": (
        "frame", json.dumps([{"a": 5.1, "b": 3.5, "c": 1.4, "d": 0.2}]).encode(), "application/json"),
    "DataframeInput(columns=...), one row per request": (
        "declared", json.dumps([[5.1, 3.5, 1.4, 0.2]]).encode(), "application/json"),
    "DataframeInput, CSV body of one row": ("frame", b"a,b,c,d\n5.1,3.5,1.4,0.2\n", "text/csv"),
}


def per_request_us(svc: BentoService, api_name: str, body: bytes, content_type: str) -> tuple[float, float]:
    """Median over rounds of (parse µs, infer µs) per request."""
    api_ = svc.get_inference_api(api_name)
    request = HTTPRequest(headers={"content-type": content_type}, body=body)
    parse, infer = [], []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        tasks = [api_.input_adapter.from_http_request(request) for _ in range(BATCH)]
        t1 = time.perf_counter()
        results = api_.infer(tasks)
        t2 = time.perf_counter()
        assert all(r.http_status == 200 for r in results), results[0]
        parse.append((t1 - t0) / BATCH * 1e6)
        infer.append((t2 - t1) / BATCH * 1e6)
    return statistics.median(parse), statistics.median(infer)


def main() -> None:
    svc = Tiny()
    print(f"bento from {bento.__file__}")
    print(f"{'case':52} {'parse µs':>9} {'infer µs':>9} {'total µs':>9}")
    for name, (api_name, body, content_type) in CASES.items():
        parse, infer = per_request_us(svc, api_name, body, content_type)
        print(f"{name:52} {parse:9.1f} {infer:9.1f} {parse + infer:9.1f}")


if __name__ == "__main__":
    main()
