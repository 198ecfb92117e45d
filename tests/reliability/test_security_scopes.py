"""Scoped bearer tokens, one check for both doors (server/auth.py TokenSet.authorize): a `synthesize` token speaks,
lists voices and reads the service info, but registering or deleting a voice needs `admin` (gRPC
PERMISSION_DENIED / HTTP 403, reason INSUFFICIENT_SCOPE); an unknown token is UNAUTHENTICATED / 401 everywhere;
health and readiness need none."""

from __future__ import annotations

import grpc
import pytest

from qwen3tts.v1 import tts_pb2
from tests.e2e import call_error, details, http_request, synthesize
from tests.reliability.conftest import ADMIN, SYNTH, md, wav
from tests.reliability.fuzz_messages import VOICE


def _register(hardened, token: str, name: str):
    return hardened.stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(name=name, reference_audio=wav(seed=9),
                                                                    x_vector_only=True), metadata=md(token), timeout=60)


def test_grpc_scopes(hardened):
    stub = hardened.stub
    synthesize(stub, voice=VOICE, metadata=md(SYNTH)).ok()
    assert stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=md(SYNTH), timeout=10).model_type == "base"
    assert VOICE in [v.name for v in stub.ListVoices(tts_pb2.ListVoicesRequest(), metadata=md(SYNTH),
                                                     timeout=10).voices]
    for call in (lambda: _register(hardened, SYNTH, "scoped"),
                 lambda: stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name=VOICE), metadata=md(SYNTH), timeout=10)):
        d = call_error(call)
        assert (d.code, d.reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_SCOPE"), d
    _register(hardened, ADMIN, "scoped")
    stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="scoped"), metadata=md(ADMIN), timeout=10)
    bad = synthesize(stub, voice=VOICE, metadata=md("not-a-token"))
    assert bad.code == grpc.StatusCode.UNAUTHENTICATED and details(bad.error).reason == "INVALID_TOKEN"
    with pytest.raises(grpc.RpcError) as e:
        list(stub.StreamingSynthesize(iter([]), metadata=md("not-a-token"), timeout=10))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert hardened.server.health() == 1  # health is exempt (the harness sends no token)


def test_http_scopes(hardened):
    server = hardened.server
    synth = {"authorization": f"Bearer {SYNTH}"}
    r = http_request(server, "POST", "/v1/audio/speech", {"input": "Hi.", "voice": VOICE, "max_audio_duration_ms": 400,
                                                          "response_format": "pcm"}, headers=synth)
    assert r.status == 200 and len(r.body) == 400 * 48
    assert http_request(server, "GET", "/v1/audio/voices", headers=synth).status == 200
    assert http_request(server, "GET", "/v1/models", headers=synth).status == 200
    r = http_request(server, "DELETE", f"/v1/audio/voices/{VOICE}", headers=synth)
    assert r.status == 403 and r.json()["error"]["code"] == "insufficient_scope", r.body
    r = http_request(server, "POST", "/v1/audio/voices", b"x", headers={**synth, "content-type": "text/plain"})
    assert r.status == 403
    r = http_request(server, "DELETE", "/v1/audio/voices/nobody", headers={"authorization": f"Bearer {ADMIN}"})
    assert r.status == 404  # admin passes the check; the voice does not exist
    r = http_request(server, "GET", "/v1/models", headers={"authorization": "Bearer wrong"})
    assert r.status == 401 and r.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert http_request(server, "GET", "/health").status == 200
    assert http_request(server, "GET", "/ready").status == 200
