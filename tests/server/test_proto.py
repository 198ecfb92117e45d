"""The checked-in API stubs: importable as qwen3tts.v1, the contract's names and shapes, and packaging."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from google.protobuf import descriptor

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SERVICE = tts_pb2.DESCRIPTOR.services_by_name["TextToSpeechService"]


def test_package_and_service() -> None:
    assert tts_pb2.DESCRIPTOR.package == "qwen3tts.v1"
    assert tts_pb2.DESCRIPTOR.name == "qwen3tts/v1/tts.proto"
    assert SERVICE.full_name == "qwen3tts.v1.TextToSpeechService"
    shapes = {m.name: (m.input_type.name, m.output_type.name, m.server_streaming, m.client_streaming)
              for m in SERVICE.methods}
    assert shapes == {
        "Synthesize": ("SynthesizeRequest", "SynthesizeResponse", True, False),
        "StreamingSynthesize": ("StreamingSynthesizeRequest", "SynthesizeResponse", True, True),
        "ListVoices": ("ListVoicesRequest", "ListVoicesResponse", False, False),
        "GetServiceInfo": ("GetServiceInfoRequest", "GetServiceInfoResponse", False, False),
        "RegisterVoice": ("RegisterVoiceRequest", "RegisterVoiceResponse", False, False),
        "DeleteVoice": ("DeleteVoiceRequest", "DeleteVoiceResponse", False, False),
    }
    assert hasattr(tts_pb2_grpc, "TextToSpeechServiceStub")
    assert hasattr(tts_pb2_grpc, "add_TextToSpeechServiceServicer_to_server")


def _fields(msg) -> dict[str, descriptor.FieldDescriptor]:
    return dict(msg.DESCRIPTOR.fields_by_name)


def test_synthesize_request_contract() -> None:
    f = _fields(tts_pb2.SynthesizeRequest)
    assert list(f) == ["text", "voice", "language", "instructions", "audio_format", "chunk_duration_ms", "seed",
                       "sampling", "max_audio_duration_ms", "priority", "text_normalization", "segment_events",
                       "dry_run", "speed"]
    assert f["speed"].number == 20 and not f["speed"].has_presence  # 0 = unset = 1.0
    assert f["seed"].has_presence and f["seed"].type == descriptor.FieldDescriptor.TYPE_INT64
    assert not f["chunk_duration_ms"].has_presence
    s = _fields(tts_pb2.SamplingParameters)
    assert list(s) == ["temperature", "top_k", "top_p", "repetition_penalty", "greedy"]
    assert all(fd.has_presence for fd in s.values())  # unset = checkpoint default
    assert list(_fields(tts_pb2.AudioFormat)) == ["encoding", "sample_rate_hertz"]
    assert [v.name for v in tts_pb2.AudioEncoding.DESCRIPTOR.values] == [
        "AUDIO_ENCODING_UNSPECIFIED", "AUDIO_ENCODING_PCM_S16LE", "AUDIO_ENCODING_PCM_F32LE",
        "AUDIO_ENCODING_MULAW", "AUDIO_ENCODING_ALAW", "AUDIO_ENCODING_OGG_OPUS", "AUDIO_ENCODING_MP3",
        "AUDIO_ENCODING_FLAC", "AUDIO_ENCODING_AAC", "AUDIO_ENCODING_WAV"]
    assert [v.number for v in tts_pb2.AudioEncoding.DESCRIPTOR.values] == list(range(10))
    req = tts_pb2.SynthesizeRequest(text="hi")
    assert not req.HasField("seed") and not req.sampling.HasField("temperature")
    req.seed = 0
    assert req.HasField("seed")  # seed 0 is distinguishable from unset


def test_synthesize_response_events() -> None:
    oneof = tts_pb2.SynthesizeResponse.DESCRIPTOR.oneofs_by_name["event"]
    assert [f.name for f in oneof.fields] == ["started", "audio", "finished", "segment"]
    assert list(_fields(tts_pb2.SegmentStarted)) == ["index", "text", "source_start", "source_end", "start_sample"]
    assert list(_fields(tts_pb2.AudioChunk)) == ["audio", "sequence_number", "start_sample", "duration"]
    assert _fields(tts_pb2.AudioChunk)["duration"].message_type.full_name == "google.protobuf.Duration"
    started = _fields(tts_pb2.SynthesisStarted)
    assert {"request_id", "audio_format", "voice", "model", "seed"} <= set(started)
    usage = _fields(tts_pb2.Usage)
    assert list(usage) == ["input_characters", "generated_frames", "audio_duration", "queue_time",
                           "time_to_first_audio", "processing_time"]
    r = tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(audio=b"\x00\x01", sequence_number=3))
    r.audio.duration.FromNanoseconds(20_000_000)
    back = tts_pb2.SynthesizeResponse.FromString(r.SerializeToString())
    assert back.WhichOneof("event") == "audio" and back.audio.duration.ToMilliseconds() == 20


def test_voice_messages() -> None:
    reg = _fields(tts_pb2.RegisterVoiceRequest)
    assert {"name", "reference_audio", "reference_audio_format", "reference_text", "x_vector_only"} <= set(reg)
    assert _fields(tts_pb2.RegisterVoiceResponse)["voice"].message_type.name == "Voice"
    assert list(_fields(tts_pb2.DeleteVoiceRequest)) == ["name"]
    info = _fields(tts_pb2.GetServiceInfoResponse)
    assert {"model", "server_version", "audio_formats", "min_chunk_duration_ms", "max_chunk_duration_ms",
            "default_chunk_duration_ms", "max_text_characters"} <= set(info)


def test_language_options_are_set() -> None:
    opts = tts_pb2.DESCRIPTOR.GetOptions()
    for name in ("go_package", "java_package", "java_outer_classname", "csharp_namespace", "objc_class_prefix",
                 "php_namespace", "ruby_package"):
        assert opts.HasField(name), name
    assert opts.java_multiple_files


def test_non_editable_wheel_ships_the_stubs(tmp_path: Path) -> None:
    # `pip install .` (not -e) must also provide qwen3tts.v1: build the wheel and import from it elsewhere
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=120)
    (wheel,) = tmp_path.glob("qwen3_tts_server-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("__init__.py", "py.typed", "v1/__init__.py", "v1/tts.proto", "v1/tts_pb2.py", "v1/tts_pb2.pyi",
              "v1/tts_pb2_grpc.py"):
        assert "qwen3tts/" + f in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import qwen3tts.v1.tts_pb2 as m, qwen3tts.v1.tts_pb2_grpc as g; "
            "print(m.__file__); print(g.TextToSpeechServiceStub.__name__)")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                         check=True, capture_output=True, text=True, cwd=tmp_path, timeout=60).stdout.split()
    assert out[0].startswith(str(site)) and out[1] == "TextToSpeechServiceStub"
