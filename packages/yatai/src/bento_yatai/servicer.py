"""gRPC handlers: protobuf in, Registry calls, protobuf out. Every failure leaves as a proper
status with the error's own actionable message; unexpected errors are logged and INTERNAL."""
from __future__ import annotations

import functools
import inspect
import itertools
import json
import logging
import time
from typing import Any, Callable, Iterator, Optional

import grpc

from bento.exceptions import BentoError, InvalidArgument
from bento.labels import parse_selector

from . import API_VERSION, __version__
from .bounded_json import loads_bounded
from .errors import status_code
from .metrics import Metrics
from .proto import yatai_pb2 as pb
from .proto import yatai_pb2_grpc
from .registry import BundleRecord, DeploymentRecord, Registry
from .transfers import DOWNLOAD, UPLOAD, Transfers
from .upload import Upload

__all__ = ["YataiServicer", "bundle_pb", "deployment_pb", "deployment_record"]

log = logging.getLogger(__name__)


def bundle_pb(record: BundleRecord) -> Any:
    return pb.Bundle(name=record.name, version=record.version, created_at=record.created_at,
                     labels=dict(record.labels), metadata_json=json.dumps(record.metadata, ensure_ascii=False),
                     size=record.size, sha256=record.sha256, uploaded_at=record.uploaded_at,
                     signature=record.signature, signer=record.signer)


def deployment_pb(record: DeploymentRecord) -> Any:
    return pb.Deployment(name=record.name, platform=record.platform, bento=record.bento, state=record.state,
                         endpoint=record.endpoint, labels=dict(record.labels), created_at=record.created_at,
                         updated_at=record.updated_at, error=record.error, options=dict(record.options),
                         details_json=json.dumps(dict(record.details)))


def deployment_record(msg: Any) -> DeploymentRecord:
    details = loads_bounded(msg.details_json, "deployment details") if msg.details_json else {}
    if not isinstance(details, dict):
        raise InvalidArgument("deployment details must be a JSON object")
    return DeploymentRecord(name=msg.name, platform=msg.platform, bento=msg.bento, state=msg.state or "pending",
                            endpoint=msg.endpoint, labels=dict(msg.labels), created_at=msg.created_at,
                            updated_at=msg.updated_at, error=msg.error, options=dict(msg.options), details=details)


def _shorten(message: str, limit: int = 500) -> str:
    """Messages echo what the client sent, which may be huge: keep both ends."""
    message = " ".join(message.split())
    return message if len(message) <= limit else f"{message[:limit // 2 - 2]} ... {message[-(limit // 2 - 3):]}"


def _status(exc: BaseException) -> tuple:
    """(status code, message) for an error raised by a handler; unexpected ones are logged."""
    if isinstance(exc, BentoError):
        return status_code(exc), _shorten(str(exc))
    log.exception("internal error")
    return grpc.StatusCode.INTERNAL, f"internal error in Yatai ({type(exc).__name__}); see the server log"


def _handler(func: Callable) -> Callable:
    """Status mapping and metrics around a handler (plain or server-streaming)."""
    method = func.__name__

    def fail(self: "YataiServicer", context: Any, exc: BaseException, started: float) -> None:
        if not context.is_active():  # the client went away (cancelled): nobody to answer
            self.metrics.observe(method, "CANCELLED", started)
            log.info("%s: the client went away: %s", method, _shorten(str(exc)))
            context.abort(grpc.StatusCode.CANCELLED, "the client went away")  # re-raising logs a traceback
        code, message = _status(exc)
        self.metrics.observe(method, code.name, started)
        context.abort(code, message)

    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def streaming(self: "YataiServicer", request: Any, context: Any) -> Iterator[Any]:
            started = time.perf_counter()
            try:
                yield from func(self, request, context)
            except Exception as e:
                fail(self, context, e, started)
            self.metrics.observe(method, "OK", started)

        return streaming

    @functools.wraps(func)
    def unary(self: "YataiServicer", request: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            result = func(self, request, context)
        except Exception as e:
            fail(self, context, e, started)
            raise  # fail() always raises; this keeps the type checker honest
        self.metrics.observe(method, "OK", started)
        return result

    return unary


class _UploadStream:
    """The request stream of UploadBundle: one header, chunks, one trailer."""

    def __init__(self, requests: Iterator[Any], metrics: Metrics, progress: Callable[[], None]) -> None:
        self._requests = requests
        self._metrics = metrics
        self._progress = progress
        self.size: Optional[int] = None
        self.sha256: Optional[str] = None
        self.signature = ""

    def header(self) -> Any:
        first = next(self._requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise InvalidArgument("an upload starts with its header (name, version, metadata)")
        return first.header

    def chunks(self) -> Iterator[bytes]:
        for message in self._requests:
            self._progress()
            part = message.WhichOneof("part")
            if part == "chunk":
                self._metrics.archive_bytes.labels("received").inc(len(message.chunk))
                yield message.chunk
            elif part == "trailer":
                trailer = message.trailer
                self.size, self.sha256, self.signature = trailer.size, trailer.sha256, trailer.signature
                return
            else:
                raise InvalidArgument("an upload carries one header, then chunks, then one trailer")


class YataiServicer(yatai_pb2_grpc.YataiServicer):
    """`required_signers`: None, or the allowed signers every pushed bundle must be signed by."""

    def __init__(self, registry: Registry, metrics: Metrics, health: Callable[[], list],
                 max_upload_size: int, transfers: Transfers, required_signers: Any = None) -> None:
        self.registry = registry
        self.metrics = metrics
        self.health = health
        self.max_upload_size = max_upload_size
        self.transfers = transfers
        self.required_signers = required_signers

    @_handler
    def Health(self, request: Any, context: Any) -> Any:
        components = [pb.ComponentHealth(name=n, ok=ok, detail=d) for n, ok, d in self.health()]
        return pb.HealthResponse(ok=all(c.ok for c in components), components=components)

    @_handler
    def GetVersion(self, request: Any, context: Any) -> Any:
        return pb.VersionResponse(version=__version__, api_version=API_VERSION)

    # ------------------------------------------------------------ bundles
    @_handler
    def UploadBundle(self, request_iterator: Iterator[Any], context: Any) -> Any:
        with self.transfers.slot(UPLOAD, context, "an upload") as progress:
            stream = _UploadStream(request_iterator, self.metrics, progress)
            header = stream.header()
            upload = Upload(self.registry, header.name, header.version, header.metadata_json, self.max_upload_size,
                            header.signer_key, self.required_signers)
            self.metrics.uploads_in_progress.inc()
            try:
                upload.begin()
                upload.receive(stream.chunks())
                upload.verify(stream.size, stream.sha256, stream.signature)
                record = upload.commit()
            finally:
                upload.close()
                self.metrics.uploads_in_progress.dec()
        log.info("pushed %s (%d bytes)", record.tag, record.size)
        return pb.UploadResponse(bundle=bundle_pb(record))

    @_handler
    def GetBundle(self, request: Any, context: Any) -> Any:
        return bundle_pb(self.registry.get_bundle(request.name, request.version or None))

    @_handler
    def ListBundles(self, request: Any, context: Any) -> Iterator[Any]:
        selector = parse_selector(request.label_selector) if request.label_selector.strip() else []
        for record in self.registry.list_bundles(request.name or None, selector, request.limit or None,
                                                 request.offset, request.ascending):
            yield bundle_pb(record)

    @_handler
    def DownloadBundle(self, request: Any, context: Any) -> Iterator[Any]:
        record = self.registry.get_bundle(request.name, request.version or None)
        with self.transfers.slot(DOWNLOAD, context, f"the download of {record.tag}") as progress:
            chunks = self.registry.storage.read(record.storage_key)
            first = next(chunks, None)  # reach the store before announcing the bundle: a store that is down fails cleanly
            yield pb.DownloadResponse(bundle=bundle_pb(record))
            for chunk in itertools.chain([first] if first is not None else [], chunks):
                progress()
                self.metrics.archive_bytes.labels("sent").inc(len(chunk))
                yield pb.DownloadResponse(chunk=chunk)

    @_handler
    def DeleteBundle(self, request: Any, context: Any) -> Any:
        if not request.version or request.version == "latest":
            raise InvalidArgument("delete needs an exact NAME:VERSION")
        return bundle_pb(self.registry.delete_bundle(request.name, request.version))

    @_handler
    def UpdateLabels(self, request: Any, context: Any) -> Any:
        return bundle_pb(self.registry.update_labels(request.name, request.version or "latest", dict(request.set),
                                                     list(request.remove)))

    # ------------------------------------------------------------ deployments
    @_handler
    def CreateDeployment(self, request: Any, context: Any) -> Any:
        return deployment_pb(self.registry.create_deployment(deployment_record(request.deployment)))

    @_handler
    def ReplaceDeployment(self, request: Any, context: Any) -> Any:
        return deployment_pb(self.registry.replace_deployment(deployment_record(request.deployment)))

    @_handler
    def GetDeployment(self, request: Any, context: Any) -> Any:
        return deployment_pb(self.registry.get_deployment(request.name))

    @_handler
    def ListDeployments(self, request: Any, context: Any) -> Any:
        selector = parse_selector(request.label_selector) if request.label_selector.strip() else []
        records = self.registry.list_deployments(selector, request.platform or None, request.limit or None,
                                                 request.offset)
        return pb.ListDeploymentsResponse(deployments=[deployment_pb(r) for r in records])

    @_handler
    def DeleteDeployment(self, request: Any, context: Any) -> Any:
        return deployment_pb(self.registry.delete_deployment(request.name))
