"""Voice registration on a Base checkpoint server (over TLS when openssl is available): register from bytes and
from a path, list, speak with the voice, and the typed errors of names taken, bad or unknown."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from client import AlreadyExists, AsyncTTSClient, InvalidArgument, NotFound, TTSClient, VoiceType
from tests.e2e import SHORT_MS, TEXT


@pytest.fixture
def tts(base, base_tls):
    with TTSClient(base.address, timeout=60, **base_tls) as client:
        yield client


def test_service_info_of_a_base_server(base, tts, tls_cert):
    info = tts.service_info()
    assert (info.model, info.model_type, info.supports_voice_cloning) == (base.model, "base", True)
    assert tts.connection.tls is (tls_cert is not None)


def test_register_list_speak_and_delete(tts, reference_wav):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    alice = tts.register_voice("Alice", reference_wav.read_bytes(), reference_text="Hello from the reference.",
                               description="in-context clone")
    assert (alice.name, alice.type, alice.x_vector_only, alice.description) == (
        "alice", VoiceType.REGISTERED, False, "in-context clone")
    assert alice.natural_sample_rate == 24000 and before <= alice.create_time <= dt.datetime.now(dt.UTC)
    bob = tts.register_voice("bob", reference_wav, x_vector_only=True)  # a path this time, no transcript
    assert bob.x_vector_only and bob.description == ""
    assert [(v.name, v.type) for v in tts.list_voices()] == [("alice", "registered"), ("bob", "registered")]

    synthesis = tts.synthesize(TEXT, voice="ALICE", seed=4, max_audio_ms=SHORT_MS)
    assert synthesis.started.voice == "alice" and len(synthesis.audio()) == 19200 * 2
    assert synthesis.finished.usage.generated_frames == 10

    with pytest.raises(AlreadyExists) as caught:
        tts.register_voice("alice", reference_wav, x_vector_only=True)
    assert caught.value.reason == "VOICE_EXISTS"
    with pytest.raises(InvalidArgument) as caught:
        tts.register_voice("no spaces!", reference_wav, x_vector_only=True)
    assert [v.field for v in caught.value.field_violations] == ["name"]

    tts.delete_voice("bob")
    assert [v.name for v in tts.list_voices()] == ["alice"]
    with pytest.raises(NotFound) as caught:
        tts.delete_voice("bob")
    assert caught.value.reason == "VOICE_NOT_FOUND" and caught.value.request_id
    tts.delete_voice("alice")


def test_async_client_registers_over_the_same_transport(base, base_tls, reference_wav):
    async def run() -> None:
        async with AsyncTTSClient(base.address, timeout=60, **base_tls) as client:
            voice = await client.register_voice("carol", reference_wav, x_vector_only=True, description="async")
            assert voice.name == "carol" and "carol" in [v.name for v in await client.list_voices()]
            chunks = [c async for c in client.synthesize(TEXT, voice="carol", seed=1, max_audio_ms=160)]
            assert [c.sequence_number for c in chunks] == [0, 1]
            await client.delete_voice("carol")
            with pytest.raises(NotFound):
                await client.delete_voice("carol")

    asyncio.run(run())
