"""The registry database: Peewee models, connections to SQLite or PostgreSQL, and migrations.

SQLite runs in WAL mode with a busy timeout and IMMEDIATE write transactions, so concurrent
pushes queue for the write lock instead of failing with "database is locked". PostgreSQL uses a
connection pool; a connection lost to a server restart is dropped and the unit of work retried
once, then reported as Unavailable.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from bento.exceptions import InvalidArgument

from .errors import Unavailable

__all__ = ["Database", "BundleRow", "BundleLabel", "DeploymentRow", "DeploymentLabel", "default_db_url",
           "redact_url"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_proxy = peewee.DatabaseProxy()


class _Model(peewee.Model):
    class Meta:
        database = _proxy


class BundleRow(_Model):
    """A visible bundle. (name, version) is unique: the insert is the single commit of a push."""

    name = peewee.CharField(max_length=128)
    version = peewee.CharField(max_length=128)
    created_at = peewee.CharField(max_length=40)  # ISO-8601 UTC of this server at the push: sorts as text
    uploaded_at = peewee.CharField(max_length=40)
    size = peewee.BigIntegerField()
    sha256 = peewee.CharField(max_length=64)
    storage_key = peewee.TextField()
    metadata = peewee.TextField()  # bento.yml as JSON
    signature = peewee.TextField(default="")  # the publisher's SSH signature of MANIFEST.sha256, or ""
    signer = peewee.CharField(max_length=80, default="")  # its key's fingerprint, SHA256:...

    class Meta:
        table_name = "bundle"
        indexes = ((("name", "version"), True), (("name", "created_at"), False), (("created_at",), False))


class DeploymentRow(_Model):
    name = peewee.CharField(max_length=128, unique=True)
    platform = peewee.CharField(max_length=64)
    bento = peewee.TextField()  # NAME:VERSION or a bundle path on the deploying machine
    state = peewee.CharField(max_length=16)
    endpoint = peewee.TextField(default="")
    error = peewee.TextField(default="")
    options = peewee.TextField(default="{}")  # JSON object of str -> str
    details = peewee.TextField(default="{}")  # JSON object the platform reported
    created_at = peewee.CharField(max_length=40)
    updated_at = peewee.CharField(max_length=40)

    class Meta:
        table_name = "deployment"
        indexes = ((("platform",), False),)


def _label_table(owner: type, column: str, table: str) -> type:
    """The labels of `owner` rows: one value per (owner, key), indexed by (key, value) so a
    label selector is an index lookup per requirement."""
    meta = type("Meta", (), {"table_name": table, "primary_key": peewee.CompositeKey("owner", "key"),
                             "indexes": ((("key", "value"), False),)})
    return type(f"{owner.__name__[:-3]}Label", (_Model,), {
        "__module__": __name__, "Meta": meta,
        "owner": peewee.ForeignKeyField(owner, column_name=column, object_id_name="owner_id", on_delete="CASCADE"),
        "key": peewee.CharField(max_length=63), "value": peewee.CharField(max_length=63)})


BundleLabel = _label_table(BundleRow, "bundle_id", "bundle_label")
DeploymentLabel = _label_table(DeploymentRow, "deployment_id", "deployment_label")


class _SchemaVersion(_Model):
    version = peewee.IntegerField()

    class Meta:
        table_name = "yatai_schema"


def _create_v1(db: peewee.Database) -> None:
    db.create_tables([BundleRow, BundleLabel, DeploymentRow, DeploymentLabel])


def _v2_signatures_and_server_time(db: peewee.Database) -> None:
    """Signature columns; `created_at` becomes the server's time (it was the client's claim,
    which decided `latest`): the push time is the best server time older rows have."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    present = {c.name for c in db.get_columns("bundle")}  # v1 made today has them already
    migrate(*(migrator.add_column("bundle", f.column_name, f) for f in (BundleRow.signature, BundleRow.signer)
              if f.column_name not in present))
    BundleRow.update(created_at=BundleRow.uploaded_at).execute()


# Append-only: MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: list = [_create_v1, _v2_signatures_and_server_time]
_PG_MIGRATION_LOCK = 0x59A7A1  # advisory lock id: two servers starting together migrate one at a time


def default_db_url() -> str:
    from bento.config import bento_home

    return f"sqlite:///{bento_home() / 'yatai' / 'yatai.db'}"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _connect(url: str) -> peewee.Database:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return peewee.SqliteDatabase(
            path, timeout=30, lock_type="IMMEDIATE",
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal"})
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        dbname = unquote(parts.path.lstrip("/")) or "postgres"
        return PooledPostgresqlDatabase(
            dbname, user=unquote(parts.username or "") or None, password=unquote(parts.password or "") or None,
            host=parts.hostname or "127.0.0.1", port=parts.port or 5432, max_connections=32, stale_timeout=300,
            timeout=10, connect_timeout=5, **dict(parse_qsl(parts.query)))
    raise InvalidArgument(f"unsupported --db-url {redact_url(url)!r}: use sqlite:///PATH or "
                          "postgresql://USER:PASSWORD@HOST:PORT/DBNAME")


class Database:
    """The registry database of this process (the models are bound to the last one opened).
    `run(fn)` is the only way in: a connection per unit of work, one transaction for writes,
    one retry after a lost connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = _connect(url)
        self.is_sqlite = isinstance(self.db, peewee.SqliteDatabase)
        _proxy.initialize(self.db)

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)!r})"

    def run(self, fn: Callable[[], T], write: bool = False) -> T:
        for attempt in (1, 2):
            try:
                with self.db.connection_context():
                    if not write:
                        return fn()
                    with self.db.atomic():
                        return fn()
            except (peewee.OperationalError, peewee.InterfaceError) as e:
                self._drop_connections()
                if attempt == 2:
                    raise Unavailable(f"database {redact_url(self.url)} is unavailable: {' '.join(str(e).split())}"
                                      ) from None
                log.warning("database error, retrying once: %s", e)
                time.sleep(0.3)
        raise AssertionError("unreachable")

    def _drop_connections(self) -> None:
        """After a server restart every pooled connection is dead: drop them all."""
        if isinstance(self.db, PooledPostgresqlDatabase):
            if not self.db.is_closed():
                self.db.manual_close()
            self.db.close_idle()
        elif not self.db.is_closed():
            self.db.close()

    def check(self) -> None:
        self.run(lambda: self.db.execute_sql("SELECT 1").fetchall())

    def migrate(self) -> int:
        """Create or upgrade the schema; returns the schema version."""

        def upgrade() -> int:
            if not self.is_sqlite:
                self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_MIGRATION_LOCK,))
            self.db.create_tables([_SchemaVersion])
            row = _SchemaVersion.select().first()
            current = row.version if row else 0
            if current > len(MIGRATIONS):
                raise InvalidArgument(f"database {redact_url(self.url)} has schema version {current}, newer than "
                                      f"this bento-yatai knows ({len(MIGRATIONS)}): upgrade bento-yatai")
            for step in MIGRATIONS[current:]:
                step(self.db)
            if row is None:
                _SchemaVersion.create(version=len(MIGRATIONS))
            else:
                _SchemaVersion.update(version=len(MIGRATIONS)).execute()
            return len(MIGRATIONS)

        return self.run(upgrade, write=True)

    def close(self) -> None:
        if isinstance(self.db, PooledPostgresqlDatabase):
            self.db.close_all()
        elif not self.db.is_closed():
            self.db.close()
