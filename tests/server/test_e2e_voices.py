"""End to end on a Base (voice-cloning) checkpoint: RegisterVoice (in-context from a WAV file with transcript,
x-vector-only from raw PCM), ListVoices, Synthesize with a registered voice, DeleteVoice, and their errors
(ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT naming the field)."""

from __future__ import annotations

import io
import time

import grpc
import numpy as np
import pytest
import soundfile as sf

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import call_error, details, request, running_server, synthesize
from tests.reference_signals import voice_like

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def stub(make_ckpt):
    with running_server(make_ckpt("tiny-base"), "--max-batch", "1", metrics=False) as server:
        channel = server.channel()
        yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
        channel.close()


def _wav(seconds: float = 4.0, rate: int = 24000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, voice_like(1, rate, seconds), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _register(stub, **fields) -> tts_pb2.RegisterVoiceResponse:
    return stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(**fields), timeout=60)


def test_voice_lifecycle(stub):
    info = stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), timeout=10)
    assert info.model_type == "base" and info.supports_voice_cloning and not info.supports_instructions
    assert list(stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=10).voices) == []

    # in-context cloning: a WAV file (container detected) and its transcript
    before = time.time()
    icl = _register(stub, name="Zoe", reference_audio=_wav(), reference_text="Hello, this is my voice.",
                    description="warm", languages=["english"]).voice
    assert icl.name == "zoe" and icl.type == tts_pb2.VOICE_TYPE_REGISTERED and not icl.x_vector_only
    assert icl.description == "warm" and icl.natural_sample_rate_hertz == 24000
    assert list(icl.languages) == ["english"]  # what it was registered for, not every model language
    assert before - 2 <= icl.create_time.ToSeconds() <= time.time() + 2
    # x-vector only: raw S16LE at 16 kHz (the rate is required for raw PCM)
    pcm = np.rint(voice_like(2, 16000, 3.0) * 32767).astype("<i2").tobytes()
    xv = _register(stub, name="adam", reference_audio=pcm, x_vector_only=True,
                   reference_audio_format=tts_pb2.AudioFormat(encoding=tts_pb2.AUDIO_ENCODING_PCM_S16LE,
                                                              sample_rate_hertz=16000)).voice
    assert xv.name == "adam" and xv.x_vector_only

    voices = stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=10).voices
    assert [(v.name, v.type, v.x_vector_only) for v in voices] == [
        ("adam", tts_pb2.VOICE_TYPE_REGISTERED, True), ("zoe", tts_pb2.VOICE_TYPE_REGISTERED, False)]
    assert voices[1].create_time == icl.create_time and voices[1].description == "warm"
    # the language filter keeps voices meant for that language and those meant for any
    german = stub.ListVoices(tts_pb2.ListVoicesRequest(language="german"), timeout=10).voices
    assert [v.name for v in german] == ["adam"]
    d = call_error(lambda: _register(stub, name="klingon", reference_audio=_wav(), x_vector_only=True,
                                     languages=["klingon"]))
    assert d.code == grpc.StatusCode.INVALID_ARGUMENT and list(d.violations) == ["languages"]

    # both voices speak, each its own way, reproducibly
    a = synthesize(stub, request(voice="ZOE", seed=4)).ok()
    assert a.started.voice == "zoe" and len(a.audio) == 2 * 24 * 800
    assert synthesize(stub, request(voice="zoe", seed=4)).ok().audio == a.audio
    b = synthesize(stub, request(voice="adam", seed=4)).ok()
    assert b.audio != a.audio

    # a taken name
    d = call_error(lambda: _register(stub, name="zoe", reference_audio=_wav(), x_vector_only=True))
    assert d.code == grpc.StatusCode.ALREADY_EXISTS and d.reason == "VOICE_EXISTS"

    # delete: gone from the list, then unknown everywhere
    stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="Zoe"), timeout=10)
    assert [v.name for v in stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=10).voices] == ["adam"]
    d = call_error(lambda: stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="zoe"), timeout=10))
    assert d.code == grpc.StatusCode.NOT_FOUND and d.reason == "VOICE_NOT_FOUND"
    s = synthesize(stub, request(voice="zoe"))
    assert s.code == INVALID and list(details(s.error).violations) == ["voice"]


@pytest.mark.parametrize("fields, field", [
    ({"name": "Bad Name!", "x_vector_only": True}, "name"),
    ({"name": "", "x_vector_only": True}, "name"),
    ({"name": "notext"}, "reference_text"),  # in-context cloning needs the transcript
    ({"name": "empty", "reference_audio": b"", "x_vector_only": True}, "reference_audio"),
    ({"name": "junk", "reference_audio": b"not audio at all" * 100, "x_vector_only": True}, "reference_audio"),
    ({"name": "short", "reference_audio": "short", "x_vector_only": True}, "reference_audio"),  # 0.3 s
    ({"name": "rawnorate", "reference_audio": b"\0\0" * 48000, "x_vector_only": True,
      "reference_audio_format": tts_pb2.AudioFormat(encoding=tts_pb2.AUDIO_ENCODING_PCM_S16LE)},
     "reference_audio_format.sample_rate_hertz"),
    ({"name": "mulaw", "reference_audio": b"\0" * 48000, "x_vector_only": True,
      "reference_audio_format": tts_pb2.AudioFormat(encoding=tts_pb2.AUDIO_ENCODING_MULAW, sample_rate_hertz=8000)},
     "reference_audio_format.encoding"),
])
def test_register_voice_errors_name_the_field(stub, fields, field):
    fields = dict(fields)
    if fields.get("reference_audio") == "short":
        fields["reference_audio"] = _wav(0.3)
    fields.setdefault("reference_audio", _wav())
    d = call_error(lambda: _register(stub, **fields))
    assert d.code == INVALID and list(d.violations) == [field], (d.violations, d.message)


def test_synthesize_on_base_needs_a_registered_voice(stub):
    s = synthesize(stub, request())
    assert s.code == INVALID and list(details(s.error).violations) == ["voice"]
    s = synthesize(stub, request(voice="nobody"))
    assert s.code == INVALID and list(details(s.error).violations) == ["voice"]


def test_a_request_over_the_message_size_limit_is_resource_exhausted(stub):
    # --max-message-bytes defaults to 8 MiB; the library refuses the message before any handler runs
    d = call_error(lambda: _register(stub, name="huge", reference_audio=b"\0" * (9 * 1024 * 1024), x_vector_only=True))
    assert d.code == grpc.StatusCode.RESOURCE_EXHAUSTED
