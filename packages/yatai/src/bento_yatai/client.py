"""Yatai's Python API (SPEC section 2): `get_yatai_client(url, token).repository.list/get/push/
pull/delete` and `.deployment.*`, the same operations as the CLI. Every failed call raises a
BentoError subclass carrying the server's message (see bento_yatai.errors)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import grpc

from bento.bundle.layout import MANIFEST, ORIGIN_FILE, PROVENANCE_FILES, SIGNATURE_FILE
from bento.bundle.manifest import verify_manifest
from bento.bundle.metadata import BundleMetadata
from bento.bundle.reader import read_metadata
from bento.bundle.signature import key_file_public_blob, load_private_key, parse_signature, preload, sign
from bento.config import Config, load_config
from bento.exceptions import BentoError, BundleError, InvalidArgument, NotFound
from bento.labels import Requirement
from bento.plugins import default_manager
from bento.repository import BundleInfo, LocalRepository, parse_tag

from .auth import bearer_metadata
from .config import MIN_UNPACK_CAP, YataiConfig, yatai_config
from .errors import from_rpc_error
from .proto import yatai_pb2 as pb
from .proto import yatai_pb2_grpc
from .safe_tar import Limits, UnsafeArchive, safe_extract

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
    """The registry's record: its labels, and its time of the push as created_at (the order
    `latest` follows; the bundle's own bento.yml keeps the author's)."""
    data = json.loads(msg.metadata_json)
    data["labels"] = dict(msg.labels)
    data["created_at"] = msg.created_at or data.get("created_at")
    return BundleInfo(metadata=BundleMetadata.from_dict(data, f"registry record of {msg.name}:{msg.version}"),
                      location=f"{base_url}/{msg.name}:{msg.version}", signer=msg.signer or None)


def _selector_text(labels: Union[None, str, Sequence[Requirement]]) -> str:
    if labels is None:
        return ""
    return labels if isinstance(labels, str) else ", ".join(str(r) for r in labels)


def unpack_limits(cfg: YataiConfig, archive_size: int) -> Limits:
    """What a pulled archive of `archive_size` bytes may expand to: `max_unpack_ratio` times its
    size (at least MIN_UNPACK_CAP), never more than `max_unpacked_size`."""
    cap = min(cfg.max_unpacked_size, max(cfg.max_unpack_ratio * archive_size, MIN_UNPACK_CAP))
    return Limits(max_bytes=cap, max_members=cfg.max_members)


class YataiClient:
    """A connection to one Yatai server. Cheap to create; close() when done (or use `with`).

    `config`: the [yatai] section (pull limits; default: its defaults). `signing_key`: an OpenSSH
    ed25519 private key file; pushes are then signed with it (`passphrase` if it is encrypted)."""

    def __init__(self, url: str, token: Optional[str] = None, *, tls_ca_cert: Optional[str] = None,
                 timeout: float = 60.0, config: Optional[YataiConfig] = None, signing_key: str = "",
                 passphrase: Optional[bytes] = None) -> None:
        self.target, tls = parse_url(url)
        self.config = config or YataiConfig()
        self.signing_key = signing_key
        self.passphrase = passphrase
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
        signing = None
        try:
            signing = self._signing(bundle_dir)
            resp = self._client.call("UploadBundle", _upload_requests(meta, signing, archive, progress),
                                     timeout=None)
        except BentoError:
            failure = signing.failure() if signing else None
            if failure is not None:  # gRPC only says the request stream broke: say why
                raise failure from None
            raise
        finally:
            archive.close()  # the call may end (e.g. ALREADY_EXISTS) while gRPC still reads the stream
        return _bundle_info(resp.bundle, self._client.url)

    def _signing(self, bundle_dir: str) -> Optional["_Signing"]:
        """The publisher's signature of the manifest: made with the client's signing key, else the
        one the bundle came with (a pulled signed bundle keeps its author's), else none."""
        with open(os.path.join(bundle_dir, MANIFEST), "rb") as f:
            manifest = f.read()
        key, passphrase = self._client.signing_key, self._client.passphrase
        if key:
            key = os.path.expanduser(key)
            public, encrypted = key_file_public_blob(key)
            if encrypted and passphrase is None:
                raise InvalidArgument(f"signing key {key} is passphrase-protected: pass its passphrase, or use a key "
                                      "kept for signing bundles")
            return _Signing(public, lambda: sign(manifest, load_private_key(key, passphrase)))
        try:
            with open(os.path.join(bundle_dir, SIGNATURE_FILE), encoding="utf-8") as f:
                carried = f.read()
        except FileNotFoundError:
            return None
        return _Signing(parse_signature(carried).public_key, lambda: carried)

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
            safe_extract(tmp.name, dest, unpack_limits(self._client.config, header.size))
        try:
            carried = [n for n in PROVENANCE_FILES if os.path.lexists(os.path.join(dest, n))]
            if carried:
                raise UnsafeArchive(f"the archive of {header.name}:{header.version} carries {carried[0]}, which only "
                                    "the puller writes: refused")
            meta = read_metadata(dest)
            if (meta.name, meta.version) != (header.name, header.version):
                raise BundleError(f"the archive of {header.name}:{header.version} holds bundle {meta.tag}: refused")
            verify_manifest(dest)
            if header.signature:
                _check_signature(header, dest)
                with open(os.path.join(dest, SIGNATURE_FILE), "w", encoding="utf-8") as f:
                    f.write(header.signature)
            with open(os.path.join(dest, ORIGIN_FILE), "w", encoding="utf-8") as f:
                json.dump({"registry": self._client.url, "tag": meta.tag, "sha256": header.sha256,
                           "signer": header.signer or None, "pulled_at": datetime.now(timezone.utc).isoformat()}, f)
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


def _check_signature(header: Any, dest: str) -> None:
    """A signed bundle's signature verifies over the manifest it arrived with, or the pull fails
    naming the bundle and the key (whether the key is one the user trusts is for load to say)."""
    with open(os.path.join(dest, MANIFEST), "rb") as f:
        manifest = f.read()
    try:
        parse_signature(header.signature).verify(manifest)
    except BundleError as e:
        raise BundleError(f"{header.name}:{header.version}: {e}; nothing was kept") from None


class _Signing:
    """A signature made in a background thread while the archive streams (loading the crypto
    library takes about a hundred times longer than signing); the header names the key."""

    def __init__(self, public_key: bytes, make: Callable[[], str]) -> None:
        self.public_key = public_key
        self._outcome: list = []
        self._thread = threading.Thread(target=self._run, args=(make,), name="bento-sign", daemon=True)
        self._thread.start()

    def _run(self, make: Callable[[], str]) -> None:
        try:
            self._outcome.append(make())
        except BaseException as e:  # handed to the caller by signature()
            self._outcome.append(e)

    def failure(self) -> Optional[BaseException]:
        self._thread.join()
        return self._outcome[0] if isinstance(self._outcome[0], BaseException) else None

    def signature(self) -> str:
        failure = self.failure()
        if failure is not None:
            raise failure
        return self._outcome[0]


def _upload_requests(meta: BundleMetadata, signing: Optional[_Signing], archive: Any,
                     progress: Optional[Progress]) -> Iterator[Any]:
    yield pb.UploadRequest(header=pb.UploadHeader(name=meta.name, version=meta.version,
                                                  signer_key=signing.public_key if signing else b"",
                                                  metadata_json=json.dumps(meta.to_dict(), ensure_ascii=False)))
    sha, size = hashlib.sha256(), 0
    for chunk in archive:
        sha.update(chunk)
        size += len(chunk)
        if progress:
            progress(archive.consumed, archive.total)
        yield pb.UploadRequest(chunk=chunk)
    if progress:
        progress(archive.total, archive.total)
    yield pb.UploadRequest(trailer=pb.UploadTrailer(size=size, sha256=sha.hexdigest(),
                                                    signature=signing.signature() if signing else ""))


def _receive(messages: Iterator[Any], out: Any, progress: Optional[Progress]) -> Any:
    """Write a download's chunks to `out`; returns its bundle header once size and sha256 match."""
    header = None
    sha, size = hashlib.sha256(), 0
    for msg in messages:
        if msg.WhichOneof("part") == "bundle":
            header = msg.bundle
            if header.signature:
                preload()  # ready by the time the archive is in and its manifest is checked
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
                     config: Optional[Config] = None, signing_key: Optional[str] = None,
                     passphrase: Optional[bytes] = None) -> YataiClient:
    """A client for `url` (default config yatai.url / BENTO_YATAI_URL) with `token` (default
    yatai.token / BENTO_YATAI_TOKEN) that signs pushes with `signing_key` (default config
    security.signing_key); `config` defaults to the process' configuration."""
    config = config if config is not None else load_config(default_manager())
    cfg = yatai_config(config)
    url = url or cfg.url
    if not url:
        raise InvalidArgument("no Yatai URL: pass --yatai-url, set BENTO_YATAI_URL, or "
                              "`bento config set yatai.url=HOST:PORT`")
    return YataiClient(url, token or cfg.token or None, tls_ca_cert=cfg.tls_ca_cert or None, config=cfg,
                       signing_key=signing_key or config.security.signing_key, passphrase=passphrase)
