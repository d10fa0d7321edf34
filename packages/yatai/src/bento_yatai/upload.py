"""A push as one state machine with a single commit:

    NEW --begin--> RECEIVING --receive--> RECEIVED --verify--> VERIFIED --commit--> COMMITTED
                        \\________________________\\_______________\\______> FAILED (close)

The header is checked first: metadata bounded in size and depth, and on a server that requires
signatures, a signature by an allowed signer. Bytes go to a temporary key while their size and
sha256 are computed and the archive's first members (MANIFEST.sha256, bento.yml) are read as they
pass; the client's trailer must match size and sha256, bento.yml must be the metadata the header
declared and the signature must verify over the manifest; then `Registry.commit_bundle` puts the
archive in place (a rename on a local disk;
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

from bento.bundle.allowed_signers import AllowedSigners
from bento.bundle.inventory import BundleFileError, parse_manifest
from bento.bundle.layout import MANIFEST, METADATA_FILE
from bento.bundle.metadata import BundleMetadata
from bento.bundle.signature import BadSignature, fingerprint, parse_signature
from bento.exceptions import AlreadyExists, BundleError, InvalidArgument
from bento.labels import validate_labels, validate_name, validate_version

from .archive_head import ArchiveHead
from .bounded_json import MAX_JSON_BYTES, loads_bounded
from .errors import PermissionDenied
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
                 max_size: int, signer_key: bytes = b"", required_signers: Optional[AllowedSigners] = None) -> None:
        self.registry = registry
        self.name = name
        self.version = version
        self.metadata_json = metadata_json
        self.max_size = max_size
        self.signer_key = signer_key  # the public key the header names: the trailer's signature must be by it
        self.required_signers = required_signers  # None: signatures are optional
        self.signature = ""
        self.head = ArchiveHead()
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

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    def begin(self) -> None:
        """Check what the client declared before any byte is stored; refuse an existing version early."""
        validate_name(self.name)
        validate_version(self.version)
        try:
            meta = BundleMetadata.from_dict(loads_bounded(self.metadata_json, "upload metadata"),
                                            "bento.yml of the upload")
        except BundleError as e:
            raise InvalidArgument(str(e)) from None
        if (meta.name, meta.version) != (self.name, self.version):
            raise InvalidArgument(f"upload of {self.tag} carries the bento.yml of {meta.tag}")
        validate_labels(meta.labels)
        if len(json.dumps(meta.to_dict(), ensure_ascii=False).encode()) > MAX_JSON_BYTES:
            raise InvalidArgument(f"upload metadata of {self.tag} is larger than {MAX_JSON_BYTES} bytes")
        self.metadata = meta
        self._check_signer()
        if self.registry.exists(self.name, self.version):
            raise AlreadyExists(f"{self.name}:{self.version} already exists in this Yatai; versions are immutable")
        self._advance(UploadState.NEW, UploadState.RECEIVING)

    def _check_signer(self) -> None:
        """Who signs, from the header alone (the signature comes in the trailer): on a server that
        requires signatures, an allowed signer, before any byte is stored."""
        if self.required_signers is None:
            return
        if not self.signer_key:
            raise PermissionDenied(f"this Yatai accepts only bundles signed by an allowed signer and {self.tag} is "
                                   "unsigned: push with --signing-key KEY (or set security.signing_key)")
        if not self.required_signers.principals_of_key(self.signer_key):
            raise PermissionDenied(f"{self.tag} is signed by key {fingerprint(self.signer_key)}, which this Yatai's "
                                   "allowed signers do not list")

    def _watched(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.head.feed(chunk)
            yield chunk

    def receive(self, chunks: Iterator[bytes]) -> None:
        """Stream the archive to a temporary key, hashing and reading its first members as it goes."""
        self._require(UploadState.RECEIVING)
        reader = ChunkReader(self._watched(chunks), self.max_size)
        self.temp_key = self.registry.storage.write_temp(self.upload_id, reader)
        self.size, self.sha256 = reader.size, reader.sha256
        self._advance(UploadState.RECEIVING, UploadState.RECEIVED)

    def verify(self, size: Optional[int], sha256: Optional[str], signature: str = "") -> None:
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
        self._check_head(signature)
        self._advance(UploadState.RECEIVED, UploadState.VERIFIED)

    def _check_head(self, signature: str) -> None:
        """bento.yml in the archive is the declared metadata, and the signature (if any) is the
        publisher's signature of the archive's manifest."""
        files = self.head.files
        if files is None:
            raise InvalidArgument(f"upload of {self.tag}: {self.head.problem or 'the archive ended early'}; "
                                  "nothing was stored")
        manifest, bento_yml = files[MANIFEST], files[METADATA_FILE]
        try:
            listed = parse_manifest(manifest.decode("utf-8"), f"{MANIFEST} of {self.tag}")
        except (BundleFileError, UnicodeDecodeError) as e:
            raise InvalidArgument(f"upload of {self.tag}: {e}") from None
        if listed.get(METADATA_FILE) != hashlib.sha256(bento_yml).hexdigest() or len(bento_yml) > MAX_JSON_BYTES:
            raise InvalidArgument(f"upload of {self.tag}: the archive's {METADATA_FILE} is not the one its {MANIFEST} "
                                  f"lists (or is over {MAX_JSON_BYTES} bytes); nothing was stored")
        try:
            archived = BundleMetadata.from_yaml(bento_yml.decode("utf-8"), f"the archive's {METADATA_FILE}")
        except (BundleError, UnicodeDecodeError, RecursionError) as e:
            raise InvalidArgument(f"upload of {self.tag}: {str(e) or 'bento.yml is nested too deeply'}") from None
        if archived.to_dict() != self.metadata.to_dict():
            raise InvalidArgument(f"upload of {self.tag}: the metadata sent with it is not the archive's "
                                  f"{METADATA_FILE}; nothing was stored")
        if signature or self.signer_key:
            try:
                parsed = parse_signature(signature)
                if parsed.public_key != self.signer_key:
                    raise BadSignature(f"the signature is by key {parsed.fingerprint}, not the key the upload named "
                                       f"({fingerprint(self.signer_key) if self.signer_key else 'none'})")
                parsed.verify(manifest)
            except BadSignature as e:
                raise InvalidArgument(f"upload of {self.tag}: {e}; nothing was stored") from None
            self.signature = parsed.armored

    def commit(self) -> BundleRecord:
        """The single commit: archive moved into place and row inserted in one transaction."""
        self._require(UploadState.VERIFIED)
        meta = self.metadata
        now = utcnow()  # the server's clock orders bundles (`latest`), never the client's claim
        record = BundleRecord(
            name=self.name, version=self.version, created_at=now, uploaded_at=now,
            size=self.size, sha256=self.sha256,
            storage_key=f"{BUNDLES_PREFIX}{self.name}/{self.version}/{self.upload_id}.tar.gz",
            labels=dict(meta.labels), metadata=meta.to_dict(),
            signature=self.signature, signer=fingerprint(self.signer_key) if self.signature else "")
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
