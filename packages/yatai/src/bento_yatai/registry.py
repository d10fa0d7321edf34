"""The registry's domain layer, shared by the gRPC handlers and the web UI: bundles and
deployment records in the database, archives in the store. Every query pages and filters in SQL."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence

import attrs
import peewee

from bento.exceptions import AlreadyExists, InvalidArgument, NotFound
from bento.labels import Requirement, is_label_word, validate_labels, validate_name, validate_version

from .db import BundleLabel, BundleRow, Database, DeploymentLabel, DeploymentRow
from .selectors_sql import selector_condition
from .storage import Storage

__all__ = ["BundleRecord", "DeploymentRecord", "Registry", "DEPLOYMENT_STATES", "utcnow"]

log = logging.getLogger(__name__)

DEPLOYMENT_STATES = ("pending", "running", "error", "stopped")
MAX_PAGE = 10_000


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@attrs.frozen(kw_only=True)
class BundleRecord:
    name: str
    version: str
    created_at: str
    uploaded_at: str
    size: int
    sha256: str
    storage_key: str
    labels: Mapping[str, str]
    metadata: Mapping[str, Any]  # bento.yml; its labels are the registry's current labels
    signature: str = ""  # armored SSH signature of the archive's MANIFEST.sha256 ("" unsigned)
    signer: str = ""  # the signing key's fingerprint

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def from_row(cls, row: BundleRow, labels: Mapping[str, str]) -> "BundleRecord":
        metadata = {**json.loads(row.metadata), "labels": dict(labels)}
        return cls(name=row.name, version=row.version, created_at=row.created_at, uploaded_at=row.uploaded_at,
                   size=row.size, sha256=row.sha256, storage_key=row.storage_key, labels=dict(labels),
                   metadata=metadata, signature=row.signature, signer=row.signer)


@attrs.frozen(kw_only=True)
class DeploymentRecord:
    """A deployment as core's DeploymentStore keeps it; the registry only stores it."""

    name: str
    platform: str
    bento: str
    state: str = "pending"
    endpoint: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    created_at: str = ""
    updated_at: str = ""
    error: str = ""
    options: Mapping[str, str] = attrs.field(factory=dict)
    details: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_row(cls, row: DeploymentRow, labels: Mapping[str, str]) -> "DeploymentRecord":
        return cls(name=row.name, platform=row.platform, bento=row.bento, state=row.state, endpoint=row.endpoint,
                   labels=dict(labels), created_at=row.created_at, updated_at=row.updated_at, error=row.error,
                   options=json.loads(row.options), details=json.loads(row.details))

    def checked(self) -> "DeploymentRecord":
        """The record if every field is acceptable (timestamps default to now), else InvalidArgument."""
        _check_word("deployment name", self.name)
        _check_word("platform", self.platform)
        if self.state not in DEPLOYMENT_STATES:
            raise InvalidArgument(f"invalid deployment state {self.state[:40]!r}: one of {', '.join(DEPLOYMENT_STATES)}")
        if not self.bento or len(self.bento) > 4096:
            raise InvalidArgument("a deployment names its bundle (NAME:VERSION or a path, at most 4096 characters)")
        now = utcnow()
        return attrs.evolve(self, labels=validate_labels(dict(self.labels)), created_at=self.created_at or now,
                            updated_at=self.updated_at or now)

    def row_fields(self) -> dict:
        return {"platform": self.platform, "bento": self.bento, "state": self.state, "endpoint": self.endpoint,
                "error": self.error, "options": json.dumps(dict(self.options)),
                "details": json.dumps(dict(self.details)), "created_at": self.created_at,
                "updated_at": self.updated_at}


def _check_word(what: str, value: str) -> str:
    if not is_label_word(value):
        raise InvalidArgument(f"invalid {what} {value[:80]!r}: up to 63 letters, digits and -_. "
                              "(letters or digits at both ends)")
    return value


def _check_page(limit: Optional[int], offset: int) -> None:
    if limit is not None and not 0 < limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InvalidArgument(f"offset must not be negative, got {offset}")


def _insert_labels(label_model: Any, owner_id: int, labels: Mapping[str, str]) -> None:
    if labels:
        label_model.insert_many([{"owner": owner_id, "key": k, "value": v} for k, v in labels.items()]).execute()


def _labels_of(label_model: Any, ids: Sequence[int]) -> dict:
    """{owner id: {key: value}} in one query for a page of rows (no query per row)."""
    out: dict = {i: {} for i in ids}
    if ids:
        for lab in label_model.select().where(label_model.owner.in_(list(ids))):
            out[lab.owner_id][lab.key] = lab.value
    return out


class Registry:
    """Bundles and deployments. A push goes through `bento_yatai.upload.Upload`, which ends in
    `commit_bundle`: the one transaction that makes a bundle visible."""

    def __init__(self, db: Database, storage: Storage) -> None:
        self.db = db
        self.storage = storage

    # ------------------------------------------------------------ bundles
    def _bundle_query(self, name: Optional[str], selector: Sequence[Requirement]) -> Any:
        query = BundleRow.select()
        if name:
            query = query.where(BundleRow.name == validate_name(name))
        if selector:
            query = query.where(selector_condition(selector, BundleRow, BundleLabel))
        return query

    def list_bundles(self, name: Optional[str] = None, selector: Sequence[Requirement] = (),
                     limit: Optional[int] = None, offset: int = 0, ascending: bool = False) -> list:
        _check_page(limit, offset)
        order = (BundleRow.created_at.asc(), BundleRow.id.asc()) if ascending else \
            (BundleRow.created_at.desc(), BundleRow.id.desc())

        def query() -> list:
            rows = list(self._bundle_query(name, selector).order_by(*order).limit(limit).offset(offset or None))
            labels = _labels_of(BundleLabel, [r.id for r in rows])
            return [BundleRecord.from_row(r, labels[r.id]) for r in rows]

        return self.db.run(query)

    def _row(self, name: str, version: Optional[str]) -> BundleRow:
        validate_name(name)
        if version in (None, "", "latest"):
            row = (BundleRow.select().where(BundleRow.name == name)
                   .order_by(BundleRow.created_at.desc(), BundleRow.id.desc()).first())
            if row is None:
                raise NotFound(f"no bundle named {name} in this Yatai")
            return row
        row = BundleRow.get_or_none((BundleRow.name == name) & (BundleRow.version == validate_version(version)))
        if row is None:
            raise NotFound(f"bundle {name}:{version} not found in this Yatai")
        return row

    def get_bundle(self, name: str, version: Optional[str] = None) -> BundleRecord:
        def query() -> BundleRecord:
            row = self._row(name, version)
            return BundleRecord.from_row(row, _labels_of(BundleLabel, [row.id])[row.id])

        return self.db.run(query)

    def exists(self, name: str, version: str) -> bool:
        return self.db.run(lambda: BundleRow.select().where(
            (BundleRow.name == name) & (BundleRow.version == version)).exists())

    def commit_bundle(self, record: BundleRecord, temp_key: str) -> BundleRecord:
        """Put the archive in place and insert the row and its labels in one transaction: either
        the bundle is visible with its bytes, or no row exists. The unique (name, version) index
        decides a race: the loser gets AlreadyExists and its archive is discarded."""
        promoted: list = []

        def tx() -> BundleRecord:
            if BundleRow.select().where((BundleRow.name == record.name) &
                                        (BundleRow.version == record.version)).exists():
                raise AlreadyExists(f"{record.tag} already exists in this Yatai; versions are immutable")
            stored = attrs.evolve(record, storage_key=self.storage.promote(temp_key, record.storage_key))
            promoted.append(stored.storage_key)
            metadata = {k: v for k, v in stored.metadata.items() if k != "labels"}
            row = BundleRow.create(name=stored.name, version=stored.version, created_at=stored.created_at,
                                   uploaded_at=stored.uploaded_at, size=stored.size, sha256=stored.sha256,
                                   storage_key=stored.storage_key, metadata=json.dumps(metadata, ensure_ascii=False),
                                   signature=stored.signature, signer=stored.signer)
            _insert_labels(BundleLabel, row.id, stored.labels)
            return stored

        try:
            return self.db.run(tx, write=True)
        except (AlreadyExists, peewee.IntegrityError):
            for key in promoted:  # certainly not committed: nothing references it
                self.storage.discard(key)
            raise AlreadyExists(f"{record.tag} already exists in this Yatai; versions are immutable") from None

    def delete_bundle(self, name: str, version: str) -> BundleRecord:
        """The row goes in one transaction; the archive after it (if that fails, gc removes it)."""

        def tx() -> BundleRecord:
            row = self._row(name, version)
            record = BundleRecord.from_row(row, _labels_of(BundleLabel, [row.id])[row.id])
            BundleLabel.delete().where(BundleLabel.owner == row.id).execute()
            row.delete_instance()
            return record

        record = self.db.run(tx, write=True)
        try:
            self.storage.discard(record.storage_key)
        except Exception as e:  # the bundle is gone for every reader; gc retries the bytes
            log.warning("archive %s of deleted %s left for gc: %s", record.storage_key, record.tag, e)
        return record

    def update_labels(self, name: str, version: str, set_labels: Mapping[str, str],
                      remove: Sequence[str] = ()) -> BundleRecord:
        set_labels = validate_labels(dict(set_labels))
        validate_labels({k: "x" for k in remove})

        def tx() -> BundleRecord:
            row = self._row(name, version)
            keys = list(set(remove) | set(set_labels))
            if keys:
                BundleLabel.delete().where((BundleLabel.owner == row.id) & BundleLabel.key.in_(keys)).execute()
            _insert_labels(BundleLabel, row.id, set_labels)
            return BundleRecord.from_row(row, _labels_of(BundleLabel, [row.id])[row.id])

        return self.db.run(tx, write=True)

    def gc(self, grace_seconds: float) -> int:
        """Remove archives no row points to (dead uploads, deleted bundles), older than the grace
        period (long enough that no upload in progress on any server sharing the store is touched)."""
        referenced = set(self.db.run(lambda: [k for (k,) in BundleRow.select(BundleRow.storage_key).tuples()]))
        return self.storage.gc(grace_seconds, referenced.__contains__)

    # ------------------------------------------------------------ deployments
    def create_deployment(self, record: DeploymentRecord) -> DeploymentRecord:
        """Insert a new record; the unique name makes concurrent creates of one name fail but one."""
        record = record.checked()

        def tx() -> DeploymentRecord:
            if DeploymentRow.select().where(DeploymentRow.name == record.name).exists():
                raise AlreadyExists(f"deployment '{record.name}' already exists: delete it first or choose another name")
            row = DeploymentRow.create(name=record.name, **record.row_fields())
            _insert_labels(DeploymentLabel, row.id, record.labels)
            return record

        try:
            return self.db.run(tx, write=True)
        except peewee.IntegrityError:
            raise AlreadyExists(f"deployment '{record.name}' already exists") from None

    def replace_deployment(self, record: DeploymentRecord) -> DeploymentRecord:
        """Overwrite the record of that name; NotFound when it was deleted meanwhile."""
        record = record.checked()

        def tx() -> DeploymentRecord:
            row = self._deployment_row(record.name)
            DeploymentRow.update(**record.row_fields()).where(DeploymentRow.id == row.id).execute()
            DeploymentLabel.delete().where(DeploymentLabel.owner == row.id).execute()
            _insert_labels(DeploymentLabel, row.id, record.labels)
            return record

        return self.db.run(tx, write=True)

    def _deployment_row(self, name: str) -> DeploymentRow:
        row = DeploymentRow.get_or_none(DeploymentRow.name == _check_word("deployment name", name))
        if row is None:
            raise NotFound(f"no deployment named '{name}'")
        return row

    def get_deployment(self, name: str) -> DeploymentRecord:
        def query() -> DeploymentRecord:
            row = self._deployment_row(name)
            return DeploymentRecord.from_row(row, _labels_of(DeploymentLabel, [row.id])[row.id])

        return self.db.run(query)

    def list_deployments(self, selector: Sequence[Requirement] = (), platform: Optional[str] = None,
                         limit: Optional[int] = None, offset: int = 0) -> list:
        """Records by name, filtered by labels and platform in SQL."""
        _check_page(limit, offset)

        def query() -> list:
            q = DeploymentRow.select()
            if platform:
                q = q.where(DeploymentRow.platform == _check_word("platform", platform))
            if selector:
                q = q.where(selector_condition(selector, DeploymentRow, DeploymentLabel))
            rows = list(q.order_by(DeploymentRow.name).limit(limit).offset(offset or None))
            labels = _labels_of(DeploymentLabel, [r.id for r in rows])
            return [DeploymentRecord.from_row(r, labels[r.id]) for r in rows]

        return self.db.run(query)

    def delete_deployment(self, name: str) -> DeploymentRecord:
        def tx() -> DeploymentRecord:
            row = self._deployment_row(name)
            record = DeploymentRecord.from_row(row, _labels_of(DeploymentLabel, [row.id])[row.id])
            DeploymentLabel.delete().where(DeploymentLabel.owner == row.id).execute()
            row.delete_instance()
            return record

        return self.db.run(tx, write=True)
