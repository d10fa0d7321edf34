"""Paths and helpers shared by the end-to-end tests (conftest puts this folder on sys.path)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart"
BIN = Path(sys.executable).parent


def bento(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `bento` console script of this environment."""
    out = subprocess.run([str(BIN / "bento"), *args], capture_output=True, text=True, **kwargs)
    if check and out.returncode != 0:
        raise AssertionError(f"bento {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out


def with_files(args: Sequence[str], files: Mapping[str, bytes], directory: Path) -> list[str]:
    """`bento run` arguments with each `@name` replaced by the path of a file `name` written into
    `directory` with the bytes `files[name]` (the rest is passed as is)."""
    out = []
    for arg in args:
        if arg.startswith("@"):
            path = directory / arg[1:]
            path.write_bytes(files[arg[1:]])
            arg = str(path)
        out.append(arg)
    return out


def form(*fields: tuple) -> dict:
    """`body` and `headers` of a multipart/form-data request; fields are (name, filename or None,
    content type or None, bytes)."""
    from bento_adapters.testing import multipart_body

    body, content_type = multipart_body(*fields)
    return {"body": body, "headers": {"Content-Type": content_type}}
