"""Where things are in a bundle: the names every reader and writer of the format agrees on."""
from __future__ import annotations

__all__ = ["METADATA_FILE", "MANIFEST", "ARTIFACTS_DIR", "STATIC_DIR", "ORIGIN_FILE"]

METADATA_FILE = "bento.yml"  # at the top and inside the package directory <Name>/
MANIFEST = "MANIFEST.sha256"  # the sha256 of every other file, at the top
ARTIFACTS_DIR = "artifacts"  # <Name>/artifacts/: each artifact's saved files
STATIC_DIR = "web_static_content"  # <Name>/web_static_content/: @web_static_content's files
# Written beside MANIFEST.sha256 by a registry client when it extracts a pulled bundle.
ORIGIN_FILE = ".bento-origin"
