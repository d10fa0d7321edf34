"""The repository's zero-skip policy (the root conftest.py), run on a throwaway test module."""
import os
import re
import shutil
import subprocess
import sys

from bento_e2e import ROOT

MODULE = '''
import pytest

def test_skips():
    pytest.skip("no database here")

@pytest.mark.skipif(True, reason="condition")
def test_skipif():
    pass

@pytest.mark.platform("one CPU")
def test_platform_skip():
    pytest.skip("one CPU here")

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

def test_passes():
    pass
'''


def _run(tmp_path, **env: str) -> str:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_module.py").write_text(MODULE)
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**{k: v for k, v in os.environ.items() if k != "BENTO_ALLOW_SKIPS"}, **env})
    return out.stdout


def test_a_skip_fails_the_run_unless_the_test_is_marked_platform_specific(tmp_path):
    out = _run(tmp_path)
    summary = out.strip().splitlines()[-1]
    assert re.search(r"1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error", summary), out
    assert "FAILED" in out and "test_skips - Skipped: no database here" in out
    assert "ERROR" in out and "test_skipif - Skipped: condition" in out
    assert "mark it @pytest.mark.platform(reason)" in out and "BENTO_ALLOW_SKIPS=1" in out


def test_bento_allow_skips_lets_them_skip(tmp_path):
    summary = _run(tmp_path, BENTO_ALLOW_SKIPS="1").strip().splitlines()[-1]
    assert re.search(r"1 passed, 3 skipped, 1 xfailed", summary), summary
