"""The console script of a pip-installed bundle: `<Name> run API ...` is `bento run <bundle> API ...`."""
from __future__ import annotations

import os
import sys
from typing import Optional

from .base import main

__all__ = ["run_package_cli"]


def run_package_cli(init_file: str, argv: Optional[list] = None) -> None:
    """`<Name> run API ...`, `<Name> serve ...`, `<Name> info`: `bento <cmd> <this bundle> ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pkg_dir = os.path.dirname(os.path.abspath(init_file))
    name = os.path.basename(pkg_dir)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"Usage: {name} COMMAND [ARGS]...\n\n  Commands of the bundle {name}: run API (--input TEXT | "
              f"--input-file PATH), serve, info, open-api-spec.\n  Each is `bento COMMAND <bundle> ...`; "
              "see `bento COMMAND --help`.")
        return
    main([argv[0], pkg_dir, *argv[1:]])
