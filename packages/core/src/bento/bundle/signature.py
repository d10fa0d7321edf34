"""SSH signatures of a bundle, in the format `ssh-keygen -Y sign` writes and git uses.

What is signed is the MANIFEST.sha256 file itself, not a digest of it: SSHSIG already hashes the
message (sha512), the manifest holds the sha256 of every other file, and so OpenSSH alone checks
a bundle's signature: `ssh-keygen -Y verify -f allowed_signers -I ID -n bento-bundle -s
MANIFEST.sha256.sig < MANIFEST.sha256`. The envelope follows OpenSSH's PROTOCOL.sshsig; the
ed25519 keys and signatures are `cryptography`'s.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import struct
import threading
from typing import TYPE_CHECKING, Optional

import attrs

from ..exceptions import BundleError, InvalidArgument

if TYPE_CHECKING:  # cryptography is imported where a key is used: `import bento` stays cheap
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["NAMESPACE", "BadSignature", "Signature", "parse_signature", "sign", "load_private_key", "fingerprint",
           "public_key_blob", "key_file_public_blob", "preload"]

NAMESPACE = "bento-bundle"
_MAGIC = b"SSHSIG"
_VERSION = 1
_BEGIN, _END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_ED25519 = b"ssh-ed25519"
MAX_ARMORED = 16 << 10  # an ed25519 signature is about 300 bytes armored


class BadSignature(BundleError):
    """A signature that is malformed or does not match what it claims to sign."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    """The SSH wire encoding: big-endian uint32 and length-prefixed strings."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BadSignature("signature is truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise BadSignature("signature has trailing bytes")


def preload() -> None:
    """Import the crypto library in the background (it takes longer than any signature check),
    e.g. while the bundle a signature is for is still downloading."""
    threading.Thread(target=importlib.import_module, args=("cryptography.hazmat.primitives.asymmetric.ed25519",),
                     name="bento-crypto-preload", daemon=True).start()


def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's key fingerprint (`ssh-keygen -l`): SHA256 of the key blob, unpadded base64."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def public_key_blob(key: "Ed25519PublicKey") -> bytes:
    from cryptography.hazmat.primitives import serialization  # third-party: only where a key is used

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(_ED25519) + _string(raw)


def _signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    digest = _HASHES[hash_algorithm](message).digest()
    return (_MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_algorithm.encode())
            + _string(digest))


@attrs.frozen
class Signature:
    """A parsed SSHSIG signature; `verify` checks it against the message."""

    public_key: bytes  # the signer's key blob, as in an allowed_signers line
    namespace: str
    hash_algorithm: str
    signature: bytes  # algorithm name and raw signature, wire-encoded
    armored: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def verify(self, message: bytes, namespace: str = NAMESPACE) -> None:
        """Raise BadSignature unless this is a valid signature of `message` in `namespace`."""
        if self.namespace != namespace:
            raise BadSignature(f"signature by key {self.fingerprint} is for namespace {self.namespace!r}, "
                               f"not {namespace!r}")
        key = _Reader(self.public_key)
        key_type, raw_key = key.string(), key.string()
        key.end()
        sig = _Reader(self.signature)
        sig_type, raw_sig = sig.string(), sig.string()
        sig.end()
        from cryptography.exceptions import InvalidSignature  # third-party: only where a key is used
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        if key_type != _ED25519 or sig_type != _ED25519:
            raise BadSignature(f"signature by key {self.fingerprint} uses {key_type.decode(errors='replace')}: "
                               "only ssh-ed25519 keys are supported")
        try:
            Ed25519PublicKey.from_public_bytes(raw_key).verify(
                raw_sig, _signed_data(self.namespace, self.hash_algorithm, message))
        except (InvalidSignature, ValueError):
            raise BadSignature(f"bad signature by key {self.fingerprint}: the bundle or its signature was "
                               "changed after signing") from None


def parse_signature(armored: str) -> Signature:
    """A Signature from the armored text ssh-keygen writes (.sig files), or BadSignature."""
    if not isinstance(armored, str) or len(armored) > MAX_ARMORED:
        raise BadSignature("not an SSH signature (missing, or larger than any ed25519 signature)")
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        raise BadSignature(f"not an SSH signature: expected the {_BEGIN} armor")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("SSH signature is not valid base64") from None
    r = _Reader(blob)
    if r.take(6) != _MAGIC or r.uint32() != _VERSION:
        raise BadSignature("not an SSH signature of version 1 (SSHSIG)")
    public_key, namespace, _reserved, hash_algorithm, signature = (r.string() for _ in range(5))
    r.end()
    hash_name = hash_algorithm.decode(errors="replace")
    if hash_name not in _HASHES:
        raise BadSignature(f"SSH signature uses unknown hash {hash_name!r}")
    return Signature(public_key=public_key, namespace=namespace.decode(errors="replace"),
                     hash_algorithm=hash_name, signature=signature, armored=_armor(blob))


def _armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    return "\n".join([_BEGIN, *(text[i:i + 70] for i in range(0, len(text), 70)), _END]) + "\n"


_OPENSSH_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----")


def key_file_public_blob(path: str) -> tuple:
    """(public key blob, whether the private part is encrypted) of an OpenSSH private key file,
    read from the container's clear part: no cryptography is needed to name the signer."""
    try:
        with open(path, encoding="ascii") as f:
            lines = [line.strip() for line in f.read().strip().splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"cannot read signing key {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        if (lines[0], lines[-1]) != _OPENSSH_KEY:
            raise ValueError("no OPENSSH PRIVATE KEY armor")
        r = _Reader(base64.b64decode("".join(lines[1:-1]), validate=True))
        if r.take(15) != b"openssh-key-v1\x00":
            raise ValueError("not openssh-key-v1")
        cipher, _kdf, _options, count = r.string(), r.string(), r.string(), r.uint32()
        public = r.string()
        key_type = _Reader(public).string()
    except (ValueError, IndexError, binascii.Error, BadSignature) as e:
        raise InvalidArgument(f"signing key {path} is not an OpenSSH private key ({e}): make one with "
                              "`ssh-keygen -t ed25519`") from None
    if count != 1 or key_type != _ED25519:
        raise InvalidArgument(f"signing key {path} is not one ed25519 key: make one with `ssh-keygen -t ed25519`")
    return public, cipher != b"none"


def load_private_key(path: str, passphrase: Optional[bytes] = None) -> "Ed25519PrivateKey":
    """An OpenSSH ed25519 private key file (as `ssh-keygen -t ed25519` writes it)."""
    from cryptography.exceptions import UnsupportedAlgorithm  # third-party: only where a key is used
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidArgument(f"cannot read signing key {path}: {e.strerror}") from None
    try:
        key = serialization.load_ssh_private_key(data, passphrase)
    except TypeError as e:  # encrypted without a passphrase, or a passphrase for a plain key
        raise InvalidArgument(f"signing key {path}: {e}") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        hint = (": passphrase-protected keys need `pip install bcrypt`" if "bcrypt" in str(e)
                else ": wrong passphrase?" if "checksum" in str(e) else "")
        raise InvalidArgument(f"signing key {path} cannot be read ({e}){hint}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidArgument(f"signing key {path} is not an ed25519 key: make one with `ssh-keygen -t ed25519`")
    return key


def sign(message: bytes, key: "Ed25519PrivateKey", namespace: str = NAMESPACE) -> str:
    """The armored SSH signature of `message`, as `ssh-keygen -Y sign -n NAMESPACE` writes it."""
    hash_algorithm = "sha512"
    raw = key.sign(_signed_data(namespace, hash_algorithm, message))
    blob = (_MAGIC + struct.pack(">I", _VERSION) + _string(public_key_blob(key.public_key()))
            + _string(namespace.encode()) + _string(b"") + _string(hash_algorithm.encode())
            + _string(_string(_ED25519) + _string(raw)))
    return _armor(blob)
