"""`bento spark-run`: the real CLI against `bento run` row by row, then in-process runs (which reuse
the session's Spark) for formats, partitions, failures and one-line errors."""
from __future__ import annotations

import glob
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from spark_iris_service import FEATURES

BENTO = shutil.which("bento", path=os.path.dirname(sys.executable)) or "bento"


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory, iris_frame) -> str:
    """300 flowers (the iris set twice, shuffled) with a header row."""
    path = tmp_path_factory.mktemp("data") / "flowers.csv"
    pd.concat([iris_frame, iris_frame]).sample(frac=1, random_state=1).to_csv(path, index=False)
    return str(path)


def _bento_run(bundle: str, api: str, path: str, output: str = "csv") -> str:
    out = subprocess.run([BENTO, "run", bundle, api, "--input-file", path, "--output", output, "-q"],
                         capture_output=True, text=True, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    return out.stdout


def _read_parts(directory: str, fmt: str) -> pd.DataFrame:
    parts = sorted(glob.glob(os.path.join(directory, f"part-*.{fmt}")))
    assert parts, os.listdir(directory)
    read = pd.read_csv if fmt == "csv" else lambda p: pd.read_json(p, lines=True)
    return pd.concat([read(p) for p in parts], ignore_index=True)


def _spark_run(*args: str):
    from bento.cli import make_cli

    return CliRunner().invoke(make_cli(), ["spark-run", *args])


def test_spark_run_equals_bento_run_row_by_row(bento_home, iris_bundle, iris_csv, tmp_path):
    out_dir = str(tmp_path / "scored")
    cmd = [BENTO, "spark-run", iris_bundle, "predict", "--input", iris_csv, "--output", out_dir, "--format", "csv",
           "--master", "local[2]", "--partitions", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=240)
    assert done.returncode == 0, done.stderr
    assert "300 rows scored by SparkIris" in done.stderr
    scored = _read_parts(out_dir, "csv")
    expected = pd.read_csv(io.StringIO(_bento_run(iris_bundle, "predict", iris_csv)))
    assert len(glob.glob(os.path.join(out_dir, "part-*.csv"))) == 2
    pd.testing.assert_frame_equal(scored[FEATURES], pd.read_csv(iris_csv))  # same rows, same order
    assert scored["prediction"].tolist() == expected["result"].tolist()
    assert scored["prediction_error"].isna().all()


def test_json_lines_in_json_lines_out_as_bento_run(spark, iris_bundle, iris_frame, tmp_path):
    source = tmp_path / "flowers.jsonl"
    iris_frame.iloc[::10].to_json(source, orient="records", lines=True)
    result = _spark_run(iris_bundle, "species", "--input", str(source), "--output", str(tmp_path / "o"),
                        "--format", "json", "--partitions", "3")
    assert result.exit_code == 0, result.output
    scored = _read_parts(str(tmp_path / "o"), "json")
    expected = [json.loads(line) for line in _bento_run(iris_bundle, "species", str(source), "json").splitlines()]
    assert len(expected) == 15
    assert scored["prediction"].tolist() == expected


def test_partitions_split_the_input_in_order(spark, iris_bundle, iris_csv, tmp_path):
    result = _spark_run(iris_bundle, "predict", "--input", iris_csv, "--output", str(tmp_path / "o"),
                        "--partitions", "3", "--format", "parquet", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    parts = sorted(glob.glob(str(tmp_path / "o" / "part-*.parquet")))
    assert len(parts) == 3
    scored = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(scored[FEATURES], pd.read_csv(iris_csv))


def test_failed_rows_are_written_and_reported(spark, iris_bundle, iris_csv, tmp_path):
    result = _spark_run(iris_bundle, "picky", "--input", iris_csv, "--output", str(tmp_path / "o"),
                        "--format", "csv", "--batch-size", "25")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: 12 of 300 rows failed; their errors are in column 'prediction_error' of {tmp_path / 'o'}")
    scored = _read_parts(str(tmp_path / "o"), "csv")
    assert (scored["prediction_error"].notna() == (scored["sl"] > 7.5)).all()


def test_string_input_reads_the_chosen_column(spark, iris_bundle, tmp_path):
    source = tmp_path / "words.csv"
    source.write_text("id,word\n1,tulip\n2,boom\n3,rose\n")
    result = _spark_run(iris_bundle, "shout", "--input", str(source), "--output", str(tmp_path / "o"),
                        "--input-cols", "word", "--format", "json", "--partitions", "1")
    assert result.exit_code == 1
    assert "1 of 3 rows failed" in result.stderr
    scored = _read_parts(str(tmp_path / "o"), "json")
    assert scored["prediction"].fillna("-").tolist() == ["TULIP", "-", "ROSE"]
    assert scored["prediction_error"].tolist()[1] == "API 'shout' failed: RuntimeError: boom is not a word"


def test_schema_mismatch_is_one_line_before_the_job(spark, iris_bundle, iris_frame, tmp_path):
    source = tmp_path / "three.csv"
    iris_frame[FEATURES[:3]].to_csv(source, index=False)
    result = _spark_run(iris_bundle, "predict", "--input", str(source), "--output", str(tmp_path / "o"))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: API 'predict' fails on the first 20 row(s), so the job was not started")
    assert "input columns: sl double, sw double, pl double" in line
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize("args, code, message", [
    (["--input", "missing.csv", "--output", "o"], 2, "Error: --input missing.csv: no such file or directory"),
    (["--input", "{csv}", "--output", "{csv}"], 1, "Error: --output {csv} already exists"),
    (["--input", "{bundle}/bento.yml", "--output", "o"], 2, "Error: cannot tell the format of --input"),
    (["--input", "file:///nonexistent/x.csv", "--output", "{tmp}/o"], 1,
     "Error: Spark: [PATH_NOT_FOUND] Path does not exist: file:/nonexistent/x.csv"),
    (["--input", "{csv}", "--output", "o", "--conf", "novalue"], 2, "Error: --conf 'novalue': expected KEY=VALUE"),
])
def test_errors_are_one_line(spark, iris_bundle, iris_csv, tmp_path, args, code, message):
    fill = {"csv": iris_csv, "bundle": iris_bundle, "tmp": str(tmp_path)}
    result = _spark_run(iris_bundle, "predict", *[a.format(**fill) for a in args])
    assert result.exit_code == code, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message.format(**fill))


def test_progress_shows_stages_tasks_and_rows(spark):
    from bento_spark.progress import JobProgress

    rows = spark.sparkContext.accumulator(0)

    def slow(batches):
        for pdf in batches:
            time.sleep(0.5)
            yield pdf

    job = threading.Thread(target=spark.range(8, numPartitions=4).mapInPandas(slow, "id long").collect)
    stream = io.StringIO()
    with JobProgress(spark.sparkContext, rows, stream=stream, interval=0.1):
        job.start()
        job.join()
    assert "tasks, 0 rows done" in stream.getvalue()
    assert any(line.startswith("stage ") for line in stream.getvalue().splitlines())


def test_spark_errors_keep_the_executor_exception_line():
    from bento_spark.cli import _error_line

    text = ("An exception was thrown from the Python worker.\nTraceback (most recent call last):\n"
            '  File "worker.py", line 1, in <module>\n    load()\n'
            "bento.exceptions.ManifestMismatch: bundle file x does not match MANIFEST.sha256\n\nJVM stacktrace:\n...")
    assert _error_line(text) == "bento.exceptions.ManifestMismatch: bundle file x does not match MANIFEST.sha256"
    assert _error_line("[PATH_NOT_FOUND] Path does not exist: file:/x.csv.\n  at ...") == (
        "[PATH_NOT_FOUND] Path does not exist: file:/x.csv.")


def test_three_bad_rows_of_ten_thousand_fail_alone_in_bento_run_and_spark_run(spark, iris_bundle, iris_frame, tmp_path):
    """`picky` raises for any call holding a flower with a sepal over 7.5 cm: both runners go
    through core's pipeline, which isolates the three rows that break it."""
    rows = pd.concat([iris_frame[iris_frame["sl"] <= 7.5]] * 80, ignore_index=True).iloc[:10_000].copy()
    bad = [17, 4_242, 9_998]  # 0-based positions
    rows.loc[bad, "sl"] = 9.9
    source = tmp_path / "flowers.csv"
    rows.to_csv(source, index=False)

    out = subprocess.run([BENTO, "run", iris_bundle, "picky", "--input-file", str(source), "-q"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert out.returncode != 0
    assert len(out.stdout.split()) == 9_997
    errors = out.stderr.strip().splitlines()
    assert errors[:3] == [f"Error: row {i + 1}: API 'picky' failed: ValueError: sepal longer than 7.5 cm (500)"
                          for i in bad]
    assert errors[3:] == ["Error: 3 of 10,000 rows/inputs failed"]

    result = _spark_run(iris_bundle, "picky", "--input", str(source), "--output", str(tmp_path / "o"),
                        "--format", "csv", "--partitions", "1")
    assert result.exit_code == 1
    scored = _read_parts(str(tmp_path / "o"), "csv")
    assert scored.index[scored["prediction_error"].notna()].tolist() == bad
    assert set(scored.loc[bad, "prediction_error"]) == {"API 'picky' failed: ValueError: sepal longer than 7.5 cm"}
