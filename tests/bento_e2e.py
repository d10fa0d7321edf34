"""Paths and helpers shared by the end-to-end tests (conftest puts this folder on sys.path)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart"
BIN = Path(sys.executable).parent


def bento(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `bento` console script of this environment."""
    out = subprocess.run([str(BIN / "bento"), *args], capture_output=True, text=True, **kwargs)
    if check and out.returncode != 0:
        raise AssertionError(f"bento {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out
