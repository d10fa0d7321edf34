"""OpenSSH allowed_signers files (ssh-keygen(1), "ALLOWED SIGNERS"), the list git and
`ssh-keygen -Y verify` use: one `principals [options] keytype base64-key [comment]` per line.

Options honoured: `namespaces="..."` (the line then allows only those namespaces) and
`valid-after` / `valid-before` (checked against the current time, as ssh-keygen does without
a signature time). `cert-authority` lines vouch for certificates, which bundles do not carry:
they allow nothing here."""
from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from datetime import datetime, timezone
from typing import Iterable, Optional

import attrs

from ..exceptions import InvalidArgument
from .signature import NAMESPACE, Signature

__all__ = ["AllowedSigner", "AllowedSigners", "load_allowed_signers", "parse_allowed_signers"]

_TOKEN = re.compile(r'(?:"[^"]*"|[^\s"])+')
_KEY_TYPES = re.compile(r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)(-cert-v01@openssh\.com)?")
_TIME = re.compile(r"(\d{8})(\d{4})?(\d{2})?(Z?)")


def _timestamp(value: str, where: str) -> datetime:
    """ssh-keygen's YYYYMMDD[HHMM[SS]][Z]: UTC with Z, else local time."""
    m = _TIME.fullmatch(value)
    if not m:
        raise InvalidArgument(f"{where}: {value!r} is not a time (YYYYMMDD[HHMM[SS]][Z])")
    text = m.group(1) + (m.group(2) or "0000") + (m.group(3) or "00")
    when = datetime.strptime(text, "%Y%m%d%H%M%S")
    return when.replace(tzinfo=timezone.utc) if m.group(4) else when.astimezone()


@attrs.frozen(kw_only=True)
class AllowedSigner:
    principals: tuple
    key_blob: bytes
    namespaces: Optional[tuple] = None  # None: every namespace
    cert_authority: bool = False
    valid_after: Optional[datetime] = None
    valid_before: Optional[datetime] = None

    def allows(self, key_blob: bytes, namespace: str, now: datetime) -> bool:
        if self.cert_authority or self.key_blob != key_blob:
            return False
        if self.namespaces is not None and not any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces):
            return False
        return not ((self.valid_after and now < self.valid_after) or (self.valid_before and now >= self.valid_before))


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _options(text: str, where: str) -> dict:
    found: dict = {}
    for option in re.findall(r'(?:"[^"]*"|[^,"])+', text):
        name, eq, value = option.partition("=")
        name = name.strip().lower()
        if name == "cert-authority" and not eq:
            found["cert_authority"] = True
        elif name == "namespaces" and eq:
            found["namespaces"] = tuple(p.strip() for p in _unquote(value).split(",") if p.strip())
        elif name in ("valid-after", "valid-before") and eq:
            found[name.replace("-", "_")] = _timestamp(_unquote(value), where)
        else:
            raise InvalidArgument(f"{where}: unknown option {option!r}")
    return found


def _line(line: str, where: str) -> AllowedSigner:
    tokens = _TOKEN.findall(line)
    if len(tokens) < 3:
        raise InvalidArgument(f"{where}: expected `principals [options] keytype base64-key`")
    principals = tuple(p for p in _unquote(tokens[0]).split(",") if p)
    options = {}
    rest = tokens[1:]
    if not _KEY_TYPES.fullmatch(rest[0]):
        options = _options(rest[0], where)
        rest = rest[1:]
    if len(rest) < 2 or not _KEY_TYPES.fullmatch(rest[0]):
        raise InvalidArgument(f"{where}: expected a key type such as ssh-ed25519 and a base64 key")
    try:
        blob = base64.b64decode(rest[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{where}: the key is not valid base64") from None
    return AllowedSigner(principals=principals, key_blob=blob, **options)


@attrs.frozen
class AllowedSigners:
    """The signers one trusts, as read from an allowed_signers file."""

    signers: tuple
    source: str = ""

    def principals(self, signature: Signature, now: Optional[datetime] = None) -> list:
        """Who may have made `signature` (empty: nobody this file allows)."""
        return self.principals_of_key(signature.public_key, signature.namespace, now)

    def principals_of_key(self, key_blob: bytes, namespace: str = NAMESPACE, now: Optional[datetime] = None) -> list:
        """Who this file allows to sign in `namespace` with the key `key_blob` (SSH wire format)."""
        now = now or datetime.now(timezone.utc)
        return sorted({p for s in self.signers if s.allows(key_blob, namespace, now) for p in s.principals})


def parse_allowed_signers(lines: Iterable[str], source: str) -> AllowedSigners:
    signers = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if line and not line.startswith("#"):
            signers.append(_line(line, f"{source}:{n}"))
    return AllowedSigners(tuple(signers), source)


def load_allowed_signers(path: str) -> AllowedSigners:
    try:
        with open(path, encoding="utf-8") as f:
            return parse_allowed_signers(f.read().splitlines(), path)
    except OSError as e:
        raise InvalidArgument(f"cannot read allowed signers file {path}: {e.strerror}") from None
