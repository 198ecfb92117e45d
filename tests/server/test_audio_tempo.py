"""TimeStretch (server/audio/tempo.py): duration scales by 1 / speed, pitch stays, output streams, speed 1 is
bit-exact, and any split of the input works."""

from __future__ import annotations

import numpy as np
import pytest

from server.audio.tempo import MAX_SPEED, MIN_SPEED, TimeStretch, atempo_stages

RATE = 24_000
WINDOW = 1_024  # atempo's window at 24 kHz: sample_rate / 24 rounded up to a power of two (42.7 ms)
SPEEDS = [0.25, 0.3, 0.5, 0.8, 1.25, 1.5, 2.0, 3.0, 4.0]


def _tone(seconds: float, hz: float = 440.0, rate: int = RATE) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def _run(ts: TimeStretch, x: np.ndarray, pieces) -> tuple[np.ndarray, list[int]]:
    """Feed x in the given piece sizes (the rest at once); returns (output, output samples after each call)."""
    out, so_far, k = [], [], 0
    for p in [*pieces, x.size]:
        out.append(ts.process(x[k:k + p]))
        so_far.append(ts.samples_out)
        k += p
        if k >= x.size:
            break
    out.append(ts.flush())
    return np.concatenate(out), so_far


def _peak_hz(y: np.ndarray, rate: int = RATE) -> float:
    n = max(y.size, 4 * rate)  # zero-padded to 0.25 Hz bins
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size), n=n))
    return float(np.argmax(spectrum) * rate / n)


def _zero_crossing_hz(y: np.ndarray, rate: int = RATE) -> float:
    core = y[rate // 20:-rate // 20]  # away from the fade-in/out of the first and last windows
    crossings = np.count_nonzero(np.diff(np.signbit(core).astype(np.int8)))
    return crossings / 2 / (core.size / rate)


@pytest.mark.parametrize("speed", SPEEDS)
def test_duration_scales_and_pitch_stays(speed: float) -> None:
    x = _tone(2.0)
    y, _ = _run(TimeStretch(speed), x, [1920] * 25)
    # length within 2 atempo windows of input time of n / speed (measured at most 1.2 windows, at speed 4)
    assert abs(y.size * speed - x.size) <= 2 * WINDOW
    # pitch: a 440 Hz tone stays 440 Hz (plain resampling by `speed` would give 440 * speed)
    assert abs(_peak_hz(y) - 440) <= 1.0
    assert abs(_zero_crossing_hz(y) - 440) <= 440 * 0.01
    assert np.sqrt(np.mean(y[RATE // 10:-RATE // 10] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_speed_one_is_an_exact_passthrough() -> None:
    x = _tone(0.3)
    x[:4] = [np.nan, np.inf, 7.5, np.float32(1e-42)]
    ts = TimeStretch(1.0)
    assert ts.passthrough
    y = ts.process(x)
    assert y is x  # float32 contiguous input: the very same array, nothing copied or touched
    assert y.view(np.uint32).tolist() == x.view(np.uint32).tolist()
    z = ts.process(x.astype(np.float64))  # other dtypes: converted to float32 only
    assert z.dtype == np.float32 and np.array_equal(z.view(np.uint32)[4:], x.view(np.uint32)[4:])
    assert ts.flush().size == 0 and (ts.samples_in, ts.samples_out) == (2 * x.size, 2 * x.size)


@pytest.mark.parametrize("speed", [0.3, 1.25, 4.0])
def test_output_streams_while_input_arrives(speed: float) -> None:
    x = _tone(3.0)
    piece = 480  # 20 ms
    ts = TimeStretch(speed)
    y, so_far = _run(ts, x, [piece] * (x.size // piece))
    first = next(i for i, n in enumerate(so_far) if n)
    assert (first + 1) * piece <= 3000  # first output after <= 125 ms of input (measured: 60-120 ms)
    # after that the output never trails the input by more than ~3 windows of input time plus a piece
    # (measured: 1440 samples at speed 0.3, 2880 at speed 4)
    inputs = np.arange(1, len(so_far) + 1) * piece
    lag = inputs - np.array(so_far) * speed
    assert lag[5:].max() <= 3 * WINDOW + piece
    assert so_far[-1] > 0.9 * y.size  # almost everything came out before flush()


@pytest.mark.parametrize("speed", [0.8, 1.25, 2.0, 4.0])
def test_any_input_split_gives_the_same_samples(speed: float) -> None:
    rng = np.random.default_rng(7)
    x = (_tone(1.5) + 0.05 * rng.standard_normal(int(RATE * 1.5))).astype(np.float32)
    a, _ = _run(TimeStretch(speed), x, [1920] * 18)
    b, _ = _run(TimeStretch(speed), x, rng.integers(1, 3000, size=40).tolist())
    c, _ = _run(TimeStretch(speed), x, [1] * 300 + [7] * 200)  # 1-sample pieces (atempo alone fails on them)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_chained_stages_below_half_speed_accept_any_split() -> None:
    # two atempo stages: the second sees the first's output in different frames, so the samples may differ a
    # little with the split, but duration and pitch hold
    assert atempo_stages(0.25) == [0.5, 0.5] and atempo_stages(0.5) == [0.5] and atempo_stages(4.0) == [4.0]
    x = _tone(1.0)
    for pieces in ([1920] * 12, [1] * 200 + [13] * 500, [5000, 3, 9000]):
        y, _ = _run(TimeStretch(0.3), x, pieces)
        assert abs(y.size * 0.3 - x.size) <= 2 * WINDOW
        assert abs(_zero_crossing_hz(y) - 440) <= 440 * 0.01


def test_other_sample_rates() -> None:
    for rate in (8_000, 48_000):
        x = _tone(1.0, hz=300, rate=rate)
        y, _ = _run(TimeStretch(1.5, rate), x, [rate // 25] * 25)
        window = 1 << int(np.ceil(np.log2(rate / 24)))
        assert abs(y.size * 1.5 - x.size) <= 2 * window
        assert abs(_peak_hz(y, rate) - 300) <= 1.0


def test_silence_and_nan_stay_finite() -> None:
    x = np.zeros(RATE, np.float32)
    x[5000:5010] = np.nan
    y, _ = _run(TimeStretch(2.0), x, [1920] * 13)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) == 0.0


def test_usage_errors() -> None:
    for bad in (MIN_SPEED - 0.01, MAX_SPEED + 0.01, 0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            TimeStretch(bad)
    with pytest.raises(ValueError):
        TimeStretch(1.5, 0)
    ts = TimeStretch(1.5)
    with pytest.raises(ValueError):
        ts.process(np.zeros((2, 10), np.float32))
    assert ts.process(np.zeros(0, np.float32)).size == 0
    ts.flush()
    assert ts.flush().size == 0
    with pytest.raises(RuntimeError):
        ts.process(np.zeros(10, np.float32))
