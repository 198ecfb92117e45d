"""End to end, bearer-token auth (`--auth-token-file`) and TLS (a CA and server certificate made in the test with
the openssl CLI): a missing/wrong/malformed token is UNAUTHENTICATED with ErrorInfo{reason}, a right token
works, health and reflection need none; a client trusting the CA is served, plaintext and a client trusting
another CA are not. (Auth off: every other e2e module.)"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.certs import SERVER_EXT, make_ca, make_leaf, need_openssl
from tests.e2e import call_error, details, request, running_server, scrape, synthesize

TOKENS = ("e2e-token-one", "e2e-token-two")
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


# ------------------------------------------------------------------ auth
@pytest.fixture(scope="module")
def auth_server(make_ckpt, tmp_path_factory):
    token_file = tmp_path_factory.mktemp("auth") / "tokens"
    token_file.write_text(f"# accepted tokens\n{TOKENS[0]}\n\n  {TOKENS[1]}  \n")
    with running_server(make_ckpt("tiny"), "--max-batch", "1", "--auth-token-file", str(token_file)) as s:
        yield s


@pytest.fixture(scope="module")
def auth_channel(auth_server):
    channel = auth_server.channel()
    yield channel
    channel.close()


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.mark.parametrize("metadata, reason", [
    ((), "MISSING_TOKEN"),
    (_bearer("not-a-token"), "INVALID_TOKEN"),
    (_bearer(TOKENS[0] + "x"), "INVALID_TOKEN"),
    ((("authorization", f"Basic {TOKENS[0]}"),), "MALFORMED_AUTHORIZATION"),
    ((("authorization", "Bearer"),), "MALFORMED_AUTHORIZATION"),
])
def test_calls_without_a_valid_token_are_unauthenticated(auth_server, auth_channel, metadata, reason):
    stub = tts_pb2_grpc.TextToSpeechServiceStub(auth_channel)
    before = scrape(auth_server).get("qwen3tts_requests_rejected_total", door="grpc", reason="unauthenticated")
    s = synthesize(stub, request(), metadata=metadata, timeout=10)
    assert s.code == UNAUTHENTICATED and s.events == []
    d = details(s.error)
    assert (d.reason, d.domain) == (reason, "qwen3tts")
    for unary in (lambda: stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=metadata, timeout=10),
                  lambda: stub.ListVoices(tts_pb2.ListVoicesRequest(), metadata=metadata, timeout=10),
                  lambda: stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="x"), metadata=metadata, timeout=10)):
        d = call_error(unary)
        assert (d.code, d.reason) == (UNAUTHENTICATED, reason)
    # counted, on the series the metrics module creates up front
    assert scrape(auth_server).get("qwen3tts_requests_rejected_total", door="grpc", reason="unauthenticated") == before + 4


@pytest.mark.parametrize("token", TOKENS)
def test_a_right_token_is_served(auth_channel, token):
    stub = tts_pb2_grpc.TextToSpeechServiceStub(auth_channel)
    md = (("authorization", f"bearer {token}"),)  # the scheme is case-insensitive
    assert stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=md, timeout=10).model_type == "custom_voice"
    s = synthesize(stub, request(seed=1), metadata=md, timeout=30).ok()
    assert s.finished.usage.generated_frames == 10


def test_health_and_reflection_need_no_token(auth_channel):
    health = health_pb2_grpc.HealthStub(auth_channel)
    for service in ("", "qwen3tts.v1.TextToSpeechService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    db = ProtoReflectionDescriptorDatabase(auth_channel)
    assert "qwen3tts.v1.TextToSpeechService" in db.get_services()
    assert db.FindFileContainingSymbol("qwen3tts.v1.TextToSpeechService").name == "qwen3tts/v1/tts.proto"


def test_a_malformed_message_without_a_token_is_still_unauthenticated(auth_channel):
    with pytest.raises(grpc.RpcError) as e:
        auth_channel.unary_unary("/qwen3tts.v1.TextToSpeechService/GetServiceInfo")(b"\xff\xff", timeout=10)
    assert e.value.code() == UNAUTHENTICATED


# ------------------------------------------------------------------ TLS
@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    need_openssl()
    d = tmp_path_factory.mktemp("tls")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "server", "ca", SERVER_EXT)
    return d


@pytest.fixture(scope="module")
def tls_server(make_ckpt, certs):
    creds = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.pem").read_bytes())
    with running_server(make_ckpt("tiny"), "--max-batch", "1", "--tls-cert", str(certs / "server.pem"),
                        "--tls-key", str(certs / "server.key"), metrics=False, credentials=creds) as s:
        yield s


def test_tls_client_with_the_ca_is_served(tls_server):
    channel = tls_server.channel()  # verifies the server certificate against the CA, for 127.0.0.1
    stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
    assert stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), timeout=10).model_type == "custom_voice"
    s = synthesize(stub, request(seed=2), timeout=30).ok()
    assert len(s.audio) == 2 * 24 * 800
    channel.close()


def test_plaintext_and_untrusted_clients_are_refused(tls_server, certs):
    plain = grpc.insecure_channel(tls_server.address)
    d = call_error(lambda: tts_pb2_grpc.TextToSpeechServiceStub(plain).GetServiceInfo(
        tts_pb2.GetServiceInfoRequest(), timeout=5))
    assert d.code == grpc.StatusCode.UNAVAILABLE
    plain.close()
    other = grpc.secure_channel(tls_server.address, grpc.ssl_channel_credentials(
        root_certificates=(certs / "other-ca.pem").read_bytes()))
    d = call_error(lambda: tts_pb2_grpc.TextToSpeechServiceStub(other).GetServiceInfo(
        tts_pb2.GetServiceInfoRequest(), timeout=5))
    assert d.code == grpc.StatusCode.UNAVAILABLE
    other.close()
