"""Yatai's Python API (SPEC section 2): `get_yatai_client(url, token).repository.list/get/push/
pull/delete` and `.deployment.*`, the same operations as the CLI. Every failed call raises a
BentoError subclass carrying the server's message (see bento_yatai.errors)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import grpc

from bento.bundle.layout import ORIGIN_FILE
from bento.bundle.manifest import verify_manifest
from bento.bundle.metadata import BundleMetadata
from bento.bundle.reader import read_metadata
from bento.config import Config
from bento.exceptions import BundleError, InvalidArgument, NotFound
from bento.labels import Requirement
from bento.repository import BundleInfo, LocalRepository, parse_tag

from .auth import bearer_metadata
from .config import YataiConfig, yatai_config
from .errors import from_rpc_error
from .proto import yatai_pb2 as pb
from .proto import yatai_pb2_grpc
from .safe_tar import Limits, safe_extract

__all__ = ["YataiClient", "RepositoryAPI", "DeploymentAPI", "get_yatai_client", "parse_url"]

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
_READ_METHODS = ("GetBundle", "ListBundles", "DownloadBundle", "GetDeployment", "ListDeployments", "Health",
                 "GetVersion")
# Reads are retried by gRPC itself while the server (or its database) is briefly unavailable.
_SERVICE_CONFIG = json.dumps({"methodConfig": [{
    "name": [{"service": "bento.yatai.v1.Yatai", "method": m} for m in _READ_METHODS],
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.3s", "maxBackoff": "2s", "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"]}}]})
_MAX_MESSAGE = 8 << 20


def parse_url(url: str) -> tuple:
    """`host:port`, `grpc://host:port` or `grpcs://host:port` -> (target, uses_tls)."""
    text = (url or "").strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "grpc", text
    host, colon, port = rest.rstrip("/").rpartition(":")
    if scheme not in ("grpc", "grpcs") or not colon or not host or not port.isdigit() or "/" in rest.rstrip("/"):
        raise InvalidArgument(f"invalid Yatai URL {url!r}: use host:port, grpc://host:port or grpcs://host:port")
    return f"{host}:{port}", scheme == "grpcs"


def _bundle_info(msg: Any, base_url: str) -> BundleInfo:
    data = json.loads(msg.metadata_json)
    data["labels"] = dict(msg.labels)
    return BundleInfo(metadata=BundleMetadata.from_dict(data, f"registry record of {msg.name}:{msg.version}"),
                      location=f"{base_url}/{msg.name}:{msg.version}")


def _selector_text(labels: Union[None, str, Sequence[Requirement]]) -> str:
    if labels is None:
        return ""
    return labels if isinstance(labels, str) else ", ".join(str(r) for r in labels)


def _limits(cfg: YataiConfig) -> Limits:
    return Limits(max_bytes=cfg.max_unpacked_size, max_members=cfg.max_members)


class YataiClient:
    """A connection to one Yatai server. Cheap to create; close() when done (or use `with`)."""

    def __init__(self, url: str, token: Optional[str] = None, *, tls_ca_cert: Optional[str] = None,
                 timeout: float = 60.0, limits: Optional[Limits] = None) -> None:
        self.target, tls = parse_url(url)
        self.limits = limits or _limits(YataiConfig())  # what a pulled archive may expand to
        self.url = f"{'grpcs' if tls else 'grpc'}://{self.target}"
        self.timeout = timeout
        self._metadata = bearer_metadata(token)
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.enable_retries", 1),
                   ("grpc.service_config", _SERVICE_CONFIG)]
        if tls:
            roots = None
            if tls_ca_cert:
                try:
                    with open(tls_ca_cert, "rb") as f:
                        roots = f.read()
                except OSError as e:
                    raise InvalidArgument(f"cannot read yatai.tls_ca_cert {tls_ca_cert}: {e.strerror}") from None
            self._channel = grpc.secure_channel(self.target, grpc.ssl_channel_credentials(roots), options)
        else:
            self._channel = grpc.insecure_channel(self.target, options)
        self._stub = yatai_pb2_grpc.YataiStub(self._channel)
        self.repository = RepositoryAPI(self)
        self.deployment = DeploymentAPI(self)

    def __repr__(self) -> str:
        return f"YataiClient({self.url!r})"

    def __enter__(self) -> "YataiClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def call(self, method: str, request: Any, timeout: Optional[float] = -1.0) -> Any:
        """One unary (or client-streaming) call; errors become BentoErrors."""
        try:
            return getattr(self._stub, method)(request, metadata=self._metadata,
                                               timeout=self.timeout if timeout == -1.0 else timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self.url) from None

    def stream(self, method: str, request: Any) -> Iterator[Any]:
        """A server-streaming call's messages; errors become BentoErrors."""
        call = getattr(self._stub, method)(request, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as e:
            raise from_rpc_error(e, self.url) from None
        finally:
            call.cancel()

    def version(self) -> tuple:
        """(bento-yatai version, protocol version) of the server."""
        resp = self.call("GetVersion", pb.VersionRequest())
        return resp.version, resp.api_version

    def health(self) -> dict:
        resp = self.call("Health", pb.HealthRequest())
        return {"ok": resp.ok, "components": {c.name: {"ok": c.ok, "detail": c.detail} for c in resp.components}}


class RepositoryAPI:
    """Bundles in the registry (`yc.repository`)."""

    def __init__(self, client: YataiClient) -> None:
        self._client = client

    def list(self, name: Optional[str] = None, labels: Union[None, str, Sequence[Requirement]] = None,
             limit: Optional[int] = None, offset: int = 0, ascending: bool = False) -> list:
        """Bundles newest first (filtered and paged by the server's database)."""
        request = pb.ListBundlesRequest(name=name or "", label_selector=_selector_text(labels), limit=limit or 0,
                                        offset=offset, ascending=ascending)
        return [_bundle_info(m, self._client.url) for m in self._client.stream("ListBundles", request)]

    def get(self, tag: str) -> BundleInfo:
        name, version = parse_tag(tag)
        return _bundle_info(self._client.call("GetBundle", pb.GetBundleRequest(name=name, version=version or "")),
                            self._client.url)

    def delete(self, tag: str) -> BundleInfo:
        name, version = parse_tag(tag)
        if version is None:
            version = self.get(tag).version
        msg = self._client.call("DeleteBundle", pb.DeleteBundleRequest(name=name, version=version))
        return _bundle_info(msg, self._client.url)

    def update_labels(self, tag: str, set: Optional[Mapping[str, str]] = None,  # noqa: A002 - mirrors the RPC
                      remove: Sequence[str] = ()) -> BundleInfo:
        """Change the registry's labels of a bundle (its bento.yml keeps the labels it was saved with)."""
        name, version = parse_tag(tag)
        msg = self._client.call("UpdateLabels", pb.UpdateLabelsRequest(name=name, version=version or "",
                                                                       set=dict(set or {}), remove=list(remove)))
        return _bundle_info(msg, self._client.url)

    # ------------------------------------------------------------ push
    def push(self, bento: str, progress: Optional[Progress] = None) -> BundleInfo:
        """Upload a bundle (a directory, or a tag in the local repository) as a streamed tar.gz."""
        bundle_dir = bento if os.path.isdir(bento) else LocalRepository.default().get(bento).location
        return self.push_dir(bundle_dir, progress)

    def push_dir(self, bundle_dir: str, progress: Optional[Progress] = None) -> BundleInfo:
        from .archive import ArchiveStream

        meta = read_metadata(bundle_dir)
        archive = ArchiveStream(bundle_dir)
        try:
            resp = self._client.call("UploadBundle", _upload_requests(meta, archive, progress), timeout=None)
        finally:
            archive.close()  # the call may end (e.g. ALREADY_EXISTS) while gRPC still reads the stream
        return _bundle_info(resp.bundle, self._client.url)

    # ------------------------------------------------------------ pull
    def download(self, tag: str, dest: str, progress: Optional[Progress] = None) -> BundleInfo:
        """Fetch the archive, check its size and sha256, extract it safely into the new directory
        `dest`, check the manifest and mark the bundle as coming from this registry."""
        return _bundle_info(self._download(tag, dest, progress), self._client.url)

    def _download(self, tag: str, dest: str, progress: Optional[Progress]) -> Any:
        name, version = parse_tag(tag)
        parent = os.path.dirname(os.path.abspath(dest))
        os.makedirs(parent, exist_ok=True)
        request = pb.GetBundleRequest(name=name, version=version or "")
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".pull-", suffix=".tar.gz") as tmp:
            header = _receive(self._client.stream("DownloadBundle", request), tmp, progress)
            safe_extract(tmp.name, dest, self._client.limits)
        try:
            meta = read_metadata(dest)
            if (meta.name, meta.version) != (header.name, header.version):
                raise BundleError(f"the archive of {header.name}:{header.version} holds bundle {meta.tag}: refused")
            verify_manifest(dest)
            with open(os.path.join(dest, ORIGIN_FILE), "w", encoding="utf-8") as f:
                json.dump({"registry": self._client.url, "tag": meta.tag, "sha256": header.sha256,
                           "pulled_at": datetime.now(timezone.utc).isoformat()}, f)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return header

    def fetch(self, tag: str, cache_root: str) -> str:
        """A bundle directory under `cache_root/<archive sha256>/`, downloaded only once."""
        name, version = parse_tag(tag)
        msg = self._client.call("GetBundle", pb.GetBundleRequest(name=name, version=version or ""))
        path = os.path.join(cache_root, msg.sha256, "bundle")
        if os.path.isdir(path):
            return path
        os.makedirs(cache_root, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=cache_root, prefix=".fetch-")
        try:
            header = self._download(f"{msg.name}:{msg.version}", os.path.join(tmp, "bundle"), None)
            final = os.path.join(cache_root, header.sha256)
            try:
                os.rename(tmp, final)
            except OSError:  # another process cached the same archive first
                pass
            return os.path.join(final, "bundle")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def pull(self, tag: str, progress: Optional[Progress] = None) -> str:
        """Download a bundle into the local repository; returns its path there (an existing
        local copy of the same version is kept: versions are immutable)."""
        local = LocalRepository.default()
        info = self.get(tag)
        try:
            return local.get(info.tag).location
        except NotFound:
            pass
        staging = local.staging_dir()
        try:
            self.download(info.tag, os.path.join(staging, "bundle"), progress)
            return local.add(os.path.join(staging, "bundle")).location
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _upload_requests(meta: BundleMetadata, archive: Any, progress: Optional[Progress]) -> Iterator[Any]:
    yield pb.UploadRequest(header=pb.UploadHeader(name=meta.name, version=meta.version,
                                                  metadata_json=json.dumps(meta.to_dict())))
    sha, size = hashlib.sha256(), 0
    for chunk in archive:
        sha.update(chunk)
        size += len(chunk)
        if progress:
            progress(archive.consumed, archive.total)
        yield pb.UploadRequest(chunk=chunk)
    if progress:
        progress(archive.total, archive.total)
    yield pb.UploadRequest(trailer=pb.UploadTrailer(size=size, sha256=sha.hexdigest()))


def _receive(messages: Iterator[Any], out: Any, progress: Optional[Progress]) -> Any:
    """Write a download's chunks to `out`; returns its bundle header once size and sha256 match."""
    header = None
    sha, size = hashlib.sha256(), 0
    for msg in messages:
        if msg.WhichOneof("part") == "bundle":
            header = msg.bundle
            continue
        if header is None:
            raise BundleError("the registry sent archive bytes before saying which bundle they are")
        out.write(msg.chunk)
        sha.update(msg.chunk)
        size += len(msg.chunk)
        if size > header.size:
            raise BundleError(f"download of {header.name}:{header.version} is longer than the {header.size} bytes "
                              "announced: refused")
        if progress:
            progress(size, header.size)
    if header is None:
        raise BundleError("the registry sent no bundle")
    if size != header.size or sha.hexdigest() != header.sha256:
        raise BundleError(f"download of {header.name}:{header.version} is corrupt: got {size} bytes with sha256 "
                          f"{sha.hexdigest()}, expected {header.size} bytes with {header.sha256}; nothing was kept, "
                          "pull again")
    out.flush()
    return header


class DeploymentAPI:
    """Deployment records in the registry (`yc.deployment`), as dicts with the fields of
    `bento.deployer.Deployment` (what `bento deployment` keeps in Yatai when yatai.url is set)."""

    def __init__(self, client: YataiClient) -> None:
        self._client = client

    @staticmethod
    def _dict(msg: Any) -> dict:
        return {"name": msg.name, "platform": msg.platform, "bento": msg.bento, "state": msg.state,
                "endpoint": msg.endpoint or None, "labels": dict(msg.labels), "created_at": msg.created_at,
                "updated_at": msg.updated_at, "error": msg.error or None, "options": dict(msg.options),
                "details": json.loads(msg.details_json) if msg.details_json else {}}

    @staticmethod
    def _request(record: Mapping[str, Any]) -> Any:
        return pb.DeploymentRequest(deployment=pb.Deployment(
            name=record["name"], platform=record["platform"], bento=record["bento"],
            state=record.get("state") or "pending", endpoint=record.get("endpoint") or "",
            labels=dict(record.get("labels") or {}), created_at=record.get("created_at") or "",
            updated_at=record.get("updated_at") or "", error=record.get("error") or "",
            options={k: str(v) for k, v in (record.get("options") or {}).items()},
            details_json=json.dumps(record.get("details") or {})))

    def create(self, record: Mapping[str, Any]) -> dict:
        """Insert a new record; AlreadyExists when the name is taken."""
        return self._dict(self._client.call("CreateDeployment", self._request(record)))

    def replace(self, record: Mapping[str, Any]) -> dict:
        """Overwrite the record of that name; NotFound when it was deleted."""
        return self._dict(self._client.call("ReplaceDeployment", self._request(record)))

    def get(self, name: str) -> dict:
        return self._dict(self._client.call("GetDeployment", pb.DeploymentName(name=name)))

    def list(self, labels: Union[None, str, Sequence[Requirement]] = None, platform: Optional[str] = None,
             limit: Optional[int] = None, offset: int = 0) -> list:
        resp = self._client.call("ListDeployments", pb.ListDeploymentsRequest(
            label_selector=_selector_text(labels), platform=platform or "", limit=limit or 0, offset=offset))
        return [self._dict(d) for d in resp.deployments]

    def delete(self, name: str) -> dict:
        return self._dict(self._client.call("DeleteDeployment", pb.DeploymentName(name=name)))


def get_yatai_client(url: Optional[str] = None, token: Optional[str] = None,
                     config: Optional[Config] = None) -> YataiClient:
    """A client for `url` (default config yatai.url / BENTO_YATAI_URL) with `token` (default
    yatai.token / BENTO_YATAI_TOKEN); `config` defaults to the process' configuration."""
    cfg = yatai_config(config)
    url = url or cfg.url
    if not url:
        raise InvalidArgument("no Yatai URL: pass --yatai-url, set BENTO_YATAI_URL, or "
                              "`bento config set yatai.url=HOST:PORT`")
    return YataiClient(url, token or cfg.token or None, tls_ca_cert=cfg.tls_ca_cert or None,
                       limits=_limits(cfg))
