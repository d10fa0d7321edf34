"""Failure isolation lives in one place, core's InferenceAPI: the server's batcher and Spark hand
tasks to it and take its results; none of them re-runs a call itself (as both once did)."""
from __future__ import annotations

import ast
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[1] / "packages"


def _callers_of_the_pipeline() -> dict:
    """`package.module:function` -> whether it calls itself, for every function outside core's
    inference module that calls `.infer(...)` or `.infer_rows(...)`."""
    found = {}
    for path in SOURCES.glob("*/src/*/**/*.py"):
        module = ".".join(path.relative_to(SOURCES).with_suffix("").parts[2:])  # <dist>/src/<module path>
        if module == "bento.inference":
            continue
        for func in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(func, ast.FunctionDef):
                continue
            called = {n.func.attr for n in ast.walk(func) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
            called |= {n.func.id for n in ast.walk(func) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if called & {"infer", "infer_rows"}:
                found[f"{module}:{func.name}"] = func.name in called
    return found


def test_the_batchers_and_spark_go_through_core_and_never_retry():
    callers = _callers_of_the_pipeline()
    assert set(callers) == {
        "bento.batching:submit", "bento.batching:run",  # core's base and offline batchers
        "bento_server.batching:_execute",  # the adaptive batcher: one call per batch
        "bento_spark.batches:_infer",  # Spark: one pipeline call per pandas batch
    }, callers
    assert not any(callers.values()), f"a caller re-runs the pipeline itself: {callers}"
