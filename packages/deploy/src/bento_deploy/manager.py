"""The deployment operations behind `bento deployment`: check the request, keep the record in the
store, let the platform's deployer act, and write back what it reports. A platform never sees an
invalid name, label or option, and a status refresh never brings a deleted record back."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional, Sequence

import attrs
from bento.bundle.reader import read_metadata
from bento.config import Config
from bento.deployer import Deployer, Deployment, DeploymentStore, validate_deployment_name
from bento.exceptions import BentoError, InvalidArgument, NotFound
from bento.labels import Requirement, validate_labels
from bento.plugins import PluginManager, TypeRegistry
from bento.repository import resolve

from .store import get_deployment_store

__all__ = ["Deployments"]

POLL = 0.2


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_options(deployer: Deployer, platform: str, options: Mapping[str, str]) -> dict:
    unknown = sorted(set(options) - set(deployer.OPTIONS))
    if unknown:
        known = ", ".join(sorted(deployer.OPTIONS)) or "none"
        raise InvalidArgument(f"unknown option(s) {', '.join(unknown)} for platform '{platform}'; known: {known}")
    return {str(k): str(v) for k, v in options.items()}


def _settle(deployer: Deployer, record: Deployment, wait: float) -> Deployment:
    """Poll the platform while the deployment is pending, for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while record.state == "pending" and time.monotonic() < deadline:
        time.sleep(POLL)
        record = record.with_status(deployer.get(record))
    return record


@attrs.frozen
class Deployments:
    """Deployments kept in `store`, on the platforms of `registry`; `resolve` turns a bundle path
    or tag into its directory."""

    registry: TypeRegistry
    store: DeploymentStore
    resolve: Callable[[str], str]

    @classmethod
    def open(cls, pm: PluginManager, config: Config, url: Optional[str] = None,
             token: Optional[str] = None) -> "Deployments":
        """The deployments of the configured store (or of the registry at `url`)."""
        return cls(pm.registry, get_deployment_store(pm, config, url, token),
                   lambda bento: resolve(bento, pm, config))

    def _deployer(self, platform: str) -> Deployer:
        return self.registry.deployer(platform)()

    def _bundle(self, bento: str) -> tuple:
        """(what the record keeps, local bundle directory): NAME:VERSION for a repository bundle
        (so `latest` is pinned at deploy time), the absolute path for a bundle directory."""
        bundle_dir = self.resolve(bento)
        meta = read_metadata(bundle_dir)
        return (os.path.abspath(bento) if os.path.isdir(bento) else meta.tag), bundle_dir

    def _save_status(self, record: Deployment) -> Deployment:
        try:
            self.store.replace(record)
        except NotFound:
            pass  # deleted meanwhile by another client: report what we saw, do not resurrect it
        return record

    def create(self, name: str, bento: str, platform: str, labels: Optional[Mapping[str, str]] = None,
               options: Optional[Mapping[str, str]] = None, wait: float = 60.0) -> Deployment:
        """Deploy `bento` as `name`; the name is reserved in the store first, so two clients cannot
        both create it. A deployer that raises leaves no record behind."""
        validate_deployment_name(name)
        labels = validate_labels(labels)
        deployer = self._deployer(platform)
        options = _check_options(deployer, platform, options or {})
        ref, bundle_dir = self._bundle(bento)
        now = _now()
        record = Deployment(name=name, platform=platform, bento=ref, labels=labels, options=options,
                            created_at=now, updated_at=now)
        self.store.add(record)
        try:
            record = record.with_status(deployer.create(record, bundle_dir))
        except BaseException:
            self.store.delete(name)
            raise
        self.store.replace(record)
        return self._save_status(_settle(deployer, record, wait))

    def update(self, name: str, bento: Optional[str] = None, labels: Optional[Mapping[str, str]] = None,
               options: Optional[Mapping[str, str]] = None, wait: float = 60.0) -> Deployment:
        """Redeploy `name`: a new bundle and/or labels replace the old ones, options are merged (an
        empty value removes one). With nothing to change it restarts the deployment."""
        old = self.store.get(name)
        deployer = self._deployer(old.platform)
        merged = {**old.options, **(options or {})}
        merged = _check_options(deployer, old.platform, {k: v for k, v in merged.items() if v != ""})
        ref, bundle_dir = self._bundle(bento or old.bento)
        new = Deployment(name=name, platform=old.platform, bento=ref,
                         labels=old.labels if labels is None else validate_labels(labels), options=merged,
                         created_at=old.created_at, updated_at=_now())
        record = new.with_status(deployer.update(old, new, bundle_dir))
        self.store.replace(record)
        return self._save_status(_settle(deployer, record, wait))

    def _refresh(self, records: Sequence[Deployment]) -> list:
        """Each record with the status its platform reports now, written back when it changed. A
        platform that cannot be asked (its plugin is gone) leaves the stored status, with the reason."""
        by_platform: dict = {}
        for r in records:
            by_platform.setdefault(r.platform, []).append(r)
        fresh: dict = {}
        for platform, group in by_platform.items():
            try:
                statuses = self._deployer(platform).list(group)
            except BentoError as e:
                fresh.update((r.name, attrs.evolve(r, error=f"cannot check: {e}")) for r in group)
                continue
            for r, status in zip(group, statuses):
                updated = r.with_status(status)
                fresh[r.name] = self._save_status(updated) if updated != r else r
        return [fresh[r.name] for r in records]

    def get(self, name: str) -> Deployment:
        return self._refresh([self.store.get(name)])[0]

    def list(self, selector: Sequence[Requirement] = (), platform: Optional[str] = None) -> list:
        return self._refresh(self.store.list(selector, platform))

    def delete(self, name: str) -> Deployment:
        """Stop the deployment on its platform, then drop the record (kept if the platform refuses)."""
        record = self.store.get(name)
        self._deployer(record.platform).delete(record)
        self.store.delete(name)
        return record
