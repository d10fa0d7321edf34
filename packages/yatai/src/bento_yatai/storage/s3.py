"""Bundles in an S3-compatible bucket (AWS S3, MinIO, Swift s3api, Ceph) through `minio`.

An archive is a "directory" of segment objects (`archives/<upload id>/000000`, `000001`, ... of
SEGMENT bytes), each written with one plain PUT while the upload streams in (a few in
parallel). Nothing is ever a half-finished multipart upload, so whatever a killed server leaves
is ordinary objects that gc lists and removes by age. S3 has no rename: moving an archive
would copy every byte, so `promote` keeps it under its unique upload key and the database row
alone makes it visible. The HTTP client uses short connect timeouts and few retries so a store
that is down is reported as Unavailable within seconds; the pool reconnects once it is back.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from bento.exceptions import InvalidArgument, NotFound

from ..errors import Unavailable
from . import CHUNK_SIZE

__all__ = ["S3Storage"]

SEGMENT = 8 << 20
ARCHIVES_PREFIX = "archives/"
_PARALLEL = 3


def _http_client() -> Any:
    import certifi
    import urllib3

    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=1.0, read=60.0), maxsize=16, cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=2, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]))


class S3Storage:
    def __init__(self, client: Any, bucket: str, prefix: str, endpoint: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.url = f"s3://{bucket}/{self.prefix}"
        self._bucket_ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.url!r} at {self.endpoint})"

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> "S3Storage":
        from minio import Minio

        parts = urlsplit(url)
        if not parts.netloc:
            raise InvalidArgument(f"{url!r} names no bucket: use s3://BUCKET/PREFIX")
        endpoint = options.get("s3_endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or "https://s3.amazonaws.com"
        ep = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if ep.scheme not in ("http", "https") or not ep.netloc:
            raise InvalidArgument(f"--s3-endpoint-url {endpoint!r} must look like http(s)://HOST[:PORT]")
        client = Minio(ep.netloc, secure=ep.scheme == "https", http_client=_http_client(),
                       access_key=options.get("s3_access_key") or os.environ.get("AWS_ACCESS_KEY_ID"),
                       secret_key=options.get("s3_secret_key") or os.environ.get("AWS_SECRET_ACCESS_KEY"),
                       region=options.get("s3_region") or os.environ.get("AWS_REGION") or None)
        return cls(client, parts.netloc, parts.path, f"{ep.scheme}://{ep.netloc}")

    @contextlib.contextmanager
    def _errors(self, key: str = "") -> Iterator[None]:
        """minio and urllib3 errors as Unavailable (store down or refusing) or NotFound."""
        from minio.error import MinioException, S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject"):
                raise NotFound(f"archive {key} is missing from {self.url}") from None
            raise Unavailable(f"object store {self.endpoint} refused {self.url}{key}: {e.code}: {e.message}") from None
        except (HTTPError, MinioException) as e:
            reason = getattr(e, "reason", None) or e
            raise Unavailable(f"object store {self.endpoint} is unavailable: {type(reason).__name__}: "
                              f"{' '.join(str(reason).split())[:300]}") from None

    def _ensure_bucket(self) -> None:
        with self._lock:
            if self._bucket_ready:
                return
            with self._errors():
                if not self.client.bucket_exists(self.bucket):
                    from minio.error import S3Error

                    try:
                        self.client.make_bucket(self.bucket)
                    except S3Error as e:  # another server created it first
                        if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
            self._bucket_ready = True

    def _segments(self, key: str) -> list:
        """Object names of the archive `key`'s segments (`<prefix><key>/NNNNNN`), in order."""
        return sorted(o.object_name for o in self.client.list_objects(self.bucket, f"{self.prefix}{key}/",
                                                                     recursive=True))

    def _run_parallel(self, jobs: Iterator[Callable[[], Any]]) -> None:
        """Run jobs with at most _PARALLEL in flight (bounding memory for uploads)."""
        with ThreadPoolExecutor(_PARALLEL, thread_name_prefix="yatai-s3") as pool:
            pending: list[Future] = []
            for job in jobs:
                pending.append(pool.submit(job))
                while len(pending) >= _PARALLEL:
                    pending.pop(0).result()
            for f in pending:
                f.result()

    def write_temp(self, upload_id: str, stream: BinaryIO) -> str:
        self._ensure_bucket()
        key = ARCHIVES_PREFIX + upload_id

        def puts() -> Iterator[Callable[[], Any]]:
            for n in range(1 << 20):
                data = stream.read(SEGMENT)
                if not data and n:
                    return
                name = f"{self.prefix}{key}/{n:06d}"
                yield lambda name=name, data=data: self.client.put_object(self.bucket, name, io.BytesIO(data),
                                                                         len(data))
                if len(data) < SEGMENT:
                    return

        try:
            with self._errors(key):
                self._run_parallel(puts())
        except BaseException:
            with contextlib.suppress(Exception):
                self.discard(key)
            raise
        return key

    def promote(self, temp_key: str, final_key: str) -> str:
        return temp_key

    def read(self, key: str) -> Iterator[bytes]:
        with self._errors(key):
            segments = self._segments(key)
            if not segments:
                raise NotFound(f"archive {key} is missing from {self.url}")
            for name in segments:
                resp = self.client.get_object(self.bucket, name)
                try:
                    yield from resp.stream(CHUNK_SIZE)
                finally:
                    resp.close()
                    resp.release_conn()

    def discard(self, key: str) -> None:
        with self._errors(key):
            for name in self._segments(key):
                self.client.remove_object(self.bucket, name)

    def check(self) -> None:
        self._bucket_ready = False
        self._ensure_bucket()

    def gc(self, grace_seconds: float, referenced: Callable[[str], bool]) -> int:
        cutoff = datetime.fromtimestamp(time.time() - grace_seconds, timezone.utc)
        removed = 0
        with self._errors():
            for obj in self.client.list_objects(self.bucket, self.prefix + ARCHIVES_PREFIX, recursive=True):
                archive = obj.object_name[len(self.prefix):].rsplit("/", 1)[0]  # the archive of this segment
                if obj.last_modified and obj.last_modified < cutoff and not referenced(archive):
                    self.client.remove_object(self.bucket, obj.object_name)
                    removed += 1
        return removed
