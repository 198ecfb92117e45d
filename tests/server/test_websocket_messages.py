"""The WebSocket door's wire format without a server (server/doors/websocket_messages.py): client messages parsed
(the config as the HTTP body, the field at fault named), session events rendered, errors as the HTTP API's error
objects with `text` kept as this door names it, close codes from the one status table, the origin rule."""

from __future__ import annotations

import json

import pytest

from contract.formats import AudioFormat, Encoding
from contract.rules import Violation
from server import errors
from server.audio.stream import EncodedChunk
from server.doors import websocket_messages as wm
from server.errors import ServiceError, Status
from server.responses import Audio, Ending, Finished, SegmentStarted, Started, Usage


def parse(obj) -> dict:
    return wm.client_message(json.dumps(obj), None)


def fault(fn, *args) -> dict[str, str]:
    with pytest.raises(ServiceError) as e:
        fn(*args)
    assert e.value.status is Status.INVALID_ARGUMENT
    return {v.field: v.message for v in e.value.violations}


def test_the_config_takes_the_speech_bodys_fields_and_the_token():
    cfg = wm.config(parse({"type": "session.config", "model": "tts-1", "voice": "Alloy", "response_format": "pcm",
                           "speed": 1.25, "language": "english", "seed": 7, "sampling": {"top_k": 20},
                           "max_audio_duration_ms": 900, "token": "t0k", "event_id": "e1"}), "rid", {"alloy": "vivian"})
    r = cfg.request
    assert (cfg.model, cfg.response_format, cfg.token) == ("tts-1", "pcm", "t0k")
    assert (r.voice, r.speed, r.language, r.seed, r.max_audio_duration_ms, r.text) == ("vivian", 1.25, "english", 7, 900, "")
    assert r.audio_format == AudioFormat(Encoding.PCM_S16LE, 0) and r.sampling.top_k == 20 and r.request_id == "rid"
    assert wm.config(parse({"type": "session.config"}), "rid", {}).response_format == "mp3"  # OpenAI's default


def test_a_bad_config_names_every_field():
    assert set(fault(wm.config, parse({"type": "session.config", "input": "x", "stream_format": "sse", "speed": "x",
                                       "token": 5}), "r", {})) == {"input", "stream_format", "speed", "token"}
    assert list(fault(wm.config, parse({"type": "input_text.append", "text": "x"}), "r", {})) == ["type"]


def test_messages_that_are_not_json_objects_of_a_known_type_name_message_or_type():
    assert list(fault(wm.client_message, None, b"\x00")) == ["message"]
    assert list(fault(wm.client_message, "{nope", None)) == ["message"]
    assert list(fault(wm.client_message, "[1]", None)) == ["message"]
    assert list(fault(wm.client_message, '{"type": "input_text.shout"}', None)) == ["type"]
    assert list(fault(wm.client_message, '{"text": "no type"}', None)) == ["type"]


def test_input_messages():
    assert wm.input_message(parse({"type": "input_text.append", "text": "Hel"})) == wm.Append("Hel")
    assert wm.input_message(parse({"type": "input_text.append", "text": "", "event_id": "e"})) == wm.Append("")
    assert wm.input_message(parse({"type": "input_text.flush"})) == wm.Flush()
    assert wm.input_message(parse({"type": "input_text.end"})) == wm.End()
    assert wm.input_message(parse({"type": "response.cancel"})) == wm.Cancel()
    assert list(fault(wm.input_message, parse({"type": "input_text.append"}))) == ["text"]
    assert list(fault(wm.input_message, parse({"type": "input_text.append", "text": 3}))) == ["text"]
    assert list(fault(wm.input_message, parse({"type": "input_text.flush", "text": "x"}))) == ["text"]
    assert list(fault(wm.input_message, parse({"type": "response.cancel", "event_id": 1}))) == ["event_id"]
    assert list(fault(wm.input_message, parse({"type": "session.config"}))) == ["type"]  # once, first
    assert wm.event_id({"event_id": "e9"}) == "e9" and wm.event_id({"event_id": 9}) is None


def test_events_as_frames_and_json():
    cfg = wm.Config(request=None, model="tts-1", response_format="pcm", token=None)  # type: ignore[arg-type]
    assert wm.event_message(Audio(EncodedChunk(b"\x01\x02", 0, 0, 1, 24000)), cfg) == b"\x01\x02"
    started = json.loads(wm.event_message(Started("rid", AudioFormat(Encoding.PCM_S16LE, 24000), "vivian", "m", 7,
                                                  "english", 80), cfg))
    assert started == {"type": "session.started", "request_id": "rid", "model": "tts-1", "voice": "vivian",
                       "language": "english", "seed": 7, "response_format": "pcm", "sample_rate": 24000, "chunk_ms": 80}
    segment = json.loads(wm.event_message(SegmentStarted(3, "Hi.", 0, 3, 1920), cfg))
    assert segment == {"type": "segment", "index": 3, "text": "Hi.", "source_start": 0, "source_end": 3,
                       "start_sample": 1920}
    usage = Usage(input_characters=10, generated_frames=20, audio_s=1.6, queue_s=0, time_to_first_audio_s=0,
                  processing_s=1)
    done = json.loads(wm.event_message(Finished(Ending.CANCELLED, usage), cfg))
    assert done == {"type": "turn.done", "cancelled": True, "ending": "cancelled",
                    "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30, "audio_seconds": 1.6}}
    assert json.loads(wm.turn_done_json(Finished(Ending.END_OF_SPEECH, usage)))["ending"] == "end_of_speech"
    assert wm.event_message(object(), cfg) is None  # a new event type must not break this door


def test_errors_keep_text_and_rename_the_rest_as_the_http_api_does():
    err = errors.invalid([Violation("text", "the turn was ended"), Violation("audio_format.encoding", "bad")])
    body = json.loads(wm.error_json(err, "e1"))
    assert body["type"] == "error" and body["error"]["param"] == "text" and body["error"]["event_id"] == "e1"
    assert [v["param"] for v in body["error"]["violations"]] == ["text", "response_format"]
    assert "event_id" not in json.loads(wm.error_json(err))["error"]


@pytest.mark.parametrize("err, code, reason", [
    (errors.invalid([Violation("voice", "unknown")]), 4400, "invalid_value"),
    (ServiceError(Status.UNAUTHENTICATED, "no", reason="MISSING_TOKEN"), 4401, "missing_token"),
    (ServiceError(Status.RESOURCE_EXHAUSTED, "long", reason="TEXT_LIMIT"), 4429, "text_limit"),
    (errors.unavailable("full", "SESSIONS_FULL"), 4503, "sessions_full"),
    (ServiceError(Status.DEADLINE_EXCEEDED, "idle", reason="SESSION_IDLE_TIMEOUT"), 4504, "session_idle_timeout"),
    (errors.internal(), 4500, "internal"),
])
def test_close_codes_are_4000_plus_the_http_status(err, code, reason):
    assert (wm.close_code(err), wm.close_reason(err)) == (code, reason)


def test_close_reasons_fit_a_close_frame():
    assert len(wm.close_reason(ServiceError(Status.INTERNAL, "x", reason="R" * 500)).encode()) <= 123


def test_origins():
    assert wm.origin_allowed(None, "h:8000", "ws", ())  # not a browser
    assert wm.origin_allowed("http://h:8000", "h:8000", "ws", ())  # the server's own page
    assert wm.origin_allowed("https://h", "h", "wss", ())
    assert not wm.origin_allowed("http://h", "h", "wss", ())  # scheme matters
    assert not wm.origin_allowed("https://evil.example", "h:8000", "ws", ())
    assert wm.origin_allowed("https://app.example", "h:8000", "ws", ("https://app.example",))
    assert wm.origin_allowed("https://evil.example", "h:8000", "ws", ("*",))
