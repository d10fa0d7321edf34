"""`bento run` on the iris bundle: inputs, files, streaming, errors."""
import json
import subprocess
import time

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
    (["--input", '[{"a": 1, "b": 2}, {"a": 3}]'], "record 1 has the keys ['a'], record 0 has ['a', 'b']"),
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
    out_path = tmp_path / "out.csv"
    with open(out_path, "w") as out, open(tmp_path / "err.txt", "w+") as err:
        proc = subprocess.Popen([str(BIN / "bento"), "run", "IrisClassifier:latest", "predict", "--input-file",
                                 str(data), "--output", "csv"], stdout=out, stderr=err)
        peak_kb = _peak_rss_kb(proc)
        err.seek(0)
        stderr = err.read()
    assert proc.returncode == 0, stderr
    with open(out_path) as f:
        assert sum(1 for _ in f) == rows + 1  # header + one line per row
    assert 0 < peak_kb < 400 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
    assert "bento run" in stderr  # the progress bar's label


def _peak_rss_kb(proc: subprocess.Popen) -> int:
    """The process's own high-water RSS (VmHWM), polled until it exits.

    Not wait4's ru_maxrss: that also counts the pages of this (large) pytest process the child
    was forked from before it exec'd bento."""
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                peak = max([peak] + [int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")])
        except OSError:
            pass
        time.sleep(0.05)
    return peak

