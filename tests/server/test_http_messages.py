"""The HTTP door's wire format without a server (server/doors/http_messages.py): OpenAI's speech body parsed
into the contract request (types and spelling only), errors in OpenAI's shape with the one status table and the
gRPC field names renamed, SSE framing, new event types ignored, voices and aliases."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest

from contract.formats import AudioFormat, Encoding
from contract.request import Priority, Sampling
from contract.rules import Violation
from server import errors
from server.audio.stream import EncodedChunk
from server.doors import http_messages as m
from server.errors import ServiceError, Status
from server.responses import Audio, Ending, Finished, Usage
from server.voices import VoiceInfo

ALIASES = {"alloy": "vivian"}


def parse(**body):
    return m.speech_request(body, "rid-1", ALIASES)


def violations(**body) -> dict[str, str]:
    with pytest.raises(ServiceError) as e:
        parse(**body)
    assert e.value.status is Status.INVALID_ARGUMENT
    return {v.field: v.message for v in e.value.violations}


def test_a_full_body_maps_to_the_contract_request():
    s = parse(model="tts-1", input="Hi", voice="Alloy", instructions="warm", response_format="opus", speed=1.5,
              stream_format="sse", language="english", seed=7, sample_rate=48000, max_audio_duration_ms=900,
              priority="batch", sampling={"temperature": 0.7, "top_k": 20, "top_p": 0.9, "repetition_penalty": 1.1,
                                          "greedy": False})
    r = s.request
    assert (s.model, s.response_format, s.stream_format) == ("tts-1", "opus", "sse")
    assert (r.text, r.voice, r.instructions, r.language, r.seed, r.speed) == ("Hi", "vivian", "warm", "english", 7, 1.5)
    assert r.audio_format == AudioFormat(Encoding.OGG_OPUS, 48000) and r.request_id == "rid-1"
    assert (r.max_audio_duration_ms, r.priority) == (900, Priority.BATCH)
    assert r.sampling == Sampling(0.7, 20, 0.9, 1.1, False)


def test_defaults_nulls_and_the_custom_voice_object():
    r = parse(input="Hi").request
    assert r.audio_format == AudioFormat(Encoding.MP3, 0) and r.speed == 1.0 and r.voice == "" and r.seed is None
    assert parse(input="Hi", speed=None, seed=None, voice=None, sampling=None).request == r  # null = absent
    assert parse(input="Hi", voice={"id": "zoe"}).request.voice == "zoe"
    assert parse(input="Hi", seed=3.0).request.seed == 3  # a whole JSON number is an integer
    for fmt, enc in [("mp3", Encoding.MP3), ("opus", Encoding.OGG_OPUS), ("aac", Encoding.AAC),
                     ("flac", Encoding.FLAC), ("wav", Encoding.WAV), ("pcm", Encoding.PCM_S16LE)]:
        assert parse(input="Hi", response_format=fmt.upper()).request.audio_format.encoding is enc


def test_wrong_types_and_unknown_fields_are_named():
    assert set(violations(input=1, speed="fast", seed=1.5, stream_format="ws", voice={"name": "x"},
                          sampling={"top_k": "x", "min_p": 0.1}, priority=True, stream=True)) == {
        "stream", "input", "speed", "seed", "stream_format", "voice", "sampling.top_k", "sampling.min_p", "priority"}
    assert "is required" in violations(model="tts-1")["input"]
    assert set(violations(input="x", sampling=[1])) == {"sampling"}
    with pytest.raises(ServiceError) as e:
        parse(input="x", foo=1)
    assert e.value.reason == "UNKNOWN_PARAMETER"
    with pytest.raises(ServiceError) as e:
        m.parse_json_object(b"[1]")
    assert e.value.violations[0].field == "body"


@pytest.mark.parametrize(("err", "status", "headers"), [
    (errors.invalid([Violation("text", "must not be empty")]), 400, set()),
    (ServiceError(Status.FAILED_PRECONDITION, "no cloning", reason="CLONING_UNSUPPORTED"), 400, set()),
    (ServiceError(Status.UNAUTHENTICATED, "no", reason="MISSING_TOKEN"), 401, {"www-authenticate"}),
    (ServiceError(Status.NOT_FOUND, "gone", reason="VOICE_NOT_FOUND"), 404, set()),
    (ServiceError(Status.ALREADY_EXISTS, "taken", reason="VOICE_EXISTS"), 409, set()),
    (errors.unavailable("full", "QUEUE_FULL", 1.0), 429, {"retry-after"}),
    (errors.unavailable("bye", "SHUTTING_DOWN", 0.2), 503, {"retry-after"}),
    (errors.unavailable("loading", "NOT_READY", 5.0), 503, {"retry-after"}),
    (errors.internal(), 500, set()),
    (m.body_too_large(10), 413, set()),
])
def test_errors_map_to_one_status_table_in_openai_shape(err, status, headers):
    got, body, extra = m.error_body(err)
    assert got == status and set(extra) == headers
    assert set(body) == {"error"} and {"message", "type", "param", "code"} <= set(body["error"])
    if "retry-after" in extra:
        assert int(extra["retry-after"]) >= 1  # whole seconds, never 0


def test_violations_are_renamed_to_the_http_fields():
    err = errors.invalid([Violation("audio_format.sample_rate_hertz", "44100 Hz is not available"),
                          Violation("text", "must not be empty"), Violation("sampling.top_p", "bad")])
    status, body, _ = m.error_body(err)
    e = body["error"]
    assert (status, e["param"], e["code"], e["type"]) == (400, "sample_rate", "invalid_value", "invalid_request_error")
    assert [v["param"] for v in e["violations"]] == ["sample_rate", "input", "sampling.top_p"]
    assert "input: must not be empty" in e["message"] and "text" not in e["message"]


def test_sse_events_and_unknown_event_types():
    chunk = EncodedChunk(b"\x01\x02\x03", 0, 0, 1, 24000)
    delta = m.sse_bytes(Audio(chunk))
    assert delta.startswith(b"data: ") and delta.endswith(b"\n\n") and delta.count(b"\n") == 2
    assert json.loads(delta[6:]) == {"type": "speech.audio.delta", "audio": base64.b64encode(b"\x01\x02\x03").decode()}
    done = json.loads(m.sse_bytes(Finished(Ending.END_OF_SPEECH, Usage(12, 30, 2.4, 0.1, 0.3, 3.0)))[6:])
    assert done == {"type": "speech.audio.done", "usage": {"input_tokens": 12, "output_tokens": 30, "total_tokens": 42}}
    assert m.audio_bytes(Audio(chunk)) == b"\x01\x02\x03"

    @dataclass(frozen=True)
    class Segment:  # an event type this door does not know (the text front end's, say)
        index: int

    assert m.sse_bytes(Segment(0)) is None and m.audio_bytes(Segment(0)) is None
    err = json.loads(m.sse_error(errors.unavailable("restarted", "WORKER_RESTART", 2.0))[6:])
    assert err["type"] == "error" and err["error"]["code"] == "worker_restart"


def test_voices_with_aliases():
    voices = [VoiceInfo("ryan", False, ("auto", "english"), 24000), VoiceInfo("vivian", False, ("auto",), 24000),
              VoiceInfo("zoe", True, ("english",), 24000, "warm", "2026-01-02T03:04:05Z", False)]
    out = m.voices_json(voices, {"alloy": "vivian", "nova": "missing"})["voices"]
    assert [(v["id"], v["type"]) for v in out] == [("ryan", "built_in"), ("vivian", "built_in"),
                                                   ("zoe", "audio_sample"), ("alloy", "alias")]
    assert out[2]["created_at"] == 1767323045 and out[3]["alias_of"] == "vivian" and out[3]["languages"] == ["auto"]


def test_voice_form():
    f = m.voice_form({"name": [" Zoe "], "audio_sample": [object()], "consent": ["c"], "x_vector_only": ["on"],
                      "languages": ["english, german"]}, b"RIFF")
    assert (f.name, f.audio, f.x_vector_only, f.languages, f.problems) == ("Zoe", b"RIFF", True,
                                                                          ("english", "german"), ())
    bad = m.voice_form({"name": ["a", "b"], "type": ["prompt"], "x_vector_only": ["maybe"], "extra": ["1"]}, None)
    assert {v.field for v in bad.problems} == {"name", "type", "x_vector_only", "extra", "audio_sample"}
