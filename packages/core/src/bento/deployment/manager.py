"""The deployment operations behind `bento deployment`: check the request, keep the record in the
store, let the platform's deployer act, and write back what it reports. A platform never sees an
invalid name, label or option, and a status refresh never brings a deleted record back."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Mapping, Optional, Sequence

import attrs

from ..exceptions import BentoError, InvalidArgument, NotFound
from ..labels import Requirement, validate_labels
from .base import Deployer, Deployment, validate_deployment_name
from .store import DeploymentStore, get_deployment_store

__all__ = ["create_deployment", "update_deployment", "get_deployment", "list_deployments", "delete_deployment"]

POLL = 0.2


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _deployer(platform: str) -> Deployer:
    from ..plugins import get_registry

    return get_registry().deployer(platform)()


def _check_options(deployer: Deployer, platform: str, options: Mapping[str, str]) -> dict:
    unknown = sorted(set(options) - set(deployer.OPTIONS))
    if unknown:
        known = ", ".join(sorted(deployer.OPTIONS)) or "none"
        raise InvalidArgument(f"unknown option(s) {', '.join(unknown)} for platform '{platform}'; known: {known}")
    return {str(k): str(v) for k, v in options.items()}


def _resolve_bundle(bento: str) -> tuple:
    """(what the record keeps, local bundle directory): NAME:VERSION for a repository bundle
    (so `latest` is pinned at deploy time), the absolute path for a bundle directory."""
    from ..bundle.reader import read_metadata, resolve

    bundle_dir = resolve(bento)
    meta = read_metadata(bundle_dir)
    return (os.path.abspath(bento) if os.path.isdir(bento) else meta.tag), bundle_dir


def _settle(deployer: Deployer, record: Deployment, wait: float) -> Deployment:
    """Poll the platform while the deployment is pending, for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while record.state == "pending" and time.monotonic() < deadline:
        time.sleep(POLL)
        record = record.with_status(deployer.get(record))
    return record


def _save_status(store: DeploymentStore, record: Deployment) -> Deployment:
    try:
        store.replace(record)
    except NotFound:
        pass  # deleted meanwhile by another client: report what we saw, do not resurrect it
    return record


def create_deployment(name: str, bento: str, platform: str, labels: Optional[Mapping[str, str]] = None,
                      options: Optional[Mapping[str, str]] = None, wait: float = 60.0,
                      store: Optional[DeploymentStore] = None) -> Deployment:
    """Deploy `bento` as `name`; the name is reserved in the store first, so two clients cannot
    both create it. A deployer that raises leaves no record behind."""
    validate_deployment_name(name)
    labels = validate_labels(labels)
    deployer = _deployer(platform)
    options = _check_options(deployer, platform, options or {})
    ref, bundle_dir = _resolve_bundle(bento)
    store = store or get_deployment_store()
    now = _now()
    record = Deployment(name=name, platform=platform, bento=ref, labels=labels, options=options,
                        created_at=now, updated_at=now)
    store.add(record)
    try:
        record = record.with_status(deployer.create(record, bundle_dir))
    except BaseException:
        store.delete(name)
        raise
    store.replace(record)
    return _save_status(store, _settle(deployer, record, wait))


def update_deployment(name: str, bento: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
                      options: Optional[Mapping[str, str]] = None, wait: float = 60.0,
                      store: Optional[DeploymentStore] = None) -> Deployment:
    """Redeploy `name`: a new bundle and/or labels replace the old ones, options are merged (an
    empty value removes one). With nothing to change it restarts the deployment."""
    store = store or get_deployment_store()
    old = store.get(name)
    deployer = _deployer(old.platform)
    merged = {**old.options, **(options or {})}
    merged = _check_options(deployer, old.platform, {k: v for k, v in merged.items() if v != ""})
    ref, bundle_dir = _resolve_bundle(bento or old.bento)
    new = Deployment(name=name, platform=old.platform, bento=ref,
                     labels=old.labels if labels is None else validate_labels(labels), options=merged,
                     created_at=old.created_at, updated_at=_now())
    record = new.with_status(deployer.update(old, new, bundle_dir))
    store.replace(record)
    return _save_status(store, _settle(deployer, record, wait))


def _refresh(records: Sequence[Deployment], store: DeploymentStore) -> list:
    """Each record with the status its platform reports now, written back when it changed. A
    platform that cannot be asked (its plugin is gone) leaves the stored status, with the reason."""
    by_platform: dict = {}
    for r in records:
        by_platform.setdefault(r.platform, []).append(r)
    fresh: dict = {}
    for platform, group in by_platform.items():
        try:
            statuses = _deployer(platform).list(group)
        except BentoError as e:
            fresh.update((r.name, attrs.evolve(r, error=f"cannot check: {e}")) for r in group)
            continue
        for r, status in zip(group, statuses):
            updated = r.with_status(status)
            fresh[r.name] = _save_status(store, updated) if updated != r else r
    return [fresh[r.name] for r in records]


def get_deployment(name: str, store: Optional[DeploymentStore] = None) -> Deployment:
    store = store or get_deployment_store()
    return _refresh([store.get(name)], store)[0]


def list_deployments(selector: Sequence[Requirement] = (), platform: Optional[str] = None,
                     store: Optional[DeploymentStore] = None) -> list:
    store = store or get_deployment_store()
    return _refresh(store.list(selector, platform), store)


def delete_deployment(name: str, store: Optional[DeploymentStore] = None) -> Deployment:
    """Stop the deployment on its platform, then drop the record (kept if the platform refuses)."""
    store = store or get_deployment_store()
    record = store.get(name)
    _deployer(record.platform).delete(record)
    store.delete(name)
    return record
