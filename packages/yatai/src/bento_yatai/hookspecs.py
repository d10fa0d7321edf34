"""Hooks bento-yatai adds to the `bento` plugin manager (through `bento_addhooks`), so a third
party can plug in another object store without core knowing about Yatai."""
from __future__ import annotations

from typing import Any, Mapping

from bento.hookspecs import hookspec


@hookspec(firstresult=True)
def yatai_storage_backend(url: str, options: Mapping[str, Any]) -> Any:
    """Return the bundle store for `--repo-base-url URL` (an object with the methods of
    `bento_yatai.storage.Storage`), or None when this plugin does not handle `url`.
    `options` holds the `[yatai]` settings (s3_endpoint_url, s3_access_key, ...). The built-in
    local-directory and S3 stores answer last."""
