"""Property-based requests generated from /docs.json: no input the document allows makes the server fail."""
from __future__ import annotations

import shutil
import subprocess

import pytest


def test_schemathesis_finds_no_server_error(iris_service, dev_server, tmp_path):
    schemathesis = shutil.which("schemathesis")
    assert schemathesis, "schemathesis is not installed: pip install -r requirements-test.txt"
    with dev_server(iris_service) as url:
        run = subprocess.run(
            [schemathesis, "run", f"{url}/docs.json", "--checks", "not_a_server_error",
             "--max-examples", "25", "--phases", "examples,coverage,fuzzing", "--seed", "1",
             "--max-time", "40", "--report-dir", str(tmp_path), "--no-color"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

