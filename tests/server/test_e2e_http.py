"""End to end, the HTTP API (OpenAI-compatible) on the shared tiny CustomVoice server, through the official
`openai` SDK: every response_format streamed and decoded by an independent decoder (PyAV's ffmpeg, libsndfile)
to its expected length; `pcm` equal to the gRPC PCM_S16LE stream for the same seed, bit for bit; SSE deltas
equal to the raw body; speed; errors with OpenAI's shape, status and `param`; voices, models, probes; a
disconnect mid-stream frees the worker slot; HTTP and gRPC requests share decode steps."""

from __future__ import annotations

import base64
import http.client
import io
import json
import math
import threading

import av
import numpy as np
import openai
import pytest
import soundfile as sf

from qwen3tts.v1 import tts_pb2
from tests.e2e import (
    LONG_SEED,
    LONG_TEXT,
    SHORT_MS,
    TEXT,
    http_request,
    request,
    scrape,
    synthesize,
    wait_for,
)
from tests.server.conftest import CV_ALIASES

N = SHORT_MS * 24  # samples of SHORT_MS at 24 kHz: every request here is cut there
SEED = 5
SHORT = {"seed": SEED, "max_audio_duration_ms": SHORT_MS}
# Decoded length of the lossy formats (server/audio/avmux.py): n plus the priming and the padding, rounded up to
# whole codec frames (MP3 576 samples at 24 kHz, AAC 1024).
LOSSY = {"mp3": (1152, 576), "aac": (1024, 1024)}
CONTENT_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg; codecs=opus", "aac": "audio/aac", "flac": "audio/flac",
                 "wav": "audio/wav", "pcm": "audio/pcm"}


@pytest.fixture(scope="module")
def client(cv_server):
    with cv_server.openai() as c:
        yield c


def speak(client, **kwargs) -> tuple[bytes, dict[str, str], int]:
    """(body, headers, pieces read) of a streamed speech request; SHORT and vivian unless given."""
    kwargs.setdefault("voice", "vivian")
    extra = {**SHORT, **kwargs.pop("extra_body", {})}
    with client.audio.speech.with_streaming_response.create(model=kwargs.pop("model", "tts-1"),
                                                            input=kwargs.pop("input", TEXT),
                                                            extra_body=extra, **kwargs) as r:
        pieces = list(r.iter_bytes())
        return b"".join(pieces), dict(r.headers), len(pieces)


def sndfile_read(data: bytes) -> tuple[np.ndarray, int]:
    """libsndfile's decode. A streamed FLAC has "unknown" total samples, which soundfile's read() mishandles
    (it seeks past the end); libsndfile reads the frames fine, so it is called directly (as in
    tests/server/test_audio_compressed.py)."""
    with sf.SoundFile(io.BytesIO(data)) as f:
        buf = np.zeros(1 << 20, np.float32)
        n = sf._snd.sf_readf_float(f._file, sf._ffi.cast("float *", buf.ctypes.data), buf.size)
        return buf[:n], f.samplerate


def decoded_samples(fmt: str, body: bytes) -> tuple[np.ndarray, int]:
    """(mono samples, rate) by a decoder other than the encoder: libsndfile for Opus/FLAC/WAV, ffmpeg (PyAV)
    for MP3 and AAC."""
    if fmt == "pcm":
        return np.frombuffer(body, "<i2").astype(np.float32) / 32768, 24000
    if fmt in ("opus", "flac", "wav"):
        return sndfile_read(body)
    with av.open(io.BytesIO(body), format={"mp3": "mp3", "aac": "aac"}[fmt]) as c:
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]
        return np.concatenate(frames), c.streams.audio[0].rate


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_every_response_format_streams_and_decodes_to_its_duration(client, fmt):
    body, headers, _ = speak(client, response_format=fmt)
    assert headers["content-type"] == CONTENT_TYPES[fmt]
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers  # streamed
    assert (headers["x-voice"], headers["x-sample-rate"], headers["x-seed"]) == ("vivian", "24000", str(SEED))
    assert headers["x-model"] == "tts-1" and headers["x-request-id"]
    x, rate = decoded_samples(fmt, body)
    assert rate == 24000 and np.isfinite(x).all() and np.abs(x).max() > 0
    if fmt in LOSSY:
        lead, frame = LOSSY[fmt]
        assert x.size == math.ceil((N + lead) / frame) * frame
    else:
        assert x.size == N  # exact: raw, lossless, or Opus trimmed by its granule positions


def test_pcm_equals_the_grpc_stream_and_sse_deltas_equal_the_body(client, cv_stub):
    grpc_audio = synthesize(cv_stub, request(TEXT, voice="vivian", seed=SEED,
                                             format=(tts_pb2.AUDIO_ENCODING_PCM_S16LE, 24000))).ok().audio
    pcm, headers, _ = speak(client, response_format="pcm")
    assert pcm == grpc_audio and len(pcm) == 2 * N
    # FLAC is lossless: it decodes to the very same samples
    flac, _, _ = speak(client, response_format="flac")
    assert np.array_equal(np.rint(sndfile_read(flac)[0] * 32768).astype("<i2"), np.frombuffer(grpc_audio, "<i2"))
    # an alias and OpenAI's {"id": ...} voice object name the same voice
    assert speak(client, response_format="pcm", voice="ALLOY")[0] == pcm
    assert speak(client, response_format="pcm", voice={"id": "vivian"})[0] == pcm

    for fmt in ("pcm", "mp3"):
        raw = pcm if fmt == "pcm" else speak(client, response_format="mp3")[0]
        body, headers, _ = speak(client, response_format=fmt, stream_format="sse")
        assert headers["content-type"].startswith("text/event-stream")
        events = [json.loads(block.removeprefix(b"data: ")) for block in body.split(b"\n\n") if block]
        assert all(set(e) == {"type", "audio"} and e["type"] == "speech.audio.delta" for e in events[:-1])
        assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == raw
        assert events[-1] == {"type": "speech.audio.done", "usage": {
            "input_tokens": len(TEXT), "output_tokens": SHORT_MS // 80, "total_tokens": len(TEXT) + SHORT_MS // 80}}


def test_speed_and_sample_rate(client, cv_stub):
    pcm, _, _ = speak(client, response_format="pcm")
    assert speak(client, response_format="pcm", speed=1.0)[0] == pcm  # 1.0 touches nothing
    fast, _, _ = speak(client, response_format="pcm", speed=2.0)
    # pitch-preserving stretch of the same model audio (the duration bound counts model audio): half as long,
    # within atempo's two windows (server/audio/tempo.py)
    assert abs(len(fast) // 2 - N / 2) <= 2 * 1024
    # gRPC's speed field: the same stretch, and its usage counts the audio sent
    s = synthesize(cv_stub, request(TEXT, voice="vivian", seed=SEED, speed=2.0,
                                    format=(tts_pb2.AUDIO_ENCODING_PCM_S16LE, 24000))).ok()
    assert s.audio == fast and s.finished.usage.audio_duration.ToNanoseconds() == round(len(fast) / 2 / 24000 * 1e9)
    assert s.finished.usage.generated_frames == SHORT_MS // 80
    slow, _, _ = speak(client, response_format="wav", speed=0.5)
    assert abs(sndfile_read(slow)[0].size - 2 * N) <= 2 * 1024
    low, headers, _ = speak(client, response_format="pcm", extra_body={"sample_rate": 16000, "priority": "batch"})
    assert headers["x-sample-rate"] == "16000" and len(low) == 2 * N * 2 // 3


@pytest.mark.parametrize(("kwargs", "param", "code"), [
    ({"input": ""}, "input", "invalid_value"),
    ({"voice": "nobody"}, "voice", "invalid_value"),
    ({"response_format": "ogg"}, "response_format", "invalid_value"),
    ({"speed": 9.0}, "speed", "invalid_value"),
    ({"extra_body": {"foo": 1}}, "foo", "unknown_parameter"),
    ({"extra_body": {"sampling": {"top_p": 2}}}, "sampling.top_p", "invalid_value"),
    ({"extra_body": {"seed": "x"}}, "seed", "invalid_value"),
    ({"response_format": "opus", "extra_body": {"sample_rate": 44100}}, "sample_rate", "invalid_value"),
    ({"input": "x" * 5001}, "input", "invalid_value"),
], ids=["empty-input", "unknown-voice", "bad-format", "speed", "unknown-field", "sampling", "seed-type",
        "rate", "too-long"])
def test_invalid_requests_are_400_naming_the_parameter(client, kwargs, param, code):
    with pytest.raises(openai.BadRequestError) as e:
        speak(client, **kwargs)
    err = e.value
    assert err.status_code == 400 and err.param == param and err.code == code
    assert err.type == "invalid_request_error" and param in err.message and "Traceback" not in err.message
    assert err.response.headers["x-request-id"]


def test_other_errors_have_openai_shape_and_metrics_count_the_door(cv_server):
    before = scrape(cv_server)
    r = http_request(cv_server, "POST", "/v1/audio/speech", b"{not json", headers={"x-request-id": "bad-json-1"})
    assert r.status == 400 and r.json()["error"]["param"] == "body" and r.headers["x-request-id"] == "bad-json-1"
    r = http_request(cv_server, "DELETE", "/v1/audio/voices/vivian")  # a CustomVoice checkpoint cannot clone
    assert r.status == 400 and r.json()["error"]["code"] == "cloning_unsupported"
    r = http_request(cv_server, "GET", "/v1/nothing-here")
    assert r.status == 404 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    # a body over max_message_bytes (8 MiB) is refused on its Content-Length, before it is sent
    conn = http.client.HTTPConnection("127.0.0.1", cv_server.http_port, timeout=30)
    conn.putrequest("POST", "/v1/audio/speech")
    conn.putheader("content-length", str(9 * 1024 * 1024))
    conn.endheaders()
    big = conn.getresponse()
    assert big.status == 413 and json.loads(big.read())["error"]["code"] == "body_too_large"
    conn.close()
    after = scrape(cv_server)
    assert after.get("qwen3tts_requests_total", door="http", method="Synthesize", code="INVALID_ARGUMENT") >= \
        before.get("qwen3tts_requests_total", door="http", method="Synthesize", code="INVALID_ARGUMENT") + 1
    assert after.get("qwen3tts_requests_rejected_total", door="http", reason="invalid_argument") >= \
        before.get("qwen3tts_requests_rejected_total", door="http", reason="invalid_argument") + 1
    assert after.get("qwen3tts_requests_total", door="http", method="DeleteVoice", code="FAILED_PRECONDITION") == \
        before.get("qwen3tts_requests_total", door="http", method="DeleteVoice", code="FAILED_PRECONDITION") + 1


def test_voices_models_and_probes(cv_server, client):
    voices = http_request(cv_server, "GET", "/v1/audio/voices").json()["voices"]
    built_in = [v["id"] for v in voices if v["type"] == "built_in"]
    assert built_in == sorted(built_in) and "vivian" in built_in
    aliases = {v["id"]: v["alias_of"] for v in voices if v["type"] == "alias"}
    assert aliases == CV_ALIASES
    assert all("english" in v["languages"] and v["sample_rate"] == 24000 for v in voices)
    only = http_request(cv_server, "GET", "/v1/audio/voices?language=klingon")
    assert only.status == 400 and only.json()["error"]["param"] == "language"

    (model,) = client.models.list().data
    assert model.id == str(cv_server.model) and model.object == "model"
    assert model.model_extra["model_type"] == "custom_voice" and "english" in model.model_extra["languages"]
    assert client.models.retrieve(model.id).id == model.id
    assert http_request(cv_server, "GET", "/v1/audio/models").json()["models"][0]["id"] == model.id
    assert http_request(cv_server, "GET", "/health").status == 200
    assert http_request(cv_server, "GET", "/ready").json() == {"status": "ready"}
    page = http_request(cv_server, "GET", "/")
    assert page.status == 200 and b"Qwen3-TTS" in page.body and page.headers["content-type"].startswith("text/html")


def test_a_disconnect_mid_stream_frees_the_worker_slot(cv_server, client):
    before = scrape(cv_server)
    with client.audio.speech.with_streaming_response.create(  # the default voice: LONG_SEED runs to the cap
            model="tts-1", input=LONG_TEXT, voice="serena", response_format="pcm",
            extra_body={"seed": LONG_SEED, "max_audio_duration_ms": 0},
            extra_headers={"x-request-id": "http-disconnect"}) as r:
        got = 0
        for piece in r.iter_bytes():  # minutes of audio unless stopped: take a little, then hang up
            got += len(piece)
            if got > 20_000:
                break
    wait_for(lambda: scrape(cv_server).get("qwen3tts_requests_running") == 0, 10, what="the slot freed")
    after = scrape(cv_server)
    assert after.get("qwen3tts_requests_cancelled_total", door="http", reason="client") == \
        before.get("qwen3tts_requests_cancelled_total", door="http", reason="client") + 1
    assert after.get("qwen3tts_requests_total", door="http", method="Synthesize", code="CANCELLED") == \
        before.get("qwen3tts_requests_total", door="http", method="Synthesize", code="CANCELLED") + 1
    assert [e["reason"] for e in cv_server.events("request.cancelled") if e.get("request_id") == "http-disconnect"] \
        == ["client"]
    # the slot is free for the next request
    assert len(speak(client, response_format="pcm")[0]) == 2 * N


def test_http_and_grpc_requests_share_decode_steps(cv_server, client, cv_stub):
    before = scrape(cv_server)
    results: dict[str, bytes] = {}
    bound = {"seed": LONG_SEED, "max_audio_duration_ms": 6000}  # LONG_SEED: no early end of speech

    def over_http():
        results["http"] = speak(client, input=LONG_TEXT, voice="serena", response_format="pcm", extra_body=bound)[0]

    thread = threading.Thread(target=over_http)
    thread.start()
    s = synthesize(cv_stub, request(LONG_TEXT, voice="serena", **bound), timeout=120).ok()
    thread.join(120)
    # the same request through either door, batched together: the same samples (batch-invariant decode)
    assert s.finished.usage.generated_frames == 75 and results["http"] == s.audio
    # (the HTTP request is counted when its response has ended on the server: a moment after the client read it)
    ok_before = before.get("qwen3tts_requests_total", door="http", method="Synthesize", code="OK")
    wait_for(lambda: scrape(cv_server).get("qwen3tts_requests_total", door="http", method="Synthesize", code="OK")
             == ok_before + 1, 5, what="the HTTP request counted")
    after = scrape(cv_server)

    def delta(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    # the worker reports its running sequences each second: some step ran both (a batch of 2)
    assert delta("qwen3tts_batch_size_count") - delta("qwen3tts_batch_size_bucket", le="1.0") >= 1
    assert delta("qwen3tts_requests_total", door="http", method="Synthesize", code="OK") == 1
    assert delta("qwen3tts_requests_total", door="grpc", method="Synthesize", code="OK") == 1
    assert delta("qwen3tts_time_to_first_audio_seconds_count", door="http", priority="interactive") == 1
    assert delta("qwen3tts_time_to_first_audio_seconds_count", door="grpc", priority="interactive") == 1
