"""Every failure as its typed error, decoded from the real server's status and google.rpc details; and an error
after audio was streamed (a killed worker), which must say that the audio is partial."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from client import (
    AsyncTTSClient,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    TTSClient,
    Unauthenticated,
    Unavailable,
)
from tests.client.conftest import TOKEN
from tests.e2e import TEXT


@pytest.fixture
def tts(cv):
    with TTSClient(cv.address, token=TOKEN, timeout=60) as client:
        yield client


def test_invalid_request_lists_every_field_violation(tts):
    synthesis = tts.synthesize("", chunk_ms=5, seed=-1, top_p=2.0, request_id="client-test-invalid")
    with pytest.raises(InvalidArgument) as caught:
        synthesis.wait_started()
    e = caught.value
    assert [v.field for v in e.field_violations] == ["text", "chunk_duration_ms", "seed", "sampling.top_p"]
    described = dict(e.field_violations)
    assert described["text"] == "must not be empty" and described["seed"] == "must be non-negative"
    assert described["sampling.top_p"] == "must be in (0, 1]" and "20..100" in described["chunk_duration_ms"]
    assert e.code.name == "INVALID_ARGUMENT" and e.request_id == "client-test-invalid"
    assert e.chunks_received == 0 and not e.partial_audio and not e.retryable
    assert synthesis.error is e and not synthesis.complete and list(synthesis) == []


def test_invalid_language_of_list_voices_names_the_field(tts):
    with pytest.raises(InvalidArgument) as caught:
        tts.list_voices("klingon")
    assert [v.field for v in caught.value.field_violations] == ["language"]


def test_missing_and_wrong_tokens_are_unauthenticated(cv):
    with TTSClient(cv.address, timeout=10) as anonymous:
        with pytest.raises(Unauthenticated) as caught:
            anonymous.service_info()
        assert caught.value.reason == "MISSING_TOKEN" and caught.value.domain == "qwen3tts"
        with pytest.raises(Unauthenticated):  # a stream fails on its first read
            anonymous.synthesize(TEXT).audio()
    with TTSClient(cv.address, token="not-the-token", timeout=10) as wrong:
        with pytest.raises(Unauthenticated) as caught:
            wrong.list_voices()
        assert caught.value.reason == "INVALID_TOKEN"


def test_voice_cloning_on_a_custom_voice_server_is_a_failed_precondition(tts, reference_wav):
    with pytest.raises(FailedPrecondition) as caught:
        tts.register_voice("alice", reference_wav, reference_text="Hello.")
    assert caught.value.reason == "CLONING_UNSUPPORTED"
    with pytest.raises(FailedPrecondition):
        tts.delete_voice("alice")


def test_a_tiny_timeout_is_deadline_exceeded(tts):
    with pytest.raises(DeadlineExceeded) as caught:
        tts.synthesize(TEXT, timeout=0.001).audio()
    assert caught.value.chunks_received == 0 and caught.value.request_id


def test_async_client_raises_the_same_typed_errors(cv):
    async def run() -> None:
        async with AsyncTTSClient(cv.address, token=TOKEN, timeout=10) as client:
            with pytest.raises(InvalidArgument) as caught:
                await client.synthesize("   ", voice="nobody").wait_started()
            assert [v.field for v in caught.value.field_violations] == ["text", "voice"]
            with pytest.raises(DeadlineExceeded):
                await client.synthesize(TEXT, timeout=0.001).audio()
            with pytest.raises(FailedPrecondition):
                await client.delete_voice("alice")
        async with AsyncTTSClient(cv.address, timeout=10) as anonymous:
            with pytest.raises(Unauthenticated):
                await anonymous.list_voices()

    asyncio.run(run())


def test_unreachable_server_is_unavailable_without_server_details(cv):
    from tests.e2e import free_port

    with TTSClient(f"127.0.0.1:{free_port()}", timeout=10) as nowhere, pytest.raises(Unavailable) as caught:
        nowhere.service_info()
    assert caught.value.retryable and caught.value.reason is None and caught.value.retry_after is None


def test_a_worker_dying_mid_stream_is_unavailable_with_partial_audio(cv, tts):
    """Last here on purpose: the worker restarts (the `cv` fixture waits for it before later tests)."""
    synthesis = tts.synthesize("This text is long enough to keep the stream going for a while. " * 4, seed=1)
    received = []
    with pytest.raises(Unavailable) as caught:
        for chunk in synthesis:
            received.append(chunk)
            if len(received) == 3:
                (worker,) = cv.worker_pids()
                os.kill(worker, signal.SIGKILL)
    e = caught.value
    assert (e.reason, e.retry_after, e.retryable) == ("WORKER_RESTART", 2.0, True)
    assert e.partial_audio and e.chunks_received == len(received) == synthesis.chunks_received >= 3
    assert not synthesis.complete and synthesis.finished is None and synthesis.error is e
    assert "incomplete" in str(e)
