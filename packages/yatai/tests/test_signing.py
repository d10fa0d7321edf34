"""Signed bundles through a real Yatai on every database x storage combination: the publisher
signs at push, the registry stores and (optionally) requires the signature, the puller verifies
it, and a bundle signed by one of the puller's allowed signers loads without --trust-pickle.
Signatures interoperate with OpenSSH's own `ssh-keygen -Y sign/verify`."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bento
from bento.bundle.layout import MANIFEST, SIGNATURE_FILE
from bento.bundle.reader import read_metadata
from bento.bundle.signature import BadSignature, NAMESPACE, parse_signature
from bento.exceptions import UntrustedArtifact
from bento_yatai.client import get_yatai_client
from bento_yatai.errors import PermissionDenied
from yatai_testing import raw_stub, start_server, upload_messages

from archives import bundle_archive


def _keygen(directory, name: str, principal: str) -> dict:
    """A fresh ed25519 key pair made by ssh-keygen, and its allowed_signers line."""
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)], check=True)
    public = (directory / f"{name}.pub").read_text().split()
    return {"key": str(key), "line": f"{principal} {public[0]} {public[1]}\n", "principal": principal}


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir()
    alice, mallory = _keygen(folder, "alice", "alice@example.com"), _keygen(folder, "mallory", "mallory@example.com")
    allowed = folder / "allowed_signers"
    allowed.write_text("# who may publish\n" + alice["line"])
    return {"alice": alice, "mallory": mallory, "allowed": str(allowed)}


@pytest.fixture
def trusting(keys, monkeypatch):
    """This user's config allows alice's key."""
    monkeypatch.setenv("BENTO_SECURITY_ALLOWED_SIGNERS", keys["allowed"])
    return keys


def _client(server, key: str = ""):
    return get_yatai_client(server.address, signing_key=key or None)


def test_signed_bundle_pulls_and_loads_without_trust_pickle(yatai, trusting, make_bundle, tmp_path):
    with _client(yatai, trusting["alice"]["key"]) as publisher:
        pushed = publisher.repository.push(make_bundle("Iris", version="1.0"))
    fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", trusting["alice"]["key"] + ".pub"], check=True,
                                 capture_output=True, text=True).stdout.split()[1]
    assert pushed.signer == fingerprint == parse_signature(_signature_of(yatai, "Iris:1.0")).fingerprint
    with _client(yatai) as puller:
        assert puller.repository.get("Iris:1.0").signer == fingerprint
        path = puller.repository.pull("Iris:1.0")
    assert bento.load(path).lookup("a") == 1  # pickle blob and all, no --trust-pickle
    assert bento.load(os.path.join(path, "Iris")).lookup("b") == 2

    from click.testing import CliRunner

    from bento.cli import make_cli

    out = CliRunner().invoke(make_cli(), ["get", "Iris:1.0", "--yatai-url", yatai.address, "-o", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["signer"] == fingerprint
    out = CliRunner().invoke(make_cli(), ["list", "--yatai-url", yatai.address, "-o", "json"])
    assert [b["signer"] for b in json.loads(out.output)] == [fingerprint]
    out = CliRunner().invoke(make_cli(), ["pull", "Iris:1.0", "--yatai-url", yatai.address])
    assert out.exit_code == 0 and f"signed by allowed signer alice@example.com: {fingerprint}" in out.output
    import urllib.request

    page = urllib.request.urlopen(f"{yatai.ui_url}/bundles/Iris/1.0", timeout=10).read().decode()
    assert fingerprint in page


def _signature_of(server, tag: str) -> str:
    from bento_yatai.proto import yatai_pb2 as pb

    name, version = tag.split(":")
    return raw_stub(server).GetBundle(pb.GetBundleRequest(name=name, version=version), timeout=10).signature


def test_unknown_signer_keeps_the_pickle_gate(yatai, trusting, make_bundle):
    with _client(yatai, trusting["mallory"]["key"]) as publisher:
        publisher.repository.push(make_bundle("Iris", version="1.0"))
    with _client(yatai) as puller:
        path = puller.repository.pull("Iris:1.0")
    with pytest.raises(UntrustedArtifact, match=r"Iris:1.0 came from a registry and is signed by key SHA256:\S+, "
                                                r"which .*allowed_signers does not allow"):
        bento.load(path)
    assert bento.load(path, trust_pickle=True).lookup("a") == 1


def test_tampered_signature_is_refused_at_push_and_at_load(yatai, trusting, make_bundle):
    bundle = make_bundle("Iris", version="1.0")
    other = make_bundle("Iris", version="2.0")
    with _client(yatai, trusting["alice"]["key"]) as publisher:
        publisher.repository.push(bundle)
    signature_of_1 = _signature_of(yatai, "Iris:1.0")
    fingerprint = parse_signature(signature_of_1).fingerprint
    # The signature of 1.0 sent with 2.0: the registry checks it against 2.0's own manifest.
    meta = json.dumps(read_metadata(other).to_dict())
    messages = list(upload_messages(meta, "Iris", "2.0", bundle_archive(other)))
    messages[0].header.signer_key = parse_signature(signature_of_1).public_key
    messages[-1].trailer.signature = signature_of_1
    with pytest.raises(grpc.RpcError) as info:
        raw_stub(yatai).UploadBundle(iter(messages), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"upload of Iris:2.0: bad signature by key {fingerprint}" in info.value.details()

    with _client(yatai) as puller:
        path = puller.repository.pull("Iris:1.0")
    sig_path = os.path.join(path, SIGNATURE_FILE)
    blob = bytearray(base64.b64decode("".join(open(sig_path).read().splitlines()[1:-1])))
    blob[-1] ^= 1  # one bit of the ed25519 signature
    _write_armored(sig_path, bytes(blob))
    with pytest.raises(BadSignature, match=f"^Iris:1.0: bad signature by key {re.escape(fingerprint)}: .*; refused$"):
        bento.load(path, trust_pickle=True)  # a bad signature is refused whatever the user trusts


def _write_armored(path: str, blob: bytes) -> None:
    text = base64.b64encode(blob).decode()
    with open(path, "w") as f:
        f.write("-----BEGIN SSH SIGNATURE-----\n" + "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
                + "\n-----END SSH SIGNATURE-----\n")


def test_server_requiring_signatures_refuses_unsigned_and_unknown_pushes(backend, keys, make_bundle):
    server = start_server(backend, allowed_signers=keys["allowed"])
    bundle = make_bundle("Iris", version="1.0")
    try:
        with _client(server) as unsigned, pytest.raises(PermissionDenied, match="Iris:1.0 is unsigned"):
            unsigned.repository.push(bundle)
        with _client(server, keys["mallory"]["key"]) as stranger, \
                pytest.raises(PermissionDenied, match=r"Iris:1.0 is signed by key SHA256:\S+, which this Yatai's "
                                                      "allowed signers do not list"):
            stranger.repository.push(bundle)
        with _client(server, keys["alice"]["key"]) as alice:
            assert alice.repository.push(bundle).signer.startswith("SHA256:")
            assert [b.tag for b in alice.repository.list()] == ["Iris:1.0"]
    finally:
        server.stop(grace=0)


def test_signatures_interoperate_with_ssh_keygen(yatai, trusting, make_bundle, tmp_path):
    """Ours verifies with `ssh-keygen -Y verify`; one `ssh-keygen -Y sign` made is accepted by
    the registry and trusted on load."""
    with _client(yatai, trusting["alice"]["key"]) as publisher:
        publisher.repository.push(make_bundle("Iris", version="1.0"))
    with _client(yatai) as puller:
        path = puller.repository.pull("Iris:1.0")
    with open(os.path.join(path, MANIFEST), "rb") as manifest:
        out = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", trusting["allowed"], "-I", "alice@example.com",
                              "-n", NAMESPACE, "-s", os.path.join(path, SIGNATURE_FILE)], stdin=manifest,
                             capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'Good "bento-bundle" signature for alice@example.com' in out.stdout + out.stderr

    bundle = make_bundle("Iris", version="2.0")
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", trusting["alice"]["key"], "-n", NAMESPACE,
                    os.path.join(bundle, MANIFEST)], check=True, capture_output=True)
    shutil.move(os.path.join(bundle, MANIFEST + ".sig"), os.path.join(bundle, SIGNATURE_FILE))
    with _client(yatai) as forwarder:  # no key of its own: the bundle's signature travels
        assert forwarder.repository.push(bundle).signer == parse_signature(
            open(os.path.join(path, SIGNATURE_FILE)).read()).fingerprint
        assert bento.load(forwarder.repository.pull("Iris:2.0")).lookup("a") == 1


# ---------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A manifest and its signature by a fresh key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bento.bundle.signature import sign

    manifest = b"".join(f"{i:064x}  f{i}.py\n".encode() for i in range(5))
    return manifest, sign(manifest, Ed25519PrivateKey.generate())


def _blob(armored: str) -> bytes:
    return base64.b64decode("".join(armored.splitlines()[1:-1]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_the_signature_or_the_manifest_is_refused(signed, data):
    manifest, armored = signed
    parse_signature(armored).verify(manifest)
    blob, message = bytearray(_blob(armored)), bytearray(manifest)
    target = data.draw(st.sampled_from(["signature", "manifest"]))
    changed = blob if target == "signature" else message
    i = data.draw(st.integers(0, len(changed) - 1))
    changed[i] = data.draw(st.integers(0, 255).filter(lambda b: b != changed[i]))
    text = base64.b64encode(bytes(blob)).decode()
    tampered = f"-----BEGIN SSH SIGNATURE-----\n{text}\n-----END SSH SIGNATURE-----\n"
    with pytest.raises(BadSignature):
        parse_signature(tampered).verify(bytes(message))


def test_push_with_a_passphrase_protected_key_asks_for_the_passphrase(yatai, tmp_path, make_bundle):
    key = tmp_path / "protected"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", str(key)], check=True)
    from click.testing import CliRunner

    from bento.cli import make_cli

    args = ["push", make_bundle("Iris", version="1.0"), "--yatai-url", yatai.address, "--signing-key", str(key)]
    out = CliRunner().invoke(make_cli(), args, input="wrong\n")
    assert out.exit_code != 0 and "Error: signing key" in out.output
    out = CliRunner().invoke(make_cli(), args, input="s3cret\n")
    assert out.exit_code == 0, out.output
    assert "Passphrase for" in out.output and "signed by key SHA256:" in out.output
