"""OpenAPI 3 pieces the adapters describe their request bodies with."""
from __future__ import annotations

from typing import Sequence

__all__ = ["BINARY", "form_files"]

BINARY = {"type": "string", "format": "binary"}


def form_files(names: Sequence[str]) -> dict:
    """`requestBody.content` entry for a multipart form with one file per name."""
    schema = {"type": "object", "properties": {n: dict(BINARY) for n in names}, "required": list(names)}
    return {"multipart/form-data": {"schema": schema}}
