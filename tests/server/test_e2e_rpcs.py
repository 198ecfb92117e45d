"""End to end, every RPC on a CustomVoice server: GetServiceInfo, ListVoices, Synthesize (the stream's shape and
its resolved fields), and RegisterVoice/DeleteVoice refused with FAILED_PRECONDITION (only Base checkpoints
clone). Base-checkpoint voice RPCs: test_e2e_voices.py."""

from __future__ import annotations

import grpc
import numpy as np
from google.protobuf import duration_pb2

from qwen3tts.v1 import tts_pb2
from tests.e2e import LONG_SEED, LONG_TEXT, SHORT_MS, call_error, collect, request, synthesize
from tests.server.conftest import CV_MAX_BATCH

SPEAKERS = ["aiden", "dylan", "eric", "ono_anna", "ryan", "serena", "sohee", "uncle_fu", "vivian"]
LANGUAGES = ["auto", "chinese", "english", "german", "italian", "portuguese", "spanish", "japanese", "korean",
             "french", "russian"]


def test_get_service_info_describes_model_limits_and_formats(cv_server, cv_stub):
    info = cv_stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), timeout=10)
    assert info.model == cv_server.model and info.model_type == "custom_voice" and info.server_version == "0.1.0"
    assert info.native_sample_rate_hertz == 24000 and info.frame_duration_ms == 80
    assert (info.min_chunk_duration_ms, info.max_chunk_duration_ms, info.default_chunk_duration_ms) == (20, 100, 80)
    assert info.max_text_characters == 5000 and info.max_instructions_characters == 2000
    assert info.max_audio_duration_ms == 300_000
    assert list(info.languages) == LANGUAGES
    assert info.supports_instructions is False  # 0.6B CustomVoice ignores instructions
    assert info.supports_voice_cloning is False
    # The default is the exact reference; the worker says what it runs and on what.
    assert (info.talker_precision, info.code_predictor_precision, info.codec_precision, info.quantization) == (
        "float32", "float32", "float32", "none")
    assert info.compute_device
    formats = {f.encoding: (list(f.sample_rates_hertz), f.default_sample_rate_hertz) for f in info.audio_formats}
    pcm = [8000, 16000, 22050, 24000, 44100, 48000]
    mpeg = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]
    assert formats == {
        tts_pb2.AUDIO_ENCODING_PCM_S16LE: (pcm, 24000),
        tts_pb2.AUDIO_ENCODING_PCM_F32LE: (pcm, 24000),
        tts_pb2.AUDIO_ENCODING_MULAW: ([8000, 16000], 8000),
        tts_pb2.AUDIO_ENCODING_ALAW: ([8000, 16000], 8000),
        tts_pb2.AUDIO_ENCODING_OGG_OPUS: ([8000, 12000, 16000, 24000, 48000], 24000),
        tts_pb2.AUDIO_ENCODING_MP3: (mpeg, 24000),
        tts_pb2.AUDIO_ENCODING_FLAC: (pcm, 24000),
        tts_pb2.AUDIO_ENCODING_AAC: (mpeg, 24000),
        tts_pb2.AUDIO_ENCODING_WAV: (pcm, 24000),
    }


def test_list_voices_lists_the_built_in_speakers_sorted(cv_stub):
    voices = cv_stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=10).voices
    assert [v.name for v in voices] == SPEAKERS  # proto: "each group sorted by name"
    for v in voices:
        assert v.type == tts_pb2.VOICE_TYPE_BUILT_IN and v.natural_sample_rate_hertz == 24000
        assert list(v.languages) == LANGUAGES and not v.HasField("create_time") and not v.x_vector_only
    only = cv_stub.ListVoices(tts_pb2.ListVoicesRequest(language="English"), timeout=10).voices
    assert [v.name for v in only] == SPEAKERS and all(list(v.languages) == ["english"] for v in only)


def test_list_voices_of_an_unknown_language_names_the_field(cv_stub):
    d = call_error(lambda: cv_stub.ListVoices(tts_pb2.ListVoicesRequest(language="klingon"), timeout=10))
    assert d.code == grpc.StatusCode.INVALID_ARGUMENT and list(d.violations) == ["language"]


def test_synthesize_stream_is_started_chunks_finished_with_resolved_fields(cv_server, cv_stub):
    text = "Grüße aus Köln, 世界!"  # 19 code points, more UTF-8 bytes
    s = synthesize(cv_stub, request(text, seed=7, language="English"),
                   metadata=(("x-request-id", "e2e-rpcs-started-1"),)).ok()
    assert s.initial_metadata.get("x-request-id") == "e2e-rpcs-started-1"
    st = s.started
    assert st.request_id == "e2e-rpcs-started-1"
    assert (st.audio_format.encoding, st.audio_format.sample_rate_hertz) == (tts_pb2.AUDIO_ENCODING_PCM_S16LE, 24000)
    assert st.voice == "serena"  # empty voice: the checkpoint's first built-in speaker
    assert st.model == cv_server.model and st.seed == 7 and st.language == "english"
    assert st.chunk_duration_ms == 80 and st.channels == 1
    # SHORT_MS of audio in 80 ms chunks of 1920 int16 samples
    assert [c.sequence_number for c in s.chunks] == list(range(SHORT_MS // 80))
    assert all(len(c.audio) == 2 * 1920 for c in s.chunks)
    usage = s.finished.usage
    assert usage.input_characters == 19
    assert usage.generated_frames == SHORT_MS // 80
    assert usage.audio_duration == duration_pb2.Duration(nanos=SHORT_MS * 1_000_000)
    assert s.finished.finish_reason == tts_pb2.FINISH_REASON_MAX_DURATION
    times = [usage.queue_time.ToNanoseconds(), usage.time_to_first_audio.ToNanoseconds(),
             usage.processing_time.ToNanoseconds()]
    assert 0 <= times[0] <= times[1] <= times[2] < 60e9
    assert np.any(s.s16() != 0)


def test_unseeded_requests_report_the_seed_that_reproduces_them(cv_stub):
    first = synthesize(cv_stub, request(voice="Ryan")).ok()  # voice names are case-insensitive
    assert first.started.voice == "ryan" and first.started.seed >= 0
    again = synthesize(cv_stub, request(voice="ryan", seed=first.started.seed)).ok()
    assert again.audio == first.audio
    other = synthesize(cv_stub, request(voice="ryan", seed=first.started.seed + 1)).ok()
    assert other.audio != first.audio


def test_concurrent_streams_share_the_batch(cv_stub):
    """max_batch concurrent requests all complete, each equal to its own run alone (batch invariance)."""
    reqs = [request(voice=v, seed=3, format=(tts_pb2.AUDIO_ENCODING_PCM_F32LE, 0))
            for v in ("vivian", "eric")][:CV_MAX_BATCH]
    calls = [cv_stub.Synthesize(r, timeout=60) for r in reqs]
    together = [collect(c).ok() for c in calls]
    alone = [synthesize(cv_stub, r).ok() for r in reqs]
    assert [t.audio for t in together] == [a.audio for a in alone]
    assert together[0].audio != together[1].audio
    # joining a stream that is already decoding (its prompt prefilled beside it) changes nothing either
    running = cv_stub.Synthesize(request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=60)
    assert collect(running, limit=3).events == ["started", "audio", "audio"]
    joined = synthesize(cv_stub, reqs[1]).ok()
    running.cancel()
    assert joined.audio == alone[1].audio


def test_register_and_delete_voice_need_a_base_checkpoint(cv_stub):
    reg = call_error(lambda: cv_stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(
        name="mine", reference_audio=b"RIFF....", x_vector_only=True), timeout=10))
    assert reg.code == grpc.StatusCode.FAILED_PRECONDITION and reg.reason == "CLONING_UNSUPPORTED"
    assert reg.domain == "qwen3tts"
    dele = call_error(lambda: cv_stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="ryan"), timeout=10))
    assert dele.code == grpc.StatusCode.FAILED_PRECONDITION and dele.reason == "CLONING_UNSUPPORTED"


def test_concurrent_requests_with_the_same_request_id_both_succeed(cv_server, cv_stub):
    """x-request-id is the client's correlation id, not a key: clients reuse it (retries, fan-out)."""
    md = (("x-request-id", "e2e-rpcs-shared-id"),)
    calls = [cv_stub.Synthesize(request(seed=s), metadata=md, timeout=60) for s in (1, 2)]
    streams = [collect(c) for c in calls]
    for s in streams:
        s.ok()
        assert s.started.request_id == "e2e-rpcs-shared-id"
    assert streams[0].audio != streams[1].audio
    # and the queue still works afterwards
    synthesize(cv_stub, request(seed=3), timeout=30).ok()
