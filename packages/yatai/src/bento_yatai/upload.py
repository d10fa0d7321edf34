"""A push as one state machine with a single commit:

    NEW --begin--> RECEIVING --receive--> RECEIVED --verify--> VERIFIED --commit--> COMMITTED
                        \\________________________\\_______________\\______> FAILED (close)

Bytes go to a temporary key while their size and sha256 are computed; the client's trailer must
match both; then `Registry.commit_bundle` puts the archive in place (a rename on a local disk;
on S3 the unique upload key is kept, a copy would rewrite every byte) and inserts the row in one
transaction. Anything short of COMMITTED leaves no visible row, and `close` discards the
temporary bytes (a killed server leaves them to the registry's gc).
"""
from __future__ import annotations

import enum
import hashlib
import json
import uuid
from typing import Any, Iterator, Optional

from bento.bundle.metadata import BundleMetadata
from bento.exceptions import AlreadyExists, BundleError, InvalidArgument
from bento.labels import validate_labels, validate_name, validate_version

from .registry import BundleRecord, Registry, utcnow
from .storage import BUNDLES_PREFIX

__all__ = ["Upload", "UploadState", "ChunkReader"]


class UploadState(enum.Enum):
    NEW = "new"
    RECEIVING = "receiving"
    RECEIVED = "received"
    VERIFIED = "verified"
    COMMITTED = "committed"
    FAILED = "failed"


class ChunkReader:
    """A read-only file over an iterator of byte chunks that hashes and counts what it hands out
    and refuses to go past `max_size` (so a store can consume an upload as a stream)."""

    def __init__(self, chunks: Iterator[bytes], max_size: int) -> None:
        self._chunks = chunks
        self._buf = bytearray()
        self._done = False
        self.max_size = max_size
        self.size = 0
        self._sha = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def _take(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.max_size:
            raise InvalidArgument(f"upload is larger than this server's limit of {self.max_size} bytes")
        self._sha.update(data)
        return data

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buf) < n):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
            else:
                self._buf += chunk
        n = len(self._buf) if n < 0 else min(n, len(self._buf))
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return self._take(data)


class Upload:
    """One push of NAME:VERSION. Drive it as begin, receive, verify, commit; always close."""

    def __init__(self, registry: Registry, name: str, version: str, metadata_json: str,
                 max_size: int) -> None:
        self.registry = registry
        self.name = name
        self.version = version
        self.metadata_json = metadata_json
        self.max_size = max_size
        self.upload_id = uuid.uuid4().hex
        self.state = UploadState.NEW
        self.temp_key: Optional[str] = None
        self.size = 0
        self.sha256 = ""
        self.metadata: Any = None

    def _require(self, expected: UploadState) -> None:
        if self.state is not expected:
            raise RuntimeError(f"upload {self.upload_id} is {self.state.value}, expected {expected.value}")

    def _advance(self, expected: UploadState, new: UploadState) -> None:
        self._require(expected)
        self.state = new

    def begin(self) -> None:
        """Check what the client declared before any byte is stored; refuse an existing version early."""
        validate_name(self.name)
        validate_version(self.version)
        try:
            meta = BundleMetadata.from_dict(json.loads(self.metadata_json), "bento.yml of the upload")
        except ValueError as e:
            raise InvalidArgument(f"upload metadata is not JSON: {e}") from None
        except BundleError as e:
            raise InvalidArgument(str(e)) from None
        if (meta.name, meta.version) != (self.name, self.version):
            raise InvalidArgument(f"upload of {self.name}:{self.version} carries the bento.yml of {meta.tag}")
        validate_labels(meta.labels)
        self.metadata = meta
        if self.registry.exists(self.name, self.version):
            raise AlreadyExists(f"{self.name}:{self.version} already exists in this Yatai; versions are immutable")
        self._advance(UploadState.NEW, UploadState.RECEIVING)

    def receive(self, chunks: Iterator[bytes]) -> None:
        """Stream the archive to a temporary key, hashing as it goes."""
        self._require(UploadState.RECEIVING)
        reader = ChunkReader(chunks, self.max_size)
        self.temp_key = self.registry.storage.write_temp(self.upload_id, reader)
        self.size, self.sha256 = reader.size, reader.sha256
        self._advance(UploadState.RECEIVING, UploadState.RECEIVED)

    def verify(self, size: Optional[int], sha256: Optional[str]) -> None:
        """Compare with the client's trailer: a missing trailer means the client stopped early."""
        if size is None or sha256 is None:
            raise InvalidArgument("upload ended before its trailer (size and sha256): the client stopped "
                                  "sending; nothing was stored, push again")
        if size != self.size:
            raise InvalidArgument(f"upload size mismatch: the client sent {size} bytes, the server received "
                                  f"{self.size}; nothing was stored, push again")
        if sha256.lower() != self.sha256:
            raise InvalidArgument(f"upload sha256 mismatch: the client computed {sha256}, the server {self.sha256}; "
                                  "the archive was corrupted in transit; nothing was stored, push again")
        self._advance(UploadState.RECEIVED, UploadState.VERIFIED)

    def commit(self) -> BundleRecord:
        """The single commit: archive moved into place and row inserted in one transaction."""
        self._require(UploadState.VERIFIED)
        meta = self.metadata
        record = BundleRecord(
            name=self.name, version=self.version, created_at=meta.created_at, uploaded_at=utcnow(),
            size=self.size, sha256=self.sha256,
            storage_key=f"{BUNDLES_PREFIX}{self.name}/{self.version}/{self.upload_id}.tar.gz",
            labels=dict(meta.labels), metadata=meta.to_dict())
        record = self.registry.commit_bundle(record, self.temp_key)
        self._advance(UploadState.VERIFIED, UploadState.COMMITTED)
        return record

    def close(self) -> None:
        """Discard the temporary bytes of an upload that did not commit."""
        if self.state is UploadState.COMMITTED:
            return
        self.state = UploadState.FAILED
        if self.temp_key is not None:
            try:
                self.registry.storage.discard(self.temp_key)
            finally:
                self.temp_key = None
