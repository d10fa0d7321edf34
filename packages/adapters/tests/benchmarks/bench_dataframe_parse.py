"""DataframeInput parse cost per row, against pandas reading the same data (the floor).

Run: python packages/adapters/tests/benchmarks/bench_dataframe_parse.py
Measures from_http_request + extract_user_func_args for 1 request x 1,000 rows and for
1,000 requests x 1 row micro-batched into one call, for JSON (records, values) and CSV.
"""
from __future__ import annotations

import io
import os
import platform
import timeit

import numpy as np
import pandas as pd
from bento.adapters import HTTPRequest

from bento_adapters import DataframeInput

ROWS = 1_000
REPEAT = 7


def best_us_per_row(fn, number: int = 3) -> float:
    return min(timeit.repeat(fn, number=number, repeat=REPEAT)) / number / ROWS * 1e6


def adapter_parse(bodies: list, content_type: str):
    """Both steps (all of the parse), and the batch step alone (what the batching worker runs)."""
    adapter = DataframeInput()
    requests = [HTTPRequest(headers={"content-type": content_type}, body=b) for b in bodies]
    parsed = [adapter.from_http_request(r) for r in requests]

    def run():
        tasks = [adapter.from_http_request(r) for r in requests]
        (df,) = adapter.extract_user_func_args(tasks)
        assert len(df) == ROWS and not any(t.is_discarded for t in tasks)

    def batch_step():
        adapter.extract_user_func_args(parsed)

    return run, batch_step


def main() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.random((ROWS, 4)).round(3), columns=["sl", "sw", "pl", "pw"])
    rows = {
        "json records": [df.iloc[[i]].to_json(orient="records").encode() for i in range(ROWS)],
        "json values": [df.iloc[[i]].to_json(orient="values").encode() for i in range(ROWS)],
        "csv": [df.iloc[[i]].to_csv(index=False).encode() for i in range(ROWS)],
    }
    whole = {
        "json records": df.to_json(orient="records").encode(),
        "json values": df.to_json(orient="values").encode(),
        "csv": df.to_csv(index=False).encode(),
    }
    floor = {
        "json records": lambda: pd.read_json(io.BytesIO(whole["json records"]), orient="records"),
        "json values": lambda: pd.read_json(io.BytesIO(whole["json values"]), orient="values"),
        "csv": lambda: pd.read_csv(io.BytesIO(whole["csv"])),
    }
    naive = {  # what parsing each request with pandas, then concatenating, costs
        "json records": lambda: pd.concat([pd.read_json(io.BytesIO(b), orient="records") for b in rows["json records"]]),
        "json values": lambda: pd.concat([pd.read_json(io.BytesIO(b), orient="values") for b in rows["json values"]]),
        "csv": lambda: pd.concat([pd.read_csv(io.BytesIO(b)) for b in rows["csv"]]),
    }
    types = {"json records": "application/json", "json values": "application/json", "csv": "text/csv"}
    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} cpus; microseconds per row, best of {REPEAT}")
    print(f"{'format':<14}{'1 x 1000 rows':>15}{'1000 x 1 row':>14}{'(batch step)':>14}"
          f"{'pandas floor':>14}{'pandas per request':>20}")
    for name in rows:
        one, _ = adapter_parse([whole[name]], types[name])
        many, batch_step = adapter_parse(rows[name], types[name])
        print(f"{name:<14}{best_us_per_row(one):>15.2f}{best_us_per_row(many, number=1):>14.2f}"
              f"{best_us_per_row(batch_step):>14.2f}{best_us_per_row(floor[name]):>14.2f}"
              f"{best_us_per_row(naive[name], number=1):>20.2f}")


if __name__ == "__main__":
    main()
