"""Property-based requests generated from /docs.json: no input the document allows makes the server fail."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import requests

# bento_adapters.frames.rows_from_csv lets csv.Error escape on a bare carriage return (a 500);
# reported to the adapters' owner. Until it is fixed, schemathesis findings of that one shape
# (a text/csv body on /predict) are tolerated here and pinned by the strict xfail below.
_KNOWN = re.compile(r"-H 'Content-Type: text/csv' .* http://127\.0\.0\.1:\d+/predict\s")


@pytest.mark.skipif(shutil.which("schemathesis") is None, reason="pip install schemathesis")
def test_schemathesis_finds_no_server_error(iris_service, dev_server, tmp_path):
    with dev_server(iris_service) as url:
        run = subprocess.run(
            [shutil.which("schemathesis"), "run", f"{url}/docs.json", "--checks", "not_a_server_error",
             "--max-examples", "25", "--phases", "examples,coverage,fuzzing", "--seed", "1",
             "--max-time", "40", "--report-dir", str(tmp_path), "--no-color"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    cases = run.stdout.split("Test Case ID:")[1:]
    unknown = [c[:2000] for c in cases if not _KNOWN.search(c)]
    assert run.returncode == 0 or (cases and not unknown), run.stdout[-4000:] + run.stderr[-2000:]


@pytest.mark.xfail(strict=True, reason="bento_adapters rows_from_csv: csv.Error on a bare \\r is a 500, not a 400")
def test_csv_with_a_bare_carriage_return_is_400(iris_url):
    r = requests.post(iris_url + "/predict", data="a\rb,c\n1,2\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 400
