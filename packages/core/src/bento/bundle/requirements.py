"""requirements.txt for a bundle: declared, inferred and plugin packages, pinned where known."""
from __future__ import annotations

import re
from typing import Iterable

from ..env import requirement_name

__all__ = ["build_requirements", "installed_version"]


def installed_version(dist: str) -> str:
    from importlib_metadata import PackageNotFoundError, version  # third-party, slow to import: only when saving

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def _pin(dist: str, ver: str) -> str:
    return f"{dist}=={ver}" if ver else dist


def build_requirements(declared: Iterable[str], inferred: dict, bento_dists: dict) -> list[str]:
    """Declared lines win (a bare name gets the installed version); then inferred; bento
    distributions are always listed, pinned to the running versions."""
    lines: dict[str, str] = {}
    for dist, ver in sorted(bento_dists.items()):
        lines[requirement_name(dist)] = _pin(dist, ver)
    for dist, ver in sorted(inferred.items()):
        lines.setdefault(requirement_name(dist), _pin(dist, ver))
    for line in declared:
        name = requirement_name(line)
        if name is None:
            continue
        bare = re.fullmatch(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*", line) is not None
        lines[name] = _pin(line.strip(), installed_version(line.strip())) if bare else line.strip()
    return [lines[k] for k in sorted(lines)]
