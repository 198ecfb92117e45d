"""End to end, request errors: every invalid request is INVALID_ARGUMENT with a google.rpc.BadRequest naming the
proto field(s) at fault (checked by the server or by the worker), a short client deadline is DEADLINE_EXCEEDED
and stops the generation, and no failure is ever UNKNOWN."""

from __future__ import annotations

import math
import time

import grpc
import pytest

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import LONG_SEED, LONG_TEXT, request, running_server, scrape, synthesize, wait_for

INVALID = grpc.StatusCode.INVALID_ARGUMENT
S = tts_pb2.SamplingParameters


@pytest.mark.parametrize("req, fields", [
    (request(""), ["text"]),
    (request(" \n\t "), ["text"]),
    (request("x" * 5001), ["text"]),  # max_text_characters = 5000 (code points)
    (request("ü" * 5001), ["text"]),
    (request(voice="nobody"), ["voice"]),
    (request(language="klingon"), ["language"]),
    (request(chunk_duration_ms=19), ["chunk_duration_ms"]),
    (request(chunk_duration_ms=101), ["chunk_duration_ms"]),
    (request(format=(tts_pb2.AUDIO_ENCODING_MULAW, 24000)), ["audio_format.sample_rate_hertz"]),
    (request(format=(tts_pb2.AUDIO_ENCODING_OGG_OPUS, 22050)), ["audio_format.sample_rate_hertz"]),
    (request(format=(tts_pb2.AUDIO_ENCODING_PCM_S16LE, 11025)), ["audio_format.sample_rate_hertz"]),
    (request(format=(99, 0)), ["audio_format.encoding"]),
    (request(sampling=S(temperature=0)), ["sampling.temperature"]),
    (request(sampling=S(temperature=math.nan)), ["sampling.temperature"]),
    (request(sampling=S(temperature=101)), ["sampling.temperature"]),
    (request(sampling=S(top_p=0)), ["sampling.top_p"]),
    (request(sampling=S(top_p=1.5)), ["sampling.top_p"]),
    (request(sampling=S(repetition_penalty=0)), ["sampling.repetition_penalty"]),
    (request(sampling=S(repetition_penalty=10.5)), ["sampling.repetition_penalty"]),
    (request(instructions="Speak softly."), ["instructions"]),  # tiny CustomVoice is 0.6B: no instructions
    (request(seed=-1), ["seed"]),
    (request(max_audio_duration_ms=300_001), ["max_audio_duration_ms"]),
    (request(priority=7), ["priority"]),
    # every violation at once, each named
    (request("", voice="nobody", language="klingon", chunk_duration_ms=5, seed=-3,
             sampling=S(top_p=2.0, temperature=-1)),
     ["text", "voice", "language", "chunk_duration_ms", "seed", "sampling.temperature", "sampling.top_p"]),
], ids=lambda v: None if isinstance(v, list) else "")
def test_invalid_requests_name_the_field(cv_stub, req, fields):
    s = synthesize(cv_stub, req, timeout=10)
    assert s.code == INVALID, (s.code, s.error and s.error.details())
    assert s.events == []  # refused before anything was sent
    d = _details(s)
    assert sorted(d.violations) == sorted(fields), d.violations
    assert all(d.violations.values())  # each with a description
    for f in fields:
        assert f in d.message


def test_text_limit_counts_code_points_and_a_text_beyond_the_context_is_spoken_in_segments(cv_stub):
    # 5000 code points (10000 UTF-8 bytes) pass the server's character limit (5001 do not: see above). On the
    # tiny checkpoint's byte-level vocabulary they are 5000 tokens, more than the 4096-position context: the
    # text front end cuts them into segments (mid-word, as the text has no space), each its own generation.
    text = "ü" * 5000
    dry = synthesize(cv_stub, request(text, dry_run=True), timeout=30).ok()
    assert len(dry.segments) == 20 and all(g.source_end - g.source_start == 250 for g in dry.segments)
    assert dry.events == ["started", *["segment"] * 20, "finished"]
    assert dry.chunks == [] and dry.finished.usage.generated_frames == 0
    s = synthesize(cv_stub, request(text, segment_events=True), timeout=60).ok()
    assert s.events[:2] == ["started", "segment"] and len(s.audio) == 2 * 24 * 800


def test_validation_failures_are_counted(cv_server, cv_stub):
    before = scrape(cv_server)
    synthesize(cv_stub, request(""), timeout=10)
    after = scrape(cv_server)
    assert after.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="INVALID_ARGUMENT") == \
        before.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="INVALID_ARGUMENT") + 1
    # the series the metrics module creates up front is the one that counts
    assert after.get("qwen3tts_requests_rejected_total", door="grpc", reason="invalid_argument") == \
        before.get("qwen3tts_requests_rejected_total", door="grpc", reason="invalid_argument") + 1


def test_short_deadline_is_deadline_exceeded_and_generation_stops(cv_server, cv_stub):
    before = scrape(cv_server)
    t0 = time.monotonic()
    s = synthesize(cv_stub, request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=1.0)
    took = time.monotonic() - t0
    assert s.code == grpc.StatusCode.DEADLINE_EXCEEDED and took < 3
    assert s.started is not None and s.chunks and s.finished is None  # it was streaming when the deadline hit
    # the server noticed (cancel reason "deadline") and the worker let go of the sequence
    wait_for(lambda: scrape(cv_server).get("qwen3tts_requests_cancelled_total", door="grpc", reason="deadline")
             == before.get("qwen3tts_requests_cancelled_total", door="grpc", reason="deadline") + 1, 5, what="deadline counted")
    wait_for(lambda: scrape(cv_server).get("qwen3tts_requests_running") == 0, 5, what="running back to 0")
    # counted under the code the client saw
    m = scrape(cv_server)
    assert m.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="DEADLINE_EXCEEDED") == \
        before.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="DEADLINE_EXCEEDED") + 1
    assert m.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="CANCELLED") == \
        before.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="CANCELLED")
    frames = scrape(cv_server).get("qwen3tts_generated_frames_total")
    time.sleep(1.2)
    assert scrape(cv_server).get("qwen3tts_generated_frames_total") == frames


def test_unknown_method_is_unimplemented_not_unknown(cv_channel):
    call = cv_channel.unary_unary("/qwen3tts.v1.TextToSpeechService/Nope")
    with pytest.raises(grpc.RpcError) as e:
        call(b"", timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("method, streaming", [("Synthesize", True), ("GetServiceInfo", False)])
def test_request_bytes_that_do_not_parse_are_invalid_argument_not_unknown(cv_channel, method, streaming):
    """grpc.aio itself would answer UNKNOWN "Unexpected <class '...DecodeError'>" (the deserializer runs before
    any handler); the server maps it to INVALID_ARGUMENT."""
    path = f"/qwen3tts.v1.TextToSpeechService/{method}"
    with pytest.raises(grpc.RpcError) as e:
        if streaming:
            list(cv_channel.unary_stream(path)(b"\xff\xff\xff", timeout=5))
        else:
            cv_channel.unary_unary(path)(b"\xff\xff\xff", timeout=5)
    assert e.value.code() == INVALID and "not a valid protobuf message" in e.value.details()


def _details(s):
    from tests.e2e import details

    return details(s.error)


# ------------------------------------------------------------------ VoiceDesign
@pytest.fixture(scope="module")
def vd_stub(make_ckpt):
    with running_server(make_ckpt("tiny-voice-design"), "--max-batch", "1", metrics=False) as server:
        channel = server.channel()
        yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
        channel.close()


def test_voice_design_takes_a_description_not_a_voice(vd_stub):
    info = vd_stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), timeout=10)
    assert info.model_type == "voice_design" and info.supports_instructions and not info.supports_voice_cloning
    assert list(vd_stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=10).voices) == []
    s = synthesize(vd_stub, request(voice="serena", instructions="A calm, low voice."), timeout=10)
    assert s.code == INVALID and list(_details(s).violations) == ["voice"]
    # the description is required: the worker's check, reported in the proto's field name
    s = synthesize(vd_stub, request(), timeout=10)
    assert s.code == INVALID and list(_details(s).violations) == ["instructions"]
    s = synthesize(vd_stub, request(instructions="x" * 2001), timeout=10)
    assert s.code == INVALID and list(_details(s).violations) == ["instructions"]
    ok = synthesize(vd_stub, request(instructions="A calm, low voice.", seed=5), timeout=60).ok()
    assert ok.started.voice == "" and len(ok.audio) == 2 * 24 * 800
