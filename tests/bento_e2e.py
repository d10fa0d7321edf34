"""Paths and helpers shared by the end-to-end tests (conftest puts this folder on sys.path)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Optional, Sequence

from bento_deploy.process import http_status

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart"
BIN = Path(sys.executable).parent


def bento(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `bento` console script of this environment."""
    out = subprocess.run([str(BIN / "bento"), *args], capture_output=True, text=True, **kwargs)
    if check and out.returncode != 0:
        raise AssertionError(f"bento {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out


def wait_ready(url: str, timeout: float, process: Optional[subprocess.Popen] = None) -> float:
    """The monotonic time at which `url`/readyz first answered 200; fails after `timeout` seconds,
    or as soon as `process` (the server, when the test started it) has exited."""
    deadline = time.monotonic() + timeout
    while http_status(url + "/readyz") != 200:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the server exited {process.returncode}: {process.communicate(timeout=5)[0]}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"{url} not ready within {timeout} s")
        time.sleep(0.02)
    return time.monotonic()


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
