"""Yatai: the team registry for Bento bundles (docs/yatai.md). Importing this stays cheap:
gRPC, Peewee and minio load only when a client or the server is used."""
from __future__ import annotations

__version__ = "0.1.0"
# Bumped on incompatible protocol changes; clients compare it with GetVersion.
API_VERSION = 1

__all__ = ["__version__", "API_VERSION"]
