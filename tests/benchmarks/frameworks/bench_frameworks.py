"""Benchmark of the framework plugins (not a test): cold start and predict latency per framework.

    python tests/benchmarks/frameworks/bench_frameworks.py [--calls 300] [--repeat 3] [--only keras,xgboost]

Trains a small iris model per framework, saves it as a bundle into a throwaway BENTO_HOME, then
measures
* cold start: wall time of `bento run <bundle> predict --input <1 row>` in a fresh process
  (interpreter start, imports, bundle load, first prediction, output), median of --repeat runs;
* predict latency: p50/p99 of direct API calls `svc.predict(batch)` on the loaded bundle (input
  adapter, inference pipeline and model; no HTTP) for batches of 1 and 64 rows, after warm-up.
Prints a Markdown table and the machine it ran on.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[3]
# The services measured are those of the quickstart and of the plugins' own tests (a bundle
# imports its service module again by name, so they must be importable modules).
for folder in ("docs/quickstart", "packages/artifacts-xgboost/tests", "packages/artifacts-tensorflow/tests"):
    sys.path.insert(0, str(ROOT / folder))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROW = [5.1, 3.5, 1.4, 0.2]


def _iris() -> tuple:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X.astype("float32"), y


def _train_sklearn(X: Any, y: Any, tmp: Path) -> Any:
    from sklearn import svm

    return svm.SVC(gamma="scale").fit(X, y)


def _train_xgboost(X: Any, y: Any, tmp: Path) -> Any:
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=100, max_depth=4).fit(X, y)


def _train_keras(X: Any, y: Any, tmp: Path) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=20, verbose=0)
    return model


def _export_keras(X: Any, y: Any, tmp: Path) -> str:
    path = tmp / "exported"
    _train_keras(X, y, tmp).export(str(path), verbose=False)
    return str(path)


def _frame(X: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(X)


# name -> ("module:ServiceClass", trainer, `bento run --input` text, batch builder)
FRAMEWORKS: dict[str, tuple[str, Callable, str, Callable]] = {
    "sklearn (SVC)": ("iris_classifier:IrisClassifier", _train_sklearn, json.dumps([ROW]), _frame),
    "xgboost (100 trees, nthread=1)": ("xgb_services:XgbIris", _train_xgboost, json.dumps([ROW]), _frame),
    "xgboost (100 trees, nthread=2)": ("xgb_services:XgbIrisTwoThreads", _train_xgboost, json.dumps([ROW]), _frame),
    "keras (MLP 4-64-64-3)": ("tf_services:KerasIris", _train_keras, json.dumps({"instances": [ROW]}), lambda X: X),
    "tf SavedModel (same MLP, model.export)": ("tf_services:ExportedKeras", _export_keras,
                                               json.dumps({"instances": [ROW]}), lambda X: X),
}


def cold_start(bundle: str, cli_input: str, repeat: int) -> float:
    """Median seconds from process start to the printed first prediction of `bento run`."""
    bento_cli = str(Path(sys.executable).parent / "bento")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([bento_cli, "run", bundle, "predict", "--input", cli_input], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def latency(svc: Any, batch: Any, calls: int) -> tuple:
    """p50 and p99 milliseconds of `svc.predict(batch)` after 20 warm-up calls."""
    import numpy as np

    for _ in range(20):
        svc.predict(batch)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        svc.predict(batch)
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def machine() -> str:
    libs = ", ".join(f"{d} {version(d)}" for d in ("scikit-learn", "xgboost-cpu", "tensorflow-cpu", "keras", "numpy",
                                                   "pandas"))
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; {libs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=300, help="timed calls per batch size")
    ap.add_argument("--repeat", type=int, default=3, help="cold starts per framework")
    ap.add_argument("--only", default="", help="comma-separated name prefixes (e.g. keras,xgboost)")
    args = ap.parse_args()
    os.environ["BENTO_HOME"] = tempfile.mkdtemp(prefix="bento-bench-frameworks-")
    import bento

    X, y = _iris()
    prefixes = [p for p in args.only.split(",") if p]
    print("| framework | cold start (`bento run`, 1 row) | p50 / p99 batch 1 | p50 / p99 batch 64 |")
    print("|---|---|---|---|")
    for name, (service, train, cli_input, make_batch) in FRAMEWORKS.items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            module, cls = service.split(":")
            svc = getattr(importlib.import_module(module), cls)()
            svc.pack("model", train(X, y, Path(tmp)))
            bundle = svc.save_to_dir(str(Path(tmp) / "bundle"))
            cold = cold_start(bundle, cli_input, args.repeat)
            loaded = bento.load(bundle)
            one, many = (latency(loaded, make_batch(X[:n]), args.calls) for n in (1, 64))
        print(f"| {name} | {cold:.2f} s | {one[0]:.2f} / {one[1]:.2f} ms | {many[0]:.2f} / {many[1]:.2f} ms |",
              flush=True)
    print(f"\nMachine: {machine()}")


if __name__ == "__main__":
    main()
