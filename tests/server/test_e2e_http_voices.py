"""End to end, the HTTP API on a Base (voice-cloning) checkpoint with bearer tokens: 401 without a valid token
(health, readiness and the playground exempt), the same tokens as gRPC; voices registered (the official SDK's
`client.audio.voices.create`, and a plain multipart form for the x-vector-only mode), listed, spoken with and
deleted, with 404/409/400 naming the field."""

from __future__ import annotations

import io

import numpy as np
import openai
import pytest
import soundfile as sf

from tests.e2e import SHORT_MS, TEXT, http_request, running_server, scrape
from tests.reference_signals import voice_like

TOKEN = "http-e2e-token"


@pytest.fixture(scope="module")
def base_server(make_ckpt, tmp_path_factory):
    token_file = tmp_path_factory.mktemp("http-auth") / "tokens"
    token_file.write_text(f"{TOKEN}\n")
    with running_server(make_ckpt("tiny-base"), "--max-batch", "1", "--auth-token-file", str(token_file),
                        http=True) as server:
        yield server


@pytest.fixture(scope="module")
def client(base_server):
    with base_server.openai(api_key=TOKEN) as c:
        yield c


def _wav(seconds: float = 3.0, rate: int = 24000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, voice_like(1, rate, seconds), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _multipart(fields: dict[str, str], file: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand for the plain-HTTP case (what curl -F sends)."""
    boundary = "qwen3ttsboundary"
    parts = [f'--{boundary}\r\ncontent-disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="audio_sample"; filename="ref.wav"\r\n'
                 "content-type: audio/wav\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_bearer_tokens(base_server, client):
    before = scrape(base_server).get("qwen3tts_requests_rejected_total", door="http", reason="unauthenticated")
    for headers, code in (({}, "missing_token"), ({"authorization": "Bearer wrong"}, "invalid_token"),
                          ({"authorization": f"Basic {TOKEN}"}, "malformed_authorization")):
        r = http_request(base_server, "GET", "/v1/audio/voices", headers=headers)
        assert r.status == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"]["code"] == code and r.json()["error"]["type"] == "authentication_error"
    with base_server.openai(api_key="wrong") as bad, pytest.raises(openai.AuthenticationError):
        bad.models.list()
    assert scrape(base_server).get("qwen3tts_requests_rejected_total", door="http", reason="unauthenticated") \
        == before + 4
    for path in ("/health", "/ready", "/", "/playground/app.js"):  # probes and the page itself need no token
        assert http_request(base_server, "GET", path).status == 200, path
    assert client.models.list().data[0].model_extra["supports_voice_cloning"] is True


def test_voice_lifecycle(base_server, client):
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert http_request(base_server, "GET", "/v1/audio/voices", headers=auth).json()["voices"] == []
    with pytest.raises(openai.BadRequestError) as e:  # a Base checkpoint speaks only registered voices
        client.audio.speech.create(model="tts-1", input=TEXT, voice="zoe")
    assert e.value.param == "voice"

    # in-context clone through the official SDK (its consent field is accepted), transcript via extra_body
    zoe = client.audio.voices.create(name="Zoe", consent="cons_test", audio_sample=("zoe.wav", _wav(), "audio/wav"),
                                     extra_body={"reference_text": "Hello, this is my voice."})
    assert (zoe.id, zoe.object, zoe.type) == ("zoe", "audio.voice", "audio_sample") and zoe.created_at > 0
    # x-vector only, with a plain multipart form (what `curl -F` sends)
    body, content_type = _multipart({"name": "adam", "x_vector_only": "true", "languages": "english"}, _wav(2.0))
    r = http_request(base_server, "POST", "/v1/audio/voices", body, headers={**auth, "content-type": content_type})
    assert r.status == 201 and r.json()["x_vector_only"] is True and r.json()["languages"] == ["english"]

    voices = http_request(base_server, "GET", "/v1/audio/voices", headers=auth).json()["voices"]
    assert [v["id"] for v in voices] == ["adam", "zoe"] and {v["type"] for v in voices} == {"audio_sample"}
    # speak with each (the name is case-insensitive)
    for name in ("ZOE", "adam"):
        with client.audio.speech.with_streaming_response.create(
                model="tts-1", input=TEXT, voice=name, response_format="pcm",
                extra_body={"seed": 1, "max_audio_duration_ms": SHORT_MS}) as r:
            pcm = r.read()
        assert r.headers["x-voice"] == name.lower() and len(pcm) == 2 * SHORT_MS * 24
        assert np.abs(np.frombuffer(pcm, "<i2")).max() > 0

    with pytest.raises(openai.ConflictError) as e:  # 409: the name is taken
        client.audio.voices.create(name="zoe", consent="c", audio_sample=("z.wav", _wav(), "audio/wav"))
    assert e.value.code == "voice_exists"
    with pytest.raises(openai.BadRequestError) as e:  # the file is not audio
        client.audio.voices.create(name="bad", consent="c", audio_sample=("x.wav", b"not audio", "audio/wav"),
                                   extra_body={"x_vector_only": "true"})
    assert e.value.param == "audio_sample"
    r = http_request(base_server, "POST", "/v1/audio/voices", {"name": "json"}, headers=auth)
    assert r.status == 400 and r.json()["error"]["param"] == "body"  # a form is needed

    deleted = client.audio.voices.delete("zoe")
    assert (deleted.id, deleted.deleted, deleted.object) == ("zoe", True, "audio.voice.deleted")
    with pytest.raises(openai.NotFoundError) as e:  # 404: gone
        client.audio.voices.delete("zoe")
    assert e.value.code == "voice_not_found"
    remaining = http_request(base_server, "GET", "/v1/audio/voices", headers=auth).json()["voices"]
    assert [v["id"] for v in remaining] == ["adam"]
