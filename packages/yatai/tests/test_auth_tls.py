"""Tokens (read/write scopes, on gRPC and the web UI) and TLS (grpcs://)."""
from __future__ import annotations

import base64
import urllib.error
import urllib.request

import pytest

from bento.exceptions import InvalidArgument
from bento_yatai.client import YataiClient, get_yatai_client
from bento_yatai.errors import PermissionDenied, Unauthenticated, Unavailable
from yatai_testing import start_server


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# team tokens\nread:reader-secret\nwrite:writer-secret\n\n")
    return str(path)


@pytest.fixture
def secured(local_backend, token_file):
    server = start_server(local_backend, token_file=token_file)
    yield server
    server.stop(grace=0)


def test_writes_need_a_write_token(secured, make_bundle):
    path = make_bundle("Iris")
    with YataiClient(secured.address) as anonymous:
        with pytest.raises(Unauthenticated, match="requires a token.*--yatai-token"):
            anonymous.repository.push(path)
        with pytest.raises(Unauthenticated, match="requires a token"):
            anonymous.repository.list()
        assert anonymous.version()[0] == "0.1.0"  # health and version stay open
    with YataiClient(secured.address, "wrong") as wrong:
        with pytest.raises(Unauthenticated, match="not known"):
            wrong.repository.push(path)
    with YataiClient(secured.address, "reader-secret") as reader:
        with pytest.raises(PermissionDenied, match="needs a write token"):
            reader.repository.push(path)
        assert reader.repository.list() == []
    with YataiClient(secured.address, "writer-secret") as writer:
        tag = writer.repository.push(path).tag
        with YataiClient(secured.address, "reader-secret") as reader:
            assert [b.tag for b in reader.repository.list()] == [tag]
            with pytest.raises(PermissionDenied):
                reader.repository.delete(tag)
            with pytest.raises(PermissionDenied):
                reader.repository.update_labels(tag, {"a": "b"})
        writer.repository.delete(tag)


def test_token_comes_from_config(secured, make_bundle, monkeypatch):
    monkeypatch.setenv("BENTO_YATAI_TOKEN", "writer-secret")
    with get_yatai_client(secured.address) as yc:
        assert yc.repository.push(make_bundle("Iris")).name == "Iris"


def test_web_ui_needs_a_token_too(secured):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(secured.ui_url + "/")
    assert info.value.code == 401 and "Basic" in info.value.headers["WWW-Authenticate"]
    auth = base64.b64encode(b"me:reader-secret").decode()
    req = urllib.request.Request(secured.ui_url + "/", headers={"Authorization": f"Basic {auth}"})
    assert urllib.request.urlopen(req).status == 200
    assert urllib.request.urlopen(secured.ui_url + "/healthz").status == 200


@pytest.mark.parametrize("content, match", [("admin:x\n", "tokens:1"), ("read:\n", "tokens:1"), ("# none\n", "no token")])
def test_bad_token_files_are_refused_at_start(local_backend, tmp_path, content, match):
    path = tmp_path / "tokens"
    path.write_text(content)
    with pytest.raises(InvalidArgument, match=match):
        start_server(local_backend, token_file=str(path))


@pytest.fixture
def cert(tmp_path):
    """(CA certificate, server certificate chain, server key) from a throwaway CA (trustme, pip)."""
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    paths = [tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem")]
    ca.cert_pem.write_to_path(str(paths[0]))
    for pem in issued.cert_chain_pems:
        pem.write_to_path(str(paths[1]), append=True)
    issued.private_key_pem.write_to_path(str(paths[2]))
    return tuple(str(p) for p in paths)


def test_tls(local_backend, cert, make_bundle, monkeypatch):
    ca, chain, key = cert
    server = start_server(local_backend, tls_cert=chain, tls_key=key)
    try:
        assert server.address.startswith("grpcs://127.0.0.1:")
        with YataiClient(server.address, timeout=5) as untrusted:
            with pytest.raises(Unavailable):
                untrusted.repository.list()
        with YataiClient(server.address.replace("grpcs://", "grpc://"), timeout=5) as plaintext:
            with pytest.raises(Unavailable):
                plaintext.repository.list()
        monkeypatch.setenv("BENTO_YATAI_TLS_CA_CERT", ca)
        with get_yatai_client(server.address) as yc:
            tag = yc.repository.push(make_bundle("Iris")).tag
            assert yc.repository.get(tag).tag == tag
    finally:
        server.stop(grace=0)
    with pytest.raises(InvalidArgument, match="both --tls-cert and --tls-key"):
        start_server(local_backend, tls_cert=chain)
