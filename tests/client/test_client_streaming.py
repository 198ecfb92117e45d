"""The sync and asyncio clients against a real server: the stream's chunks, `started`, `finished`, audio
collection, files, cancellation."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import soundfile as sf

from client import FLUSH, AsyncTTSClient, Cancelled, Encoding, FinishReason, InvalidArgument, TTSClient
from tests.client.conftest import TOKEN
from tests.e2e import SHORT_MS, TEXT, s16


@pytest.fixture
def tts(cv):
    with TTSClient(cv.address, token=TOKEN, timeout=60) as client:
        yield client


def test_started_chunks_and_finished_carry_the_resolved_request(cv, tts):
    text = "Grüße aus Köln, 世界!"  # 19 code points, more UTF-8 bytes
    synthesis = tts.synthesize(text, voice="Ryan", language="English", seed=7, chunk_ms=40,
                               max_audio_ms=SHORT_MS, request_id="client-test-started-1")
    started = synthesis.started  # before any chunk is read
    assert synthesis.chunks_received == 0 and synthesis.finished is None and not synthesis.complete
    assert started.request_id == "client-test-started-1" == synthesis.request_id
    assert (started.voice, started.language, started.seed, started.model) == ("ryan", "english", 7, cv.model)
    assert (started.audio_format.encoding, started.audio_format.sample_rate) == (Encoding.PCM_S16LE, 24000)
    assert (started.chunk_duration_ms, started.channels) == (40, 1)

    chunks = list(synthesis)
    # 800 ms at 24 kHz in 40 ms chunks: 20 chunks of 960 samples, numbered and placed without gaps.
    assert [c.sequence_number for c in chunks] == list(range(20))
    assert [c.start_sample for c in chunks] == [960 * k for k in range(20)]
    assert {(c.num_samples, len(c.audio), c.duration) for c in chunks} == {(960, 1920, 0.04)}
    assert all(c.samples().dtype == np.int16 and c.samples().size == 960 for c in chunks)

    finished = synthesis.finished
    assert synthesis.complete and synthesis.error is None and synthesis.audio_seconds == 0.8
    assert finished.finish_reason is FinishReason.MAX_DURATION
    usage = finished.usage
    assert (usage.input_characters, usage.generated_frames, usage.audio_duration) == (19, 10, 0.8)
    assert 0 <= usage.queue_time <= usage.time_to_first_audio <= usage.processing_time < 60
    assert usage.real_time_factor == pytest.approx(usage.processing_time / 0.8)


def test_same_seed_gives_the_same_bytes_sync_and_async(cv, tts):
    kwargs = dict(voice="serena", seed=1234, max_audio_ms=SHORT_MS)
    sync_audio = tts.synthesize(TEXT, **kwargs).audio()

    async def run() -> tuple[bytes, list, int]:
        async with AsyncTTSClient(cv.address, token=TOKEN, timeout=60) as client:
            synthesis = client.synthesize(TEXT, **kwargs)
            assert synthesis.started is None  # nothing read yet
            started = await synthesis.wait_started()
            chunks = [chunk async for chunk in synthesis]
            assert synthesis.complete and synthesis.finished.usage.generated_frames == 10
            return b"".join(c.audio for c in chunks), [c.sequence_number for c in chunks], started.seed

    async_audio, numbers, seed = asyncio.run(run())
    assert seed == 1234 and numbers == list(range(10))  # default chunk: 80 ms
    assert len(sync_audio) == 19200 * 2 and async_audio == sync_audio
    assert np.abs(s16(sync_audio)).max() > 0
    other = tts.synthesize(TEXT, **{**kwargs, "seed": 1235}).audio()
    assert other != sync_audio  # the seed matters, so the equality above means something


def test_float_output_is_the_model_output_that_s16_quantizes(tts):
    kwargs = dict(seed=5, max_audio_ms=SHORT_MS)
    f32 = np.frombuffer(tts.synthesize(TEXT, encoding="pcm_f32le", **kwargs).audio(), "<f4")
    pcm = s16(tts.synthesize(TEXT, **kwargs).audio())
    assert f32.size == pcm.size == 19200
    # The PCM_S16LE rule (docs/api.md): round_half_even(clip(x, -1, 1) * 32767), exact in float64.
    np.testing.assert_array_equal(pcm, np.rint(np.clip(f32.astype(np.float64), -1, 1) * 32767).astype(np.int16))


def test_uneven_chunks_at_22050_hz_are_counted_exactly(tts):
    synthesis = tts.synthesize(TEXT, seed=2, sample_rate=22050, chunk_ms=30, max_audio_ms=SHORT_MS)
    chunks = list(synthesis)
    sizes = [c.num_samples for c in chunks]
    # 30 ms at 22050 Hz is 661.5 samples: chunk k starts exactly at floor(k * 661.5).
    assert [c.start_sample for c in chunks] == [int(k * 661.5) for k in range(len(chunks))]
    assert set(sizes[:-1]) == {661, 662} and sum(sizes) == 17640  # 0.8 s at 22050 Hz
    assert synthesis.audio_seconds == pytest.approx(0.8)


def test_synthesize_to_file_writes_wav_flac_and_ogg(tts, tmp_path):
    kwargs = dict(seed=9, max_audio_ms=SHORT_MS)
    reference = s16(tts.synthesize(TEXT, **kwargs).audio())
    for name in ("out.wav", "out.flac"):
        synthesis = tts.synthesize_to_file(TEXT, tmp_path / name, **kwargs)
        data, rate = sf.read(tmp_path / name, dtype="int16")
        assert synthesis.complete and rate == 24000 and sf.info(tmp_path / name).subtype == "PCM_16"
        np.testing.assert_array_equal(data, reference)
    floats = tts.synthesize_to_file(TEXT, tmp_path / "float.wav", float32=True, **kwargs)
    assert floats.started.audio_format.encoding is Encoding.PCM_F32LE
    assert sf.info(tmp_path / "float.wav").subtype == "FLOAT"

    opus = tts.synthesize(TEXT, encoding="ogg_opus", chunk_ms=60, **kwargs)
    chunks = list(opus)
    (tmp_path / "out.ogg").write_bytes(b"".join(c.audio for c in chunks))
    info = sf.info(tmp_path / "out.ogg")
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "OPUS", 24000)
    decoded, _ = sf.read(tmp_path / "out.ogg")
    # Opus chunk sizes come from the durations (granule positions): they add up to what a decoder returns.
    assert sum(c.num_samples for c in chunks) == decoded.size == 19200
    assert chunks[0].audio.startswith(b"OggS") and [c.sequence_number for c in chunks] == list(range(len(chunks)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["float.wav", "out.flac", "out.ogg", "out.wav"]


def test_the_four_container_encodings_to_files(tts, tmp_path):
    """MP3 and AAC files (asked for by their extension) and the server's streamed WAV and FLAC (asked for by
    name) are the chunks as they came: each decodes (ffmpeg through PyAV, libsndfile) to the stream's audio."""
    import av

    kwargs = dict(seed=9, max_audio_ms=SHORT_MS)
    reference = s16(tts.synthesize(TEXT, **kwargs).audio())
    for name, encoding, lead, frame in (("out.mp3", Encoding.MP3, 1152, 576), ("out.aac", Encoding.AAC, 1024, 1024)):
        synthesis = tts.synthesize_to_file(TEXT, tmp_path / name, **kwargs)
        assert synthesis.started.audio_format.encoding is encoding
        with av.open(str(tmp_path / name)) as f:
            decoded = sum(fr.samples for fr in f.decode(audio=0))
        assert decoded == -(-(reference.size + lead) // frame) * frame  # priming + padding, whole frames
    for name, encoding in (("stream.wav", "wav"), ("stream.flac", "flac")):
        synthesis = tts.synthesize_to_file(TEXT, tmp_path / name, encoding=encoding, **kwargs)
        assert synthesis.started.audio_format.encoding is Encoding(encoding)
        with av.open(str(tmp_path / name)) as f:
            data = np.concatenate([fr.to_ndarray().reshape(-1) for fr in f.decode(audio=0)])
        np.testing.assert_array_equal(data, reference)  # lossless: the very samples


def test_a_failed_stream_leaves_no_file(tts, tmp_path):
    with pytest.raises(InvalidArgument):
        tts.synthesize_to_file("", tmp_path / "never.wav")
    with pytest.raises(ValueError, match="cannot tell the audio format"):
        tts.synthesize_to_file(TEXT, tmp_path / "never.m4a")
    assert list(tmp_path.iterdir()) == []


def test_cancel_stops_the_stream_and_says_the_audio_is_incomplete(tts):
    synthesis = tts.synthesize("A longer text, so that the stream would run for a while. " * 3, seed=3)
    first = next(iter(synthesis))
    synthesis.cancel()
    with pytest.raises(Cancelled) as caught:
        next(synthesis)
    assert first.sequence_number == 0 and caught.value.chunks_received == 1 and caught.value.partial_audio
    assert not synthesis.complete and synthesis.finished is None
    with pytest.raises(RuntimeError, match="before iterating"):
        synthesis.audio()


def test_async_cancel_and_context_manager(cv):
    async def run() -> None:
        async with AsyncTTSClient(cv.address, token=TOKEN, timeout=60) as client:
            async with client.synthesize(TEXT * 4, seed=3) as synthesis:
                chunk = await synthesis.__anext__()
                assert chunk.sequence_number == 0 and synthesis.started.seed == 3
            with pytest.raises(Cancelled) as caught:  # leaving the block cancelled the call
                await synthesis.__anext__()
            assert caught.value.chunks_received == 1
            assert (await client.synthesize(TEXT, seed=3, max_audio_ms=160).audio())  # the client still works

    asyncio.run(run())


def test_stream_input_speaks_pieces_as_they_come_sync_and_async(cv, tts):
    pieces = ["Hel", "lo there, ", "this text ", "arrives in ", "pieces.", FLUSH, " And more."]
    synthesis = tts.synthesize_stream_input(iter(pieces), voice="ryan", seed=9, max_audio_ms=SHORT_MS)
    audio = synthesis.audio()
    assert synthesis.complete and len(audio) == 2 * 24 * SHORT_MS
    assert synthesis.segments[0].text == "Hello there, this text arrives in pieces."
    assert synthesis.finished.finish_reason is FinishReason.MAX_DURATION

    async def pieces_async():
        for p in pieces:
            yield p

    async def run():
        async with AsyncTTSClient(cv.address, token=TOKEN, timeout=60) as client:
            s = client.synthesize_stream_input(pieces_async(), voice="ryan", seed=9, max_audio_ms=SHORT_MS)
            return await s.audio()

    assert asyncio.run(run()) == audio  # same seed, same text: the same bytes
