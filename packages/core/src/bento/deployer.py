"""The deployer contract: what a deployment is, what a deployment platform implements
(`register_deployers`) and what a store of deployment records offers (`deployment_store`).

The host (bento-deploy) owns the records: it checks names, labels and options, keeps each record
in the deployment store and calls a `Deployer` to make the platform match. A deployer only acts
on its platform and reports what it sees there, so a third-party platform is one small class.
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional, Protocol, Sequence

import attrs

from .config import bento_home
from .exceptions import InvalidArgument
from .labels import Requirement, is_label_word

__all__ = ["STATES", "DeploymentStatus", "Deployment", "Deployer", "DeploymentStore", "validate_deployment_name",
           "int_option", "bool_option", "str_option"]

STATES = ("pending", "running", "error", "stopped")


def validate_deployment_name(name: str) -> str:
    """Deployment names follow the label rules: they become file names, URLs and resource names."""
    if not is_label_word(name):
        raise InvalidArgument(f"invalid deployment name {name!r}: up to 63 characters, letters or digits at "
                              "both ends, only letters, digits and -_. between")
    return name


@attrs.frozen(kw_only=True)
class DeploymentStatus:
    """What a platform observed. `error` says why it is not running; `details` holds platform
    facts worth showing (pid, log file, manifest files)."""

    state: str = attrs.field(validator=attrs.validators.in_(STATES))
    endpoint: Optional[str] = None
    error: Optional[str] = None
    details: dict = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Deployment:
    """One deployment: what the user asked for and the last status its platform reported.

    `bento` is `NAME:VERSION` for a bundle from the repository, else the bundle's absolute path.
    Stores keep `to_dict()` and rebuild with `from_dict()`.
    """

    name: str
    platform: str
    bento: str
    state: str = attrs.field(default="pending", validator=attrs.validators.in_(STATES))
    endpoint: Optional[str] = None
    labels: dict = attrs.field(factory=dict)
    created_at: str
    error: Optional[str] = None
    updated_at: str
    options: dict = attrs.field(factory=dict)
    details: dict = attrs.field(factory=dict)

    @property
    def status(self) -> DeploymentStatus:
        return DeploymentStatus(state=self.state, endpoint=self.endpoint, error=self.error, details=self.details)

    def with_status(self, status: DeploymentStatus) -> "Deployment":
        return attrs.evolve(self, state=status.state, endpoint=status.endpoint, error=status.error,
                            details=dict(status.details))

    def to_dict(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Deployment":
        """Unknown keys are ignored so a record written by a newer Bento still reads."""
        known = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Deployer(abc.ABC):
    """A deployment platform, registered with `register(platform_name, DeployerClass)`.

    The host instantiates it without arguments, validates `--option` keys against `OPTIONS`
    (name -> one-line help) and passes records whose `options` are the strings the user gave.
    Methods raise `bento.exceptions.BentoError` subclasses with a message a user can act on;
    a failure the platform reports later is a status with state `error` instead.
    """

    OPTIONS: ClassVar[Mapping[str, str]] = {}

    @abc.abstractmethod
    def create(self, deployment: Deployment, bundle_dir: str) -> DeploymentStatus:
        """Start serving the bundle in `bundle_dir` on the platform; return without waiting for it
        to be ready (the host polls `get` while the state is `pending`)."""

    def update(self, old: Deployment, new: Deployment, bundle_dir: str) -> DeploymentStatus:
        """Make the platform serve `new` instead of `old`. Default: delete, then create."""
        self.delete(old)
        return self.create(new, bundle_dir)

    @abc.abstractmethod
    def get(self, deployment: Deployment) -> DeploymentStatus:
        """The status as observed now on the platform (not the stored one)."""

    def list(self, deployments: Sequence[Deployment]) -> list:
        """Statuses of several deployments of this platform, in order; override to batch queries."""
        return [self.get(d) for d in deployments]

    @abc.abstractmethod
    def delete(self, deployment: Deployment) -> None:
        """Stop and remove the deployment; succeed if it is already gone."""

    def workdir(self, name: str) -> Path:
        """This machine's directory for the platform's own files about deployment `name` (pid
        files, logs, rendered manifests): $BENTO_HOME/deployments/<name>/, not created here."""
        return bento_home() / "deployments" / validate_deployment_name(name)


class DeploymentStore(Protocol):
    """Deployment records by name. A registry implements these five calls over its database;
    `add` must be atomic so two clients creating the same name cannot both succeed."""

    def add(self, deployment: Deployment) -> None:
        """Insert a new record; AlreadyExists when the name is taken."""

    def replace(self, deployment: Deployment) -> None:
        """Overwrite the record of that name; NotFound when it was deleted meanwhile (a status
        refresh must not bring a deleted deployment back)."""

    def get(self, name: str) -> Deployment:
        """The record; NotFound when there is none."""

    def list(self, selector: Sequence[Requirement] = (), platform: Optional[str] = None) -> list:
        """Records whose labels match every requirement (and of `platform` if given), by name."""

    def delete(self, name: str) -> None:
        """Remove the record; NotFound when there is none."""


def str_option(options: Mapping[str, str], key: str, default: Optional[str] = None) -> Optional[str]:
    value = options.get(key)
    return default if value in (None, "") else value


def int_option(options: Mapping[str, str], key: str, default: Optional[int] = None, low: int = 1,
               high: Optional[int] = None) -> Optional[int]:
    """`--option key=N` as an int within [low, high], or `default` when not given."""
    value = options.get(key)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidArgument(f"option {key}={value}: expected a whole number {bounds}")
    return number


def bool_option(options: Mapping[str, str], key: str, default: bool = False) -> bool:
    value = str(options.get(key, "")).strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidArgument(f"option {key}={options[key]}: expected true or false")
