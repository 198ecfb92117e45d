"""AudioStream: model frames in, AudioChunk payloads out, for every encoding and a spread of rates."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import soxr

from contract.formats import SPECS, AudioFormat, Encoding
from server.audio.opus import page_duration_ms
from server.audio.pcm import float_to_s16
from server.audio.stream import AudioStream, EncodedChunk

FRAME = 1920  # one 80 ms codec frame at 24 kHz


def _frames(n_frames: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames * FRAME) / 24_000
    x = (0.4 * np.sin(2 * np.pi * 200 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
         + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    return [x[k:k + FRAME] for k in range(0, x.size, FRAME)]


def _run(fmt: AudioFormat, chunk_ms: int, frames: list[np.ndarray]) -> tuple[list[EncodedChunk], list[int]]:
    stream = AudioStream(fmt, chunk_ms)
    chunks, per_push = [], []
    for f in frames:
        out = stream.push(f)
        per_push.append(len(out))
        chunks += out
    chunks += stream.finish()
    assert stream.finish() == []
    assert stream.samples_out == sum(c.num_samples for c in chunks)
    assert stream.chunks_out == len(chunks)
    return chunks, per_push


def _check_bookkeeping(chunks: list[EncodedChunk], rate: int) -> None:
    assert [c.sequence_number for c in chunks] == list(range(len(chunks)))
    pos = 0
    for c in chunks:
        assert c.start_sample == pos and c.sample_rate == rate
        pos += c.num_samples


# raw encodings and Ogg Opus (MP3, AAC, FLAC, WAV through AudioStream: tests/server/test_audio_compressed.py)
_HERE = (Encoding.PCM_S16LE, Encoding.PCM_F32LE, Encoding.MULAW, Encoding.ALAW, Encoding.OGG_OPUS)
CASES = [(e, r) for e in _HERE for r in SPECS[e].sample_rates]


@pytest.mark.parametrize("encoding, rate", CASES, ids=[f"{e.name}-{r}" for e, r in CASES])
@pytest.mark.parametrize("chunk_ms", [20, 30, 80, 100])
def test_stream_every_format(encoding: Encoding, rate: int, chunk_ms: int) -> None:
    frames = _frames(10, seed=rate + chunk_ms)
    x = np.concatenate(frames)
    chunks, _ = _run(AudioFormat(encoding, rate), chunk_ms, frames)
    _check_bookkeeping(chunks, rate)
    total = sum(c.num_samples for c in chunks)
    ref = x if rate == 24_000 else soxr.resample(x, 24_000, rate, quality="HQ")
    assert total == ref.size
    data = b"".join(c.audio for c in chunks)
    if encoding is Encoding.OGG_OPUS:
        y, sr = sf.read(io.BytesIO(data), dtype="float32")
        assert sr == rate and y.size == total
        page = page_duration_ms(chunk_ms) * rate // 1000
        assert all(c.num_samples == page for c in chunks[1:-1])
        return
    nominal = chunk_ms * rate / 1000
    assert all(c.num_samples in (int(np.floor(nominal)), int(np.ceil(nominal))) for c in chunks[:-1])
    bps = SPECS[encoding].bytes_per_sample
    assert all(len(c.audio) == bps * c.num_samples for c in chunks)
    if encoding is Encoding.PCM_F32LE:
        np.testing.assert_array_equal(np.frombuffer(data, "<f4"), ref)
    elif encoding is Encoding.PCM_S16LE:
        np.testing.assert_array_equal(np.frombuffer(data, "<i2"), float_to_s16(ref))
    else:
        subtype = "ULAW" if encoding is Encoding.MULAW else "ALAW"
        y, _ = sf.read(io.BytesIO(data), format="RAW", subtype=subtype, samplerate=rate, channels=1, dtype="int16")
        s = float_to_s16(ref).astype(np.int64)
        assert np.all(np.abs(y - s) <= np.abs(s) / 32 + 8)


def test_f32_at_24k_is_the_model_output_bit_for_bit() -> None:
    frames = _frames(7)
    frames[2][5] = np.float32(1.5)  # out of range: not clipped in F32
    chunks, per_push = _run(AudioFormat(Encoding.PCM_F32LE, 24_000), 80, frames)
    assert per_push == [1] * 7  # an 80 ms chunk per 80 ms frame, sent with that frame
    assert b"".join(c.audio for c in chunks) == np.concatenate(frames).astype("<f4").tobytes()
    assert all(c.duration_ns == 80_000_000 for c in chunks)


def test_chunks_are_sent_as_soon_as_their_samples_exist() -> None:
    # 20 ms chunks at 24 kHz: every 80 ms frame yields 4 chunks at once; nothing is held for the next frame
    chunks, per_push = _run(AudioFormat(Encoding.PCM_S16LE, 24_000), 20, _frames(5))
    assert per_push == [4] * 5 and len(chunks) == 20


def test_duration_ns_rounds_to_nearest() -> None:
    c = EncodedChunk(b"", 0, 0, 661, 22_050)  # 661 / 22050 s = 29.977324... ms
    assert c.duration_ns == 29_977_324
    assert EncodedChunk(b"", 0, 0, 160, 8_000).duration_ns == 20_000_000


def test_usage_errors() -> None:
    with pytest.raises(ValueError):
        AudioStream(AudioFormat(Encoding.UNSPECIFIED, 24_000), 80)
    s = AudioStream(AudioFormat(Encoding.PCM_S16LE, 24_000), 80)
    s.finish()
    with pytest.raises(RuntimeError):
        s.push(np.zeros(10, np.float32))
