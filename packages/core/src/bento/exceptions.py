"""Errors Bento raises; each carries a message a user can act on and the exit/HTTP status it maps to."""
from __future__ import annotations

__all__ = [
    "BentoError",
    "InvalidArgument",
    "BadInput",
    "NotFound",
    "AlreadyExists",
    "MissingPlugin",
    "PluginError",
    "BundleError",
    "ManifestMismatch",
    "ConfigError",
    "APIError",
    "UntrustedArtifact",
    "Overloaded",
    "TimedOut",
]


class BentoError(Exception):
    """Base class: the CLI prints `str(err)` on one line and exits with `exit_code`."""

    exit_code = 1
    http_status = 500


class InvalidArgument(BentoError):
    """A value the user passed is not acceptable (labels, selector, names, options)."""

    exit_code = 2
    http_status = 400


class BadInput(InvalidArgument):
    """Inference input that cannot be parsed; the message says what is wrong with it."""


class NotFound(BentoError):
    http_status = 404


class AlreadyExists(BentoError):
    http_status = 409


class PluginError(BentoError):
    """A plugin failed to import or registered something inconsistent."""


class MissingPlugin(PluginError):
    """A type a bundle needs is provided by no installed plugin; names the pip package to add."""

    def __init__(self, kind: str, type_name: str, pip_hint: str | None) -> None:
        self.kind, self.type_name, self.pip_hint = kind, type_name, pip_hint
        fix = f": pip install {pip_hint}" if pip_hint else ""
        super().__init__(f"{kind} type '{type_name}' is provided by no installed plugin{fix}")


class BundleError(BentoError):
    """A bundle directory or archive that is not a valid bundle."""


class ManifestMismatch(BundleError):
    """A bundle file does not match MANIFEST.sha256: the bundle was modified or corrupted."""


class UntrustedArtifact(BundleError):
    """A pickle-based artifact from a registry that the user has not marked as trusted."""


class ConfigError(InvalidArgument):
    """A configuration key or value that is not valid; the message names the key."""


class APIError(BentoError):
    """An inference API failed for some inputs (direct Python calls raise this)."""


class Overloaded(BentoError):
    """A batcher refused a task before computing it (not ready, queue full, deadline out of
    reach); a server answers 503 with Retry-After."""

    http_status = 503
    retry_after = 1


class TimedOut(BentoError):
    """The API did not answer a task within the time its caller allows (504)."""

    http_status = 504
