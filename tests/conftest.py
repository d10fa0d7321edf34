"""Cross-package end-to-end tests: real CLI processes, real bundles, fresh BENTO_HOME per test."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bento_e2e import QUICKSTART  # noqa: E402

from bento.testing import bento_home  # noqa: E402,F401  (a private BENTO_HOME per test)


@pytest.fixture
def iris_bundle(bento_home) -> str:
    """The quickstart's IrisClassifier, trained and saved by its own script."""
    out = subprocess.run([sys.executable, "train.py"], cwd=QUICKSTART, capture_output=True, text=True,
                         env={**os.environ, "BENTO_HOME": str(bento_home)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]
