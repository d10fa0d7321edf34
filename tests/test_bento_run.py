"""`bento run` on the iris bundle: inputs, files, streaming, errors."""
import json
import os
import resource
import subprocess

import pytest

from bento_e2e import BIN, bento


def test_run_predicts_from_json_and_csv(iris_bundle, tmp_path):
    out = bento("run", "IrisClassifier:latest", "predict", "--input", "[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]")
    assert json.loads(out.stdout) == [0, 2]
    csv = tmp_path / "x.csv"
    csv.write_text("a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    out = bento("run", iris_bundle, "predict", "--input-file", str(csv))
    assert out.stdout.split() == ["0", "2"]
    out = bento("run", iris_bundle, "predict", "--input-file", str(csv), "--output", "csv")
    assert out.stdout.splitlines()[-2:] == ["0", "2"]


@pytest.mark.parametrize("args, message", [
    (["--input", "[[5.1, 3.5"], "JSON"),
    (["--input", "a,b\n1,2,3\n", "--format", "csv"], "CSV"),
])
def test_malformed_input_is_one_line(iris_bundle, args, message):
    out = bento("run", "IrisClassifier:latest", "predict", *args, check=False)
    assert out.returncode != 0
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and message in err[0] and "Traceback" not in out.stderr


def test_a_million_row_csv_streams_with_bounded_memory(iris_bundle, tmp_path):
    import numpy as np

    rows = 1_000_000
    data = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    with open(data, "w") as f:
        f.write("sl,sw,pl,pw\n")
        block = rng.uniform(0.1, 7.9, size=(rows, 4)).round(1)
        np.savetxt(f, block, fmt="%.1f", delimiter=",")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([str(BIN / "bento"), "run", "IrisClassifier:latest", "predict", "--input-file", str(data),
                           "--output", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == rows + 1  # header + one line per row
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert before / 1024 < 400 and peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
    assert "bento run" in proc.stderr  # the progress bar's label
