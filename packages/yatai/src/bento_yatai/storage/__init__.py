"""Where bundle archives live. A store keeps opaque archives by key. An upload is written under a
temporary key, then `promote`d; only the database row that records the promoted key makes it
visible, and gc removes whatever no row references once it is older than a grace period.
Backends come from the `yatai_storage_backend` hook (built-ins: a directory and S3)."""
from __future__ import annotations

from typing import Any, BinaryIO, Callable, Iterator, Mapping, Optional, Protocol

from bento.exceptions import InvalidArgument
from bento.plugins import PluginManager, default_manager

__all__ = ["Storage", "get_storage", "CHUNK_SIZE", "BUNDLES_PREFIX"]

CHUNK_SIZE = 1 << 20
BUNDLES_PREFIX = "bundles/"  # where committed archives go (stores that can move them)


class Storage(Protocol):
    url: str

    def write_temp(self, upload_id: str, stream: BinaryIO) -> str:
        """Copy `stream` to end of file into a new temporary object; return its key. On any
        error nothing is left behind (a crash may leave data for `gc`)."""

    def promote(self, temp_key: str, final_key: str) -> str:
        """Put a complete upload in place; return the key it is now stored under (`final_key`,
        or `temp_key` where a move would mean copying every byte). Idempotent, so a retried
        commit may call it again."""

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks of at most CHUNK_SIZE; NotFound if missing."""

    def discard(self, key: str) -> None:
        """Remove an object if it exists."""

    def check(self) -> None:
        """Raise Unavailable when the store cannot be used right now."""

    def gc(self, grace_seconds: float, referenced: Callable[[str], bool]) -> int:
        """Remove archives that no row references (`referenced(key)` is False) and are older
        than the grace period; return how many objects were removed."""


def get_storage(url: str, options: Mapping[str, Any], pm: Optional[PluginManager] = None) -> Storage:
    """The store for `--repo-base-url`, from whichever plugin of `pm` (default: the process'
    plugins) handles the URL."""
    storage = (pm or default_manager()).hook.yatai_storage_backend(url=url, options=options)
    if storage is None:
        raise InvalidArgument(f"no storage backend handles {url!r}: use a directory, s3://bucket/prefix, "
                              "or install a plugin that implements yatai_storage_backend")
    return storage
