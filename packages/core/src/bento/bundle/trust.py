"""Provenance and the trust gate: a bundle that came from a registry loads pickle-based artifacts
only when the user trusts them, either all of them (`trust_pickle`) or because the bundle is
signed by a key in their allowed signers.

Provenance is written by the registry client beside MANIFEST.sha256 (`.bento-origin`, and the
signature `MANIFEST.sha256.sig`); `pip install` carries both into the installed package
(`<Name>/_bento_provenance/`), so every way of loading a pulled bundle sees where it came from.
A signature is checked every time the bundle is loaded, against the allowed signers of that
moment: a bad signature is refused whatever the user trusts.
"""
from __future__ import annotations

import json
import os
from typing import Optional

import attrs

from ..exceptions import UntrustedArtifact
from .allowed_signers import AllowedSigners, load_allowed_signers
from .inventory import MANIFEST, ORIGIN_FILE, SIGNATURE_FILE
from .signature import BadSignature, Signature, parse_signature

__all__ = ["TrustPolicy", "Provenance", "read_provenance", "check_trust"]


class TrustPolicy:
    """What the user trusts: every pickle (`trust_pickle`), or bundles signed by a key of the
    OpenSSH allowed_signers file `allowed_signers` (read when a signed bundle needs it)."""

    def __init__(self, trust_pickle: bool = False, allowed_signers: str = "") -> None:
        self.trust_pickle = trust_pickle
        self.allowed_signers_file = allowed_signers
        self._signers: Optional[AllowedSigners] = None

    def signers(self) -> Optional[AllowedSigners]:
        if self._signers is None and self.allowed_signers_file:
            self._signers = load_allowed_signers(os.path.expanduser(self.allowed_signers_file))
        return self._signers


@attrs.frozen(kw_only=True)
class Provenance:
    """Where a bundle came from and who signed it, as checked when it was loaded."""

    origin: Optional[dict] = None  # None: saved on this machine
    signature: Optional[Signature] = None  # verified against the manifest
    signers: tuple = ()  # principals of the allowed signers file that vouch for the signature

    @property
    def from_registry(self) -> bool:
        return self.origin is not None

    @property
    def signer(self) -> Optional[str]:
        return self.signature.fingerprint if self.signature else None


def _read_text(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_provenance(folder: str, tag: str, policy: TrustPolicy) -> Provenance:
    """The provenance kept in `folder` (a bundle's top, or an installed package's
    _bento_provenance/). A signature is verified over the MANIFEST.sha256 there; a bad one
    raises BadSignature naming the bundle and the key."""
    origin_text = _read_text(os.path.join(folder, ORIGIN_FILE))
    origin: Optional[dict] = None
    if origin_text is not None:
        try:
            loaded = json.loads(origin_text)
        except ValueError:
            loaded = None
        origin = loaded if isinstance(loaded, dict) else {"registry": "unknown (unreadable origin file)"}
    armored = _read_text(os.path.join(folder, SIGNATURE_FILE))
    if armored is None:
        return Provenance(origin=origin)
    with open(os.path.join(folder, MANIFEST), "rb") as f:
        manifest = f.read()
    try:
        signature = parse_signature(armored)
        signature.verify(manifest)
    except BadSignature as e:
        raise BadSignature(f"{tag}: {e}; refused") from None
    signers = policy.signers()
    return Provenance(origin=origin, signature=signature,
                      signers=tuple(signers.principals(signature)) if signers else ())


def check_trust(tag: str, risky: list, provenance: Provenance, policy: TrustPolicy) -> None:
    """Raise UntrustedArtifact when pickle-based artifacts `risky` of a registry bundle are not trusted."""
    if not risky or not provenance.from_registry or policy.trust_pickle or provenance.signers:
        return
    if provenance.signature is None:
        why = "is not signed"
    elif not policy.allowed_signers_file:
        why = f"is signed by key {provenance.signer}, but security.allowed_signers is not set"
    else:
        why = f"is signed by key {provenance.signer}, which {policy.allowed_signers_file} does not allow"
    raise UntrustedArtifact(
        f"{tag} came from a registry and {why}; artifact(s) {', '.join(risky)} use pickle, which runs code when "
        "loaded: load it only if you trust its author (--trust-pickle, BENTO_SECURITY_TRUST_PICKLE=1, or add "
        "the signer's key to security.allowed_signers)")

