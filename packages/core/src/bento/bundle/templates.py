"""The generated files of a bundle: README, Dockerfile, entrypoint, pyproject and the package
`__init__`. Values that come from users are quoted for the file they land in."""
from __future__ import annotations

import inspect
import json
import re

from ..exceptions import InvalidArgument
from . import inventory
from .layout import ORIGIN_FILE, PROVENANCE_DIR
from .metadata import BundleMetadata

__all__ = ["readme", "dockerfile", "ENTRYPOINT", "pyproject", "package_init", "build_backend", "pep440_version",
           "check_image_reference"]

# A container image reference: [registry[:port]/]path[:tag][@sha256:digest]. Nothing else may reach
# a Dockerfile line or a build command: no spaces, newlines or quotes that could add instructions.
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REFERENCE = re.compile(rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*"
                              r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?")


def pep440_version(version: str) -> str:
    """A pip-acceptable version: `1.2.<stamp>` -> `1.2+<stamp>`, `<stamp>` -> `0+<stamp>`."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(.+)", version)
    public, local = (f"{m.group(1)}.{m.group(2)}", m.group(3)) if m else ("0", version)
    return f"{public}+{re.sub(r'[^A-Za-z0-9]+', '.', local).strip('.').lower()}"


def readme(meta: BundleMetadata) -> str:
    lines = [f"# {meta.name} {meta.version}", "", meta.service.doc or "A Bento prediction service.", "",
             "## APIs", ""]
    for a in meta.apis:
        doc = f": {a.doc.splitlines()[0]}" if a.doc else ""
        lines.append(f"- `POST /{a.route}` ({a.input.type} -> {a.output.type}, batch={a.batch}){doc}")
    lines += ["", "## Artifacts", ""]
    lines += [f"- `{a.name}`: {a.type} ({a.format})" for a in meta.artifacts] or ["- none"]
    lines += ["", "## Use", "", "```", f"bento serve .            # HTTP on 127.0.0.1:5000",
              f"bento run . {meta.apis[0].name if meta.apis else 'API'} --input '...'",
              f"pip install .            # then: import {meta.name}; {meta.name}.load()", "```", ""]
    return "\n".join(lines)


def check_image_reference(value: str, what: str = "image") -> str:
    """`value` if it is a valid image reference, else InvalidArgument naming `what`."""
    if not isinstance(value, str) or len(value) > 255 or not _IMAGE_REFERENCE.fullmatch(value):
        raise InvalidArgument(f"{what} {value!r} is not a container image reference "
                          "([registry/]name[:tag], lowercase name, no spaces or quotes)")
    return value


def dockerfile(base_image: str, has_setup_sh: bool, has_conda: bool) -> str:
    """Every line is fixed text except the base image, which is checked to be one image reference."""
    steps = [
        f"FROM {check_image_reference(base_image, 'docker base image')}",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BENTO_HOME=/home/bento/bento BENTO_SERVER_PORT=5000",
        "RUN useradd --create-home --uid 10001 bento",
        "WORKDIR /bundle",
        "COPY . /bundle",
    ]
    if has_setup_sh:
        steps.append("RUN bash /bundle/setup.sh")
    if has_conda:
        steps.append("RUN conda env update -n base -f /bundle/environment.yml")
    steps += [
        "RUN pip install --no-cache-dir -r /bundle/requirements.txt",
        "USER bento",
        "EXPOSE 5000",
        'ENTRYPOINT ["/bundle/docker-entrypoint.sh"]',
    ]
    return "\n".join(steps) + "\n"


ENTRYPOINT = """#!/bin/sh
# Serves this bundle; port and workers come from BENTO_SERVER_PORT / BENTO_SERVER_WORKERS.
# Inside a container the server must listen on all interfaces to be reachable.
set -e
exec bento serve /bundle --host 0.0.0.0 "$@"
"""


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def pyproject(meta: BundleMetadata, requirements: list) -> str:
    deps = "".join(f"    {_toml_str(r)},\n" for r in requirements)
    name = meta.name
    return f"""[build-system]
requires = ["setuptools>=64"]
build-backend = "_bento_build"
backend-path = ["."]

[project]
name = {_toml_str(name)}
version = {_toml_str(pep440_version(meta.version))}
description = {_toml_str((meta.service.doc or "A Bento prediction service").splitlines()[0])}
requires-python = ">=3.9"
dependencies = [
{deps}]

[project.scripts]
{name} = "{name}:main"

[tool.setuptools]
packages = [{_toml_str(name)}]
include-package-data = false

[tool.setuptools.package-data]
{name} = ["**/*", {_toml_str(f"{PROVENANCE_DIR}/{ORIGIN_FILE}")}]
"""


def package_init(meta: BundleMetadata) -> str:
    return f'''"""{meta.name} {meta.version}, a Bento bundle: `{meta.name}.load()` returns the service."""
from bento.bundle.installed import load_package

__version__ = {meta.version!r}


def load():
    """The service with its artifacts loaded."""
    return load_package(__file__)


def main() -> None:
    """Console script: `{meta.name} run API --input ...`, `{meta.name} serve`."""
    from bento.cli.installed import run_package_cli  # only the console script needs the CLI

    run_package_cli(__file__)
'''


_BACKEND = """

# ---------------------------------------------------------------- the bundle's PEP 517 backend
import contextlib as _contextlib
import tempfile as _tempfile

from setuptools import build_meta as _setuptools

_ROOT = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = %(package)r
_PROVENANCE_DIR = %(provenance_dir)r


@_contextlib.contextmanager
def _verified_copy():
    \"\"\"Build in a checked copy of the listed files: an unlisted file never reaches the wheel, and
    setuptools writes nothing (build/, *.egg-info) into the bundle.\"\"\"
    staging = _tempfile.mkdtemp(prefix="bento-build-")
    cwd = os.getcwd()
    try:
        try:
            check_files(_ROOT, copy_to=staging)
        except BundleFileError as e:
            raise RuntimeError("%%s: refusing to install" %% e) from None
        provenance = os.path.join(staging, _PACKAGE, _PROVENANCE_DIR)
        if os.path.exists(provenance):
            raise RuntimeError("bundle file %%s/%%s is reserved for provenance: refusing to install"
                               %% (_PACKAGE, _PROVENANCE_DIR))
        os.makedirs(provenance)
        for name in (MANIFEST,) + PROVENANCE_FILES:  # where the bundle came from travels with the package
            if os.path.isfile(os.path.join(_ROOT, name)):
                shutil.copyfile(os.path.join(_ROOT, name), os.path.join(provenance, name))
        os.chdir(staging)
        yield
    finally:
        os.chdir(cwd)
        shutil.rmtree(staging, ignore_errors=True)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_directory = os.path.abspath(wheel_directory)
    metadata_directory = metadata_directory and os.path.abspath(metadata_directory)
    with _verified_copy():
        return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    sdist_directory = os.path.abspath(sdist_directory)
    with _verified_copy():
        return _setuptools.build_sdist(sdist_directory, config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    metadata_directory = os.path.abspath(metadata_directory)
    with _verified_copy():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def _requires(name):
    def hook(config_settings=None):
        with _verified_copy():
            return getattr(_setuptools, name)(config_settings)

    hook.__name__ = name
    return hook


get_requires_for_build_wheel = _requires("get_requires_for_build_wheel")
get_requires_for_build_sdist = _requires("get_requires_for_build_sdist")
"""


def build_backend(meta: BundleMetadata) -> str:
    """`_bento_build.py`: the same checks as `bento.load` (this package's `inventory` module, which
    needs only the standard library), then setuptools in a verified copy of the bundle."""
    return inspect.getsource(inventory) + _BACKEND % {"package": meta.name, "provenance_dir": PROVENANCE_DIR}
