"""Fuzzing the gRPC door: every request message of every RPC, as messages and as damaged bytes, against the real
server (tests/reliability/conftest.py `hardened`). Every answer must be OK or a documented status that names
what was wrong (fuzz_judge.py); no worker may restart; the server must keep serving.

`make test` runs FUZZ_EXAMPLES=10 per test with a fixed seed (derandomized); `make fuzz` runs enough for
>= 10,000 requests over the gRPC and HTTP suites with a random seed (printed by hypothesis on failure).
"""

from __future__ import annotations

import os

import grpc
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qwen3tts.v1 import tts_pb2
from tests.reliability.conftest import FUZZ_EXAMPLES, md
from tests.reliability.fuzz_judge import judge_grpc
from tests.reliability.fuzz_messages import VOICE, message, plausible_synthesis, wire

SERVICE = "/qwen3tts.v1.TextToSpeechService/"
MESSAGES = tts_pb2.DESCRIPTOR.services_by_name["TextToSpeechService"].methods_by_name
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("FUZZ_RANDOM") is None,
                suppress_health_check=list(HealthCheck))
TIMEOUT = 60
EVENTS_READ = 3  # events read from a stream before the client cancels it (started, a segment or two chunks)


def _read_some(call) -> grpc.RpcError | None:
    """Read a streamed answer's first events, then cancel; the error if it failed (our cancel is not one)."""
    try:
        for n, _ in enumerate(call, 1):
            if n >= EVENTS_READ:
                call.cancel()
                return None
    except grpc.RpcError as e:
        return None if e.code() == grpc.StatusCode.CANCELLED else e
    return None


def _unary(hardened, method: str, request) -> grpc.RpcError | None:
    try:
        getattr(hardened.stub, method)(request, metadata=md(), timeout=TIMEOUT)
    except grpc.RpcError as e:
        return e
    return None


def _check(hardened, suite: str, problem: str | None, what) -> None:
    hardened.count(suite)
    assert problem is None, f"{problem}\n  request: {what!r:.600}"


@FUZZ
@given(req=st.one_of(message(tts_pb2.SynthesizeRequest.DESCRIPTOR), plausible_synthesis()))
def test_synthesize_messages(hardened, req):
    err = _read_some(hardened.stub.Synthesize(req, metadata=md(), timeout=TIMEOUT))
    _check(hardened, "grpc", judge_grpc(err), req)


@FUZZ
@given(req=message(tts_pb2.ListVoicesRequest.DESCRIPTOR))
def test_list_voices_messages(hardened, req):
    _check(hardened, "grpc", judge_grpc(_unary(hardened, "ListVoices", req)), req)


@FUZZ
@given(req=message(tts_pb2.RegisterVoiceRequest.DESCRIPTOR))
def test_register_voice_messages(hardened, req):
    # random bytes as reference audio (raw PCM formats too: those may even register; they are deleted again)
    err = _unary(hardened, "RegisterVoice", req)
    if err is None and req.name != VOICE:
        hardened.stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name=req.name.strip().lower()), metadata=md(),
                                  timeout=TIMEOUT)
    _check(hardened, "grpc", judge_grpc(err), req)


@FUZZ
@given(req=message(tts_pb2.DeleteVoiceRequest.DESCRIPTOR).filter(lambda r: r.name.strip().lower() != VOICE))
def test_delete_voice_messages(hardened, req):
    _check(hardened, "grpc", judge_grpc(_unary(hardened, "DeleteVoice", req)), req)


@FUZZ
@given(req=message(tts_pb2.GetServiceInfoRequest.DESCRIPTOR))
def test_service_info_messages(hardened, req):
    _check(hardened, "grpc", judge_grpc(_unary(hardened, "GetServiceInfo", req)), req)


STREAM_INPUT = st.lists(st.one_of(
    message(tts_pb2.StreamingSynthesizeRequest.DESCRIPTOR),
    plausible_synthesis().map(lambda c: tts_pb2.StreamingSynthesizeRequest(config=c)),
    st.sampled_from(["Hello there.", "More text ", "", "и ещё.", "x" * 9000]).map(
        lambda t: tts_pb2.StreamingSynthesizeRequest(text=t)),
    st.just(tts_pb2.StreamingSynthesizeRequest(flush=True))), min_size=0, max_size=6)


@FUZZ
@given(msgs=STREAM_INPUT)
def test_streaming_synthesize_messages(hardened, msgs):
    err = _read_some(hardened.stub.StreamingSynthesize(iter(msgs), metadata=md(), timeout=TIMEOUT))
    _check(hardened, "grpc", judge_grpc(err), msgs)


# ------------------------------------------------------------------ damaged bytes, through a raw channel
UNARY = ["ListVoices", "GetServiceInfo", "RegisterVoice", "DeleteVoice"]


@FUZZ
@given(data=st.data())
def test_damaged_bytes_every_method(hardened, data):
    method = data.draw(st.sampled_from(["Synthesize", "StreamingSynthesize", *UNARY]))
    descriptor = MESSAGES[method].input_type
    body = data.draw(wire(descriptor))
    if method == "DeleteVoice":  # never the voice the other tests speak with, however the damage came out
        try:  # (two messages concatenated, say, decode as the last one's name)
            assume(tts_pb2.DeleteVoiceRequest.FromString(body).name.strip().lower() != VOICE)
        except DecodeError:
            pass
    path = SERVICE + method
    if method == "Synthesize":
        err = _read_some(hardened.channel.unary_stream(path)(body, metadata=md(), timeout=TIMEOUT))
    elif method == "StreamingSynthesize":
        # damaged bytes as any message of the session: first, or after a good config
        first = data.draw(st.booleans())
        good = tts_pb2.StreamingSynthesizeRequest(config=tts_pb2.SynthesizeRequest(voice=VOICE))
        msgs = [body] if first else [good.SerializeToString(), body]
        err = _read_some(hardened.channel.stream_stream(path)(iter(msgs), metadata=md(), timeout=TIMEOUT))
    else:
        try:
            hardened.channel.unary_unary(path)(body, metadata=md(), timeout=TIMEOUT)
            err = None
        except grpc.RpcError as e:
            err = e
    _check(hardened, "grpc", judge_grpc(err), (method, body))


def test_undecodable_streaming_message_names_the_request(hardened):
    """Bytes that are no StreamingSynthesizeRequest: INVALID_ARGUMENT naming `request`, first or later."""
    from tests.e2e import details

    path = SERVICE + "StreamingSynthesize"
    good = tts_pb2.StreamingSynthesizeRequest(config=tts_pb2.SynthesizeRequest(voice=VOICE)).SerializeToString()
    for msgs in ([b"\xff\xff\xff"], [good, b"\x12\x05ab"]):  # garbage first; a truncated text after the config
        with pytest.raises(grpc.RpcError) as e:
            list(hardened.channel.stream_stream(path)(iter(msgs), metadata=md(), timeout=TIMEOUT))
        d = details(e.value)
        assert d.code == grpc.StatusCode.INVALID_ARGUMENT and "request" in d.violations, d
    hardened.count("grpc", 2)


def test_huge_messages_are_refused_by_size(hardened):
    """Over max_message_bytes (8 MiB): RESOURCE_EXHAUSTED from the transport, for unary and streamed requests."""
    huge = tts_pb2.RegisterVoiceRequest(name="huge", reference_audio=b"\0" * (9 * 1024 * 1024))
    err = _unary(hardened, "RegisterVoice", huge)
    assert err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
    big_text = tts_pb2.StreamingSynthesizeRequest(text="a" * (9 * 1024 * 1024))
    cfg = tts_pb2.StreamingSynthesizeRequest(config=tts_pb2.SynthesizeRequest(voice=VOICE))
    err = _read_some(hardened.stub.StreamingSynthesize(iter([cfg, big_text]), metadata=md(), timeout=TIMEOUT))
    assert err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
    hardened.count("grpc", 2)


def test_zz_server_unharmed(hardened):
    """Last in the module: after all of the above, the same workers, no restart, audio still comes."""
    hardened.assert_unharmed()
    print(f"gRPC fuzz: {hardened.sent.get('grpc', 0)} requests")
