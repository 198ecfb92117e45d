"""Streaming resampler: chunked output == one-shot soxr.resample, time alignment, bounded hold-back."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from contract.formats import ALL_SAMPLE_RATES, NATIVE_SAMPLE_RATE
from server.audio.resample import QUALITY, StreamResampler

OUT_RATES = [r for r in ALL_SAMPLE_RATES if r != NATIVE_SAMPLE_RATE]


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * NATIVE_SAMPLE_RATE)) / NATIVE_SAMPLE_RATE
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def _stream(x: np.ndarray, out_rate: int, pieces: list[int]) -> tuple[np.ndarray, StreamResampler]:
    rs = StreamResampler(out_rate)
    outs, pos = [], 0
    for n in pieces:
        outs.append(rs.process(x[pos:pos + n]))
        pos += n
    assert pos == x.size
    outs.append(rs.flush())
    return np.concatenate(outs), rs


@pytest.mark.parametrize("out_rate", OUT_RATES)
def test_chunked_stream_equals_one_shot_resample(out_rate: int) -> None:
    x = _speechlike(1.3, seed=out_rate)
    rng = np.random.default_rng(out_rate)
    for pieces in ([1920] * (x.size // 1920) + [x.size % 1920],  # 80 ms model frames + a partial one
                   [int(n) for n in np.diff(np.r_[0, np.sort(rng.choice(x.size, 30, replace=False)), x.size])]):
        pieces = [n for n in pieces if n]
        y, rs = _stream(x, out_rate, pieces)
        ref = soxr.resample(x, NATIVE_SAMPLE_RATE, out_rate, quality=QUALITY)
        assert y.dtype == np.float32 and y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-6)  # observed: bit-identical
        assert rs.samples_in == x.size and rs.samples_out == y.size
        assert abs(y.size - x.size * out_rate / NATIVE_SAMPLE_RATE) <= 1


@pytest.mark.parametrize("out_rate", OUT_RATES)
def test_output_is_time_aligned(out_rate: int) -> None:
    # a 300 Hz tone resampled must match the same tone sampled at the output rate (no filter delay)
    n = NATIVE_SAMPLE_RATE // 2
    x = (0.5 * np.sin(2 * np.pi * 300 * np.arange(n) / NATIVE_SAMPLE_RATE)).astype(np.float32)
    y, _ = _stream(x, out_rate, [1920] * (n // 1920) + [n % 1920])
    ideal = 0.5 * np.sin(2 * np.pi * 300 * np.arange(y.size) / out_rate)
    mid = slice(y.size // 10, y.size - y.size // 10)  # away from the edges (filter transients)
    assert np.max(np.abs(y[mid] - ideal[mid])) < 2e-3


@pytest.mark.parametrize("out_rate", OUT_RATES)
def test_hold_back_is_bounded(out_rate: int) -> None:
    # documented in resample.py: <= ~38 ms at >= 16 kHz, <= ~77 ms at 8/12 kHz (HQ, 80 ms frames)
    bound_ms = 80 if out_rate <= 12_000 else 40
    x = _speechlike(2.0)
    rs = StreamResampler(out_rate)
    produced = 0
    for k in range(0, x.size, 1920):
        produced += rs.process(x[k:k + 1920]).size
        expected = (k + 1920) * out_rate / NATIVE_SAMPLE_RATE
        assert (expected - produced) / out_rate * 1000 <= bound_ms
    assert produced + rs.flush().size == round(x.size * out_rate / NATIVE_SAMPLE_RATE)


def test_native_rate_is_bit_exact_passthrough() -> None:
    x = _speechlike(0.5)
    x[10] = np.float32(1.7)  # out of range and unusual values pass untouched
    x[11] = np.float32(-3.25e-9)
    rs = StreamResampler(NATIVE_SAMPLE_RATE)
    assert rs.passthrough
    y = np.concatenate([rs.process(x[:1000]), rs.process(x[1000:]), rs.flush()])
    assert y.tobytes() == x.tobytes()


def test_usage_errors() -> None:
    rs = StreamResampler(16_000)
    rs.flush()
    assert rs.flush().size == 0
    with pytest.raises(RuntimeError):
        rs.process(np.zeros(10, np.float32))
    with pytest.raises(ValueError):
        StreamResampler(0)
    with pytest.raises(ValueError):
        StreamResampler(16_000).process(np.zeros((10, 2), np.float32))
