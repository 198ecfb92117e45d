"""End to end, the audio: the streamed samples equal the offline CLI's bit for bit (seeded and greedy), chunk
boundaries/sequence numbers/start samples/durations follow the documented rule at several chunk durations and
rates, and every encoding decodes back to the F32 stream (exactly, or within the codec's quantisation)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import soxr

from qwen3tts.v1 import tts_pb2
from tests.e2e import ROOT, request, synthesize
from tests.server.conftest import CV_MAX_BATCH

S16, F32 = tts_pb2.AUDIO_ENCODING_PCM_S16LE, tts_pb2.AUDIO_ENCODING_PCM_F32LE
MULAW, ALAW, OPUS = tts_pb2.AUDIO_ENCODING_MULAW, tts_pb2.AUDIO_ENCODING_ALAW, tts_pb2.AUDIO_ENCODING_OGG_OPUS
SEED = 11
MS = 1000  # 12.5 frames: the server cuts the last frame in half (max_audio_duration_ms is exact)


def _s16(x: np.ndarray) -> np.ndarray:
    """The documented PCM_S16LE rule, written out independently of server/audio/pcm.py."""
    return np.rint(np.clip(np.nan_to_num(x.astype(np.float64)), -1, 1) * 32767).astype(np.int16)


def _resampled(x24: np.ndarray, rate: int) -> np.ndarray:
    return x24 if rate == 24000 else soxr.resample(x24, 24000, rate, quality="HQ")


@pytest.fixture(scope="module")
def reference(cv_stub) -> np.ndarray:
    """The model's own float32 samples for SEED (F32 at 24 kHz is them bit for bit)."""
    s = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS, format=(F32, 24000))).ok()
    x = s.f32()
    assert x.size == 24 * MS and np.isfinite(x).all() and np.abs(x).max() > 1e-3
    return x


# ------------------------------------------------------------------ bit-exact against the offline CLI
OFFLINE_TEXT, OFFLINE_FRAMES = "The offline run and the stream must agree.", 20
OFFLINE_MODES = {"seed": (["--seed", "1234"], {"seed": 1234}), "greedy": (["--greedy"], {"greedy": True})}


@pytest.fixture(scope="module")
def offline(cv_server, tmp_path_factory):
    """Both offline runs, started at once (most of their time is importing torch), awaited by the tests.

    The server's worker runs QWEN3_TTS_THREADS torch threads (tests/conftest.py sets it) and a decode batch of
    --max-batch slots; the offline run uses the same batch shape and thread count (either one different changes
    the low bits: measured up to 2e-6 apart with --max-batch 1 or --threads 1)."""
    threads = int(os.environ["QWEN3_TTS_THREADS"])
    out = tmp_path_factory.mktemp("offline")
    procs = {}
    for mode, (args, _) in OFFLINE_MODES.items():
        cmd = [sys.executable, "-m", "workers", "synth", "--model", cv_server.model, "--speaker", "serena",
               "--language", "auto", "--text", OFFLINE_TEXT, "--max-frames", str(OFFLINE_FRAMES),
               "--max-batch", str(CV_MAX_BATCH), "--threads", str(threads), "--out", str(out / f"{mode}.wav"), *args]
        procs[mode] = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def result(mode: str) -> np.ndarray:
        log, _ = procs[mode].communicate(timeout=180)
        assert procs[mode].returncode == 0, log
        pcm, rate = sf.read(out / f"{mode}.wav", dtype="float32")
        assert rate == 24000
        return pcm

    yield result
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("mode", list(OFFLINE_MODES))
def test_stream_equals_offline_synth_bit_for_bit(cv_stub, offline, mode):
    streamed = synthesize(cv_stub, request(OFFLINE_TEXT, voice="serena", max_audio_duration_ms=OFFLINE_FRAMES * 80,
                                           format=(F32, 24000), chunk_duration_ms=20,
                                           **OFFLINE_MODES[mode][1])).ok()
    assert streamed.finished.usage.generated_frames == OFFLINE_FRAMES
    reference = offline(mode)
    assert reference.shape == (OFFLINE_FRAMES * 1920,) and streamed.f32().shape == reference.shape
    # bit for bit: compare the float32 bit patterns, not values
    assert np.array_equal(streamed.f32().view(np.uint32), reference.view(np.uint32))


# ------------------------------------------------------------------ chunking
@pytest.mark.parametrize("chunk_ms, rate", [(20, 24000), (30, 24000), (80, 8000), (100, 24000), (30, 22050),
                                            (100, 44100), (60, 16000), (20, 48000)])
def test_chunk_boundaries_sequence_numbers_and_start_samples(cv_stub, reference, chunk_ms, rate):
    s = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS, format=(S16, rate),
                                    chunk_duration_ms=chunk_ms)).ok()
    assert s.started.chunk_duration_ms == chunk_ms and s.started.audio_format.sample_rate_hertz == rate
    expected = _s16(_resampled(reference, rate))
    total = expected.size
    # chunk k covers [floor(k d r / 1000), floor((k+1) d r / 1000)), the last one is cut at the end
    bounds = [min(k * chunk_ms * rate // 1000, total) for k in range(len(s.chunks) + 1)]
    assert bounds[-1] == total and bounds[-2] < total  # no empty chunk, nothing missing
    assert [c.sequence_number for c in s.chunks] == list(range(len(s.chunks)))
    assert [c.start_sample for c in s.chunks] == bounds[:-1]
    sizes = [len(c.audio) // 2 for c in s.chunks]
    assert sizes == [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    if chunk_ms * rate % 1000 == 0:  # whole samples: every chunk exactly chunk_ms except the last
        assert set(sizes[:-1]) == {chunk_ms * rate // 1000} and 0 < sizes[-1] <= chunk_ms * rate // 1000
    for c, n in zip(s.chunks, sizes, strict=True):
        assert c.duration.ToNanoseconds() == round(n * 1e9 / rate)
    assert np.array_equal(s.s16(), expected)  # resampling in the stream == one-shot soxr, bit for bit
    assert s.finished.usage.audio_duration.ToNanoseconds() == MS * 1_000_000


# ------------------------------------------------------------------ encodings
def test_pcm_s16_and_f32_are_exact_images_of_the_float_stream(cv_stub, reference):
    s16 = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS)).ok()  # unset format: S16 @ 24 kHz
    assert s16.started.audio_format.encoding == S16 and s16.started.audio_format.sample_rate_hertz == 24000
    assert np.array_equal(s16.s16(), _s16(reference))
    f32 = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS, format=(F32, 16000))).ok()
    assert np.array_equal(f32.f32().view(np.uint32), _resampled(reference, 16000).view(np.uint32))


@pytest.mark.parametrize("encoding, subtype", [(MULAW, "ULAW"), (ALAW, "ALAW")])
@pytest.mark.parametrize("rate", [0, 16000])  # 0: the G.711 default, 8000 Hz
def test_g711_decodes_to_the_resampled_signal_within_quantisation(cv_stub, reference, encoding, subtype, rate):
    s = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS, format=(encoding, rate),
                                    chunk_duration_ms=20)).ok()
    out_rate = rate or 8000
    assert s.started.audio_format.sample_rate_hertz == out_rate
    want = _s16(_resampled(reference, out_rate)).astype(np.int64)
    assert len(s.audio) == want.size  # one byte per sample
    assert [c.start_sample for c in s.chunks] == [k * 20 * out_rate // 1000 for k in range(len(s.chunks))]
    got, sr = sf.read(io.BytesIO(s.audio), format="RAW", subtype=subtype, samplerate=out_rate, channels=1,
                      dtype="int16")
    err = np.abs(got.astype(np.int64) - want)
    # G.711 keeps 14 (mu) / 13 (A) bits with a segment step <= |x|/16: error <= |x|/32 + 8 in 16-bit units
    assert np.all(err <= np.abs(want) / 32 + 8), err.max()
    assert np.mean(err) < np.mean(np.abs(want)) / 40  # ~1/86 measured: the signal, not silence or noise


@pytest.mark.parametrize("rate, chunk_ms", [(24000, 80), (48000, 40), (8000, 100)])
def test_ogg_opus_chunks_concatenate_to_a_valid_file_of_the_right_length(cv_stub, reference, rate, chunk_ms):
    s = synthesize(cv_stub, request(seed=SEED, max_audio_duration_ms=MS, format=(OPUS, rate),
                                    chunk_duration_ms=chunk_ms)).ok()
    assert all(c.audio.startswith(b"OggS") for c in s.chunks)  # whole Ogg pages
    assert b"OpusHead" in s.chunks[0].audio[:64] and b"OpusTags" in s.chunks[0].audio
    expected = _resampled(reference, rate).size
    sizes = [round(c.duration.ToNanoseconds() * rate / 1e9) for c in s.chunks]
    assert [c.start_sample for c in s.chunks] == list(np.cumsum([0] + sizes[:-1]))
    assert sum(sizes) == expected
    # pages of max(3, ceil(d / 20)) 20 ms packets; the first one packet less and the 6.5 ms pre-skip
    packets = max(3, -(-chunk_ms // 20))
    assert sizes[0] == round((packets * 20 - 26.5) * rate / 1000)
    assert set(sizes[1:-1]) == {packets * 20 * rate // 1000}
    decoded, sr = sf.read(io.BytesIO(s.audio), dtype="float32")
    assert sr == rate and decoded.shape == (expected,)
    ref = _resampled(reference, rate)
    corr = float(np.dot(decoded, ref) / np.sqrt(np.dot(decoded, decoded) * np.dot(ref, ref)))
    assert corr > 0.5, corr  # the same audio (a lossy codec; not silence, not misaligned)


# ------------------------------------------------------------------ segments
SEGMENTED = "One two three four five, and then the rest of it, which costs $5.30."


def test_segment_events_name_the_spoken_text_its_source_and_where_its_audio_starts(cv_stub):
    dry = synthesize(cv_stub, request(SEGMENTED, dry_run=True)).ok()
    assert [(g.source_start, g.source_end) for g in dry.segments] == [(0, 24), (25, len(SEGMENTED))]
    assert dry.segments[0].text == "One two three four five,"  # the quick first segment: a clause
    assert "five dollars" in dry.segments[1].text and "$" not in dry.segments[1].text  # normalized
    s = synthesize(cv_stub, request(SEGMENTED, seed=SEED, segment_events=True, max_audio_duration_ms=30_000,
                                    format=(S16, 16000)), timeout=120).ok()
    assert [g.text for g in s.segments] == [g.text for g in dry.segments]
    assert s.events[:2] == ["started", "segment"] and s.segments[0].start_sample == 0
    second = s.events.index("segment", 2)  # announced before the audio that carries its first samples
    before = sum(c.duration.ToNanoseconds() for c in s.chunks[:second - 2]) * 16000 // 1_000_000_000
    start = s.segments[1].start_sample
    assert 0 < start < len(s.s16()) and start % (1920 * 16000 // 24000) == 0  # whole frames of segment 0
    assert before <= start  # no chunk before it already carries the second segment's samples
