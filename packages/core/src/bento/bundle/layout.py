"""Where things are in a bundle: the names every reader and writer of the format agrees on."""
from __future__ import annotations

from .inventory import MANIFEST, ORIGIN_FILE, PROVENANCE_FILES, SIGNATURE_FILE

__all__ = ["METADATA_FILE", "MANIFEST", "ARTIFACTS_DIR", "STATIC_DIR", "ORIGIN_FILE", "SIGNATURE_FILE",
           "PROVENANCE_FILES", "PROVENANCE_DIR", "BUILD_BACKEND_FILE", "TOP_LEVEL_FILES"]

METADATA_FILE = "bento.yml"  # at the top and inside the package directory <Name>/
ARTIFACTS_DIR = "artifacts"  # <Name>/artifacts/: each artifact's saved files
STATIC_DIR = "web_static_content"  # <Name>/web_static_content/: @web_static_content's files
BUILD_BACKEND_FILE = "_bento_build.py"  # the bundle's PEP 517 backend (`pip install <bundle>`)
# <Name>/_bento_provenance/ of an installed bundle: MANIFEST.sha256 and the provenance files,
# put into the wheel by the build backend so `pip install` + import keeps the trust gate.
PROVENANCE_DIR = "_bento_provenance"
# Files a bundle has at its top; a service package may not take one of their names.
TOP_LEVEL_FILES = (METADATA_FILE, MANIFEST, "README.md", "requirements.txt", "environment.yml", "Dockerfile",
                   "docker-entrypoint.sh", "setup.sh", "pyproject.toml", BUILD_BACKEND_FILE, *PROVENANCE_FILES)
