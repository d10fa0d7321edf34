"""What a bundle needs around its code: pip/conda packages, the Docker base image, setup.sh."""
from __future__ import annotations

import os
import re
from typing import Any, Optional

import attrs

from .exceptions import InvalidArgument

__all__ = ["BentoServiceEnv", "DEFAULT_DOCKER_BASE_IMAGE"]

DEFAULT_DOCKER_BASE_IMAGE = "python:{python_version}-slim"
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _str_list(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"expected a list of strings, got {value!r}")
    return tuple(value)


def requirement_name(line: str) -> Optional[str]:
    """The normalised project name of a requirement line (None for comments/options)."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    m = _REQ_NAME.match(line)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m else None


@attrs.frozen(kw_only=True)
class BentoServiceEnv:
    """The declared environment; `declare` reads files so the bundle never depends on them."""

    pip_packages: tuple = ()
    infer_pip_packages: bool = False
    conda_channels: tuple = ()
    conda_dependencies: tuple = ()
    docker_base_image: Optional[str] = None
    setup_sh: Optional[str] = None

    @classmethod
    def declare(cls, *, pip_packages: Any = None, requirements_txt_file: Optional[str] = None,
                infer_pip_packages: bool = False, conda_channels: Any = None, conda_dependencies: Any = None,
                docker_base_image: Optional[str] = None, setup_sh: Optional[str] = None,
                **unknown: Any) -> "BentoServiceEnv":
        if unknown:
            raise InvalidArgument(f"@env got unknown option(s): {', '.join(sorted(unknown))}")
        pips = list(_str_list(pip_packages))
        if requirements_txt_file:
            try:
                with open(requirements_txt_file, encoding="utf-8") as f:
                    pips += [ln.strip() for ln in f if requirement_name(ln)]
            except OSError as e:
                raise InvalidArgument(f"@env requirements_txt_file: {e}") from None
        for p in pips:
            if "\n" in p or not requirement_name(p):
                raise InvalidArgument(f"@env: {p!r} is not a pip requirement")
        if docker_base_image is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", docker_base_image):
            raise InvalidArgument(f"@env docker_base_image {docker_base_image!r} is not an image reference")
        script = None
        if setup_sh:
            if "\n" not in setup_sh and os.path.isfile(setup_sh):
                with open(setup_sh, encoding="utf-8") as f:
                    script = f.read()
            else:
                script = setup_sh
        return cls(pip_packages=tuple(pips), infer_pip_packages=bool(infer_pip_packages),
                   conda_channels=_str_list(conda_channels), conda_dependencies=_str_list(conda_dependencies),
                   docker_base_image=docker_base_image, setup_sh=script)
