"""Without a server: the stream contract checks (a breach is a ProtocolError, never silently good audio) and
the decoding of google.rpc details into typed errors, from statuses built by the server's own encoder."""

from __future__ import annotations

import grpc
import pytest

from client import Internal, InvalidArgument, ProtocolError, ResourceExhausted, TTSError, Unavailable
from client.errors import from_rpc_error
from client.synthesis import Synthesis
from contract.rules import Violation
from qwen3tts.v1 import tts_pb2
from server import errors as server_errors
from server.doors.grpc_errors import to_status

PCM = tts_pb2.AudioFormat(encoding=tts_pb2.AUDIO_ENCODING_PCM_S16LE, sample_rate_hertz=24000)


def started(fmt: tts_pb2.AudioFormat = PCM) -> tts_pb2.SynthesizeResponse:
    return tts_pb2.SynthesizeResponse(started=tts_pb2.SynthesisStarted(request_id="r-1", audio_format=fmt, seed=3))


def audio(seq: int, start: int, samples: int = 4) -> tts_pb2.SynthesizeResponse:
    return tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(audio=b"\x01\x00" * samples, sequence_number=seq,
                                                               start_sample=start))


def finished(reason: int = tts_pb2.FINISH_REASON_END_OF_SPEECH) -> tts_pb2.SynthesizeResponse:
    return tts_pb2.SynthesizeResponse(finished=tts_pb2.SynthesisFinished(finish_reason=reason))


class Cancel:
    calls = 0

    def __call__(self) -> None:
        self.calls += 1


def read(events: list) -> tuple[Synthesis, list, TTSError | None, Cancel]:
    cancel = Cancel()
    synthesis = Synthesis(iter(events), "r-0", cancel)
    chunks, error = [], None
    try:
        for chunk in synthesis:
            chunks.append(chunk)
    except TTSError as e:
        error = e
    return synthesis, chunks, error, cancel


def test_a_well_formed_stream_completes():
    synthesis, chunks, error, cancel = read([started(), audio(0, 0), audio(1, 4), finished()])
    assert error is None and synthesis.complete and cancel.calls == 0
    assert [(c.sequence_number, c.start_sample, c.num_samples) for c in chunks] == [(0, 0, 4), (1, 4, 4)]
    assert synthesis.request_id == "r-1" and synthesis.finished.finish_reason == "end_of_speech"


@pytest.mark.parametrize("events, breach", [
    ([audio(0, 0), finished()], "`audio` before `started`"),
    ([started(), audio(0, 0), audio(2, 4), finished()], "audio chunk 2 where 1 was due"),
    ([started(), audio(0, 0), audio(1, 5), finished()], "starts at sample 5, not 4"),
    ([started(), audio(0, 0)], "without a `finished` event"),
    ([started(), finished(), audio(0, 0)], "`audio` after `finished`"),
    ([started(), started(), finished()], "a second `started`"),
    ([started(tts_pb2.AudioFormat(encoding=42, sample_rate_hertz=24000)), finished()], "unknown audio encoding"),
    ([started(), finished(reason=17)], "unknown FinishReason value"),
])
def test_contract_breaches_are_protocol_errors(events, breach):
    synthesis, chunks, error, cancel = read(events)
    assert isinstance(error, ProtocolError) and breach in str(error) and error.code is None
    assert error.chunks_received == len(chunks) and not synthesis.complete and synthesis.finished is None
    assert cancel.calls == (0 if breach == "without a `finished` event" else 1)  # a broken stream is stopped


class FakeRpcError(grpc.RpcError):
    """What a failed call raises: a code, its details and trailing metadata (here from the server's encoder)."""

    def __init__(self, code: grpc.StatusCode, details: str, metadata=None) -> None:
        self._code, self._details, self._metadata = code, details, metadata

    @classmethod
    def of(cls, err: server_errors.ServiceError) -> FakeRpcError:
        status = to_status(err)
        return cls(status.code, status.details, status.trailing_metadata)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self):
        return self._metadata


def test_unavailable_decodes_retry_info_and_error_info():
    e = from_rpc_error(FakeRpcError.of(server_errors.unavailable("the queue is full", "QUEUE_FULL", 1.5)), "r-9")
    assert isinstance(e, Unavailable) and e.retryable
    assert (e.reason, e.retry_after, e.domain, e.request_id) == ("QUEUE_FULL", 1.5, "qwen3tts", "r-9")
    assert str(e) == "UNAVAILABLE: the queue is full (reason QUEUE_FULL, retry after 1.5 s) [request id r-9]"


def test_invalid_argument_decodes_bad_request():
    e = from_rpc_error(FakeRpcError.of(server_errors.invalid([Violation("text", "must not be empty"), Violation("voice", "unknown")])))
    assert isinstance(e, InvalidArgument) and e.field_violations == [("text", "must not be empty"),
                                                                     ("voice", "unknown")]
    assert e.field_violations[0].field == "text" and e.field_violations[1].description == "unknown"


def test_codes_without_details_still_get_their_class():
    internal = from_rpc_error(FakeRpcError.of(server_errors.internal()))
    assert isinstance(internal, Internal) and internal.reason == "INTERNAL"
    e = from_rpc_error(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "message too large"))
    assert isinstance(e, ResourceExhausted) and e.details == () and e.reason is None
    other = from_rpc_error(FakeRpcError(grpc.StatusCode.PERMISSION_DENIED, "no"))
    assert type(other) is TTSError and other.code is grpc.StatusCode.PERMISSION_DENIED
