"""The README's main job: train, save, list, predict (and serve when bento-server is present)."""
import os
import subprocess

from bento_e2e import QUICKSTART


def test_quickstart_script_runs_end_to_end(bento_home):
    out = subprocess.run(["bash", str(QUICKSTART / "quickstart.sh")], capture_output=True, text=True,
                         env={**os.environ, "BENTO_HOME": str(bento_home)}, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[0 2]"  # the direct call in train.py
    assert lines[1].startswith(str(bento_home / "repository" / "IrisClassifier"))
    assert lines[2].split()[0] == "TAG" and lines[3].startswith("IrisClassifier:")
    assert "framework=sklearn" in lines[3]
    assert lines[4] == "[0,2]"  # bento run
    assert lines[-1] == "[0]"  # bento serve, asked over HTTP
