"""Mutual TLS (--tls-client-ca), end to end on both doors: a client with a certificate signed by the client CA is
served; a client with no certificate, or with one from another CA, is refused during the handshake, before any
request is read. Certificates are made at test time with the openssl CLI (a private CA, the server's certificate
for 127.0.0.1, two client certificates)."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import grpc
import pytest

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.certs import CLIENT_EXT, SERVER_EXT, make_ca, make_leaf, need_openssl
from tests.e2e import call_error, request, running_server, synthesize


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    need_openssl()
    d = tmp_path_factory.mktemp("mtls")
    make_ca(d, "ca")
    make_ca(d, "rogue-ca")
    make_leaf(d, "server", "ca", SERVER_EXT)
    make_leaf(d, "client", "ca", CLIENT_EXT)
    make_leaf(d, "rogue", "rogue-ca", CLIENT_EXT)
    return d


def _grpc_creds(certs: Path, client: str | None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.pem").read_bytes(),
        private_key=(certs / f"{client}.key").read_bytes() if client else None,
        certificate_chain=(certs / f"{client}.pem").read_bytes() if client else None)


@pytest.fixture(scope="module")
def mtls_server(make_ckpt, certs):
    with running_server(make_ckpt("tiny"), "--max-batch", "1", "--tls-cert", str(certs / "server.pem"),
                        "--tls-key", str(certs / "server.key"), "--tls-client-ca", str(certs / "ca.pem"),
                        metrics=False, http=True, credentials=_grpc_creds(certs, "client")) as s:
        yield s


def test_grpc_needs_a_client_certificate_from_the_ca(mtls_server, certs):
    channel = mtls_server.channel()  # the harness's own channel presents the good client certificate
    stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
    s = synthesize(stub, request(seed=3), timeout=30).ok()
    assert len(s.audio) == 2 * 24 * 800  # 800 ms of 24 kHz s16
    channel.close()
    for client in (None, "rogue"):
        ch = grpc.secure_channel(mtls_server.address, _grpc_creds(certs, client))
        d = call_error(lambda ch=ch: tts_pb2_grpc.TextToSpeechServiceStub(ch).GetServiceInfo(
            tts_pb2.GetServiceInfoRequest(), timeout=5))
        assert d.code == grpc.StatusCode.UNAVAILABLE, (client, d)
        ch.close()


def _https_get(server, certs: Path, client: str | None, path: str = "/health") -> int:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if client:
        ctx.load_cert_chain(str(certs / f"{client}.pem"), str(certs / f"{client}.key"))
    conn = http.client.HTTPSConnection("127.0.0.1", server.http_port, context=ctx, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_http_needs_a_client_certificate_from_the_ca(mtls_server, certs):
    assert _https_get(mtls_server, certs, "client") == 200
    assert _https_get(mtls_server, certs, "client", "/v1/models") == 200
    for client in (None, "rogue"):
        # TLS 1.3 sends the server's verdict on the client certificate after the handshake: the refusal shows as
        # an alert or a reset on the first read at the latest, never as an HTTP answer
        with pytest.raises(OSError):
            _https_get(mtls_server, certs, client)
