"""Nothing secret reaches the logs: no bearer token (valid, invalid or malformed) and no request text, through
either door, at the server's default level (info), in the server's or its workers' output. The request ids are
there (so the check is not vacuous)."""

from __future__ import annotations

from qwen3tts.v1 import tts_pb2
from tests.e2e import http_request, synthesize, wait_for
from tests.reliability.conftest import ADMIN, SYNTH, md
from tests.reliability.fuzz_messages import VOICE

SECRET_TEXT = "Attorney client privileged sentence number 4711."
BAD_TOKEN = "leaked-if-you-can-read-this-0xdeadbeef"


def test_tokens_and_texts_never_logged(hardened):
    server, stub = hardened.server, hardened.stub
    synthesize(stub, text=SECRET_TEXT, voice=VOICE, metadata=(*md(SYNTH), ("x-request-id", "rel-log-grpc"))).ok()
    synthesize(stub, text=SECRET_TEXT, voice=VOICE, metadata=md(BAD_TOKEN))
    synthesize(stub, text=SECRET_TEXT, voice=VOICE, metadata=(("authorization", f"Basic {BAD_TOKEN}"),))
    sessions = [tts_pb2.StreamingSynthesizeRequest(config=tts_pb2.SynthesizeRequest(voice=VOICE, max_audio_duration_ms=400)),
                tts_pb2.StreamingSynthesizeRequest(text=SECRET_TEXT)]
    list(stub.StreamingSynthesize(iter(sessions), metadata=md(ADMIN), timeout=60))
    r = http_request(server, "POST", "/v1/audio/speech", {"input": SECRET_TEXT, "voice": VOICE,
                                                          "max_audio_duration_ms": 400},
                     headers={"authorization": f"Bearer {SYNTH}", "x-request-id": "rel-log-http"})
    assert r.status == 200
    http_request(server, "POST", "/v1/audio/speech", {"input": SECRET_TEXT}, headers={
        "authorization": f"Bearer {BAD_TOKEN}"})
    wait_for(lambda: any("rel-log-http" in line for line in server.lines), 10, what="the HTTP request's log lines")
    logs = "\n".join(server.lines)
    assert "rel-log-grpc" in logs and "rel-log-http" in logs
    for secret in (ADMIN, SYNTH, BAD_TOKEN, SECRET_TEXT, "privileged"):
        assert secret not in logs, f"{secret!r} is in the server's log"
