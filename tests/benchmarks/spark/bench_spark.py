"""Benchmark of bento-spark (not a test): rows/s over an iris CSV with the RandomForest bundle.

    python tests/benchmarks/spark/bench_spark.py [--rows 10000000] [--master local[2]] [--repeat 1]

Three commands over the same CSV, each a fresh process measured end to end (JVM start included);
with --repeat N they take turns N times and the fastest run of each is shown (a shared machine's
load comes and goes):
`bento spark-run` (parquet out), `bento run` in one process (CSV to /dev/null), and the floor:
a hand-written mapInPandas that calls the sklearn model directly. Peak memory is sampled every
0.2 s: the Python driver alone, and the whole process tree (JVM and Python workers included).
Needs psutil. The model is trained as /work/shared/bench/peers/common_train.py does.
"""
from __future__ import annotations

import argparse
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FEATURES = ["sl", "sw", "pl", "pw"]


def train(home: str, tmp: str) -> tuple:
    """The RandomForest of common_train.py, saved as an IrisClassifier bundle and as a plain pickle."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    sys.path.insert(0, str(ROOT / "docs" / "quickstart"))
    os.environ["BENTO_HOME"] = home
    from iris_classifier import IrisClassifier

    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    bundle = IrisClassifier().pack("model", rf).save()
    model = os.path.join(tmp, "rf.pkl")
    with open(model, "wb") as f:
        pickle.dump(rf, f)
    return bundle, model


def write_csv(path: str, rows: int) -> None:
    """`rows` random flowers (one decimal, as the iris data), written as repeats of a 1M-row block."""
    import numpy as np

    block = min(rows, 1_000_000)
    data = np.random.default_rng(0).integers(1, 80, size=(block, 4)) / 10
    text = "\n".join(",".join(f"{v:.1f}" for v in row) for row in data.tolist()) + "\n"
    with open(path, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            f.write(text if n == block else "\n".join(text.split("\n")[:n]) + "\n")


def measure(cmd: list, env: dict) -> dict:
    """Wall seconds, peak RSS (MB) of the process itself and of its whole tree."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = {"driver": 0, "tree": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            try:
                procs = [root, *root.children(recursive=True)]
                rss = [p.memory_info().rss for p in procs if p.is_running()]
            except psutil.Error:
                continue
            peak["driver"] = max(peak["driver"], rss[0] if rss else 0)
            peak["tree"] = max(peak["tree"], sum(rss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{err.decode()[-3000:]}")
    return {"wall": wall, "driver_mb": peak["driver"] / 2**20, "tree_mb": peak["tree"] / 2**20}


def floor(csv: str, model_path: str, out: str, master: str) -> None:
    """The hand-written job: the same read, the model called directly in mapInPandas, parquet out."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from bento_spark.session import LOCAL_CONF
    from pyspark.sql import SparkSession
    from pyspark.sql.types import LongType, StructField, StructType

    builder = SparkSession.builder.master(master).appName("floor")
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    model_bc = spark.sparkContext.broadcast(model)

    def predict(batches):
        rf = model_bc.value
        for pdf in batches:
            yield pdf.assign(prediction=rf.predict(pdf[FEATURES].to_numpy()))

    spark.conf.set("spark.sql.files.minPartitionNum", str(4 * spark.sparkContext.defaultParallelism))
    df = spark.read.csv(csv, header=True, inferSchema=True)
    schema = StructType([*df.schema.fields, StructField("prediction", LongType())])
    df.mapInPandas(predict, schema).write.parquet(out)
    spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--floor", nargs=3, metavar=("CSV", "MODEL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        return floor(*args.floor, args.master)
    tmp = tempfile.mkdtemp(prefix="bento-bench-spark-")
    home = os.path.join(tmp, "home")
    env = {**os.environ, "BENTO_HOME": home, "SPARK_LOCAL_IP": "127.0.0.1",
           "PYTHONWARNINGS": "ignore"}  # sklearn's feature-name warning on every batch
    try:
        bundle, model = train(home, tmp)
        csv = os.path.join(tmp, "iris.csv")
        write_csv(csv, args.rows)
        outputs = [os.path.join(tmp, "spark-run"), os.path.join(tmp, "floor")]
        runs = {
            f"bento spark-run ({args.master}, parquet out)":
                [str(BIN / "bento"), "spark-run", bundle, "predict", "--input", csv, "--output", outputs[0],
                 "--master", args.master, "-q"],
            "bento run (one process, CSV out)":
                [str(BIN / "bento"), "run", bundle, "predict", "--input-file", csv, "--output", "csv", "-q"],
            f"floor: mapInPandas + model.predict ({args.master})":
                [sys.executable, __file__, "--master", args.master, "--floor", csv, model, outputs[1]],
        }
        print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.machine()}, "
              f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start")
        print(f"input: {args.rows:,} rows, {os.path.getsize(csv) / 2**20:.0f} MiB CSV")
        results: dict = {name: [] for name in runs}
        for _ in range(args.repeat):
            for path in outputs:
                shutil.rmtree(path, ignore_errors=True)
            for name, cmd in runs.items():
                results[name].append(measure(cmd, env))
        width = max(map(len, runs))
        for name, ms in results.items():
            wall = min(m["wall"] for m in ms)
            print(f"{name.ljust(width)}  {args.rows / wall:>10,.0f} rows/s  {wall:7.1f} s  "
                  f"driver peak {max(m['driver_mb'] for m in ms):6.0f} MB  "
                  f"tree peak {max(m['tree_mb'] for m in ms):6.0f} MB")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
