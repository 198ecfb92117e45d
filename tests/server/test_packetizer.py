"""Packetizer: exact chunk sizes, sequence numbers and start samples for every allowed duration and rate."""

from __future__ import annotations

import numpy as np
import pytest

from contract.formats import ALL_SAMPLE_RATES, MAX_CHUNK_MS, MIN_CHUNK_MS
from server.audio.packetizer import Packetizer, chunk_boundary

ALL_CHUNK_MS = range(MIN_CHUNK_MS, MAX_CHUNK_MS + 1)


def _run(rate: int, chunk_ms: int, pieces: list[int]) -> tuple[list, np.ndarray]:
    total = sum(pieces)
    signal = np.arange(total, dtype=np.float32)  # sample i has value i: positions are checkable
    p = Packetizer(rate, chunk_ms)
    chunks, pos = [], 0
    for n in pieces:
        chunks += p.push(signal[pos:pos + n])
        pos += n
    chunks += p.flush()
    return chunks, signal


@pytest.mark.parametrize("rate", ALL_SAMPLE_RATES)
def test_every_duration_and_rate(rate: int) -> None:
    total = rate  # one second of audio in 41 pieces of random lengths (resampled frames are not whole frames)
    rng = np.random.default_rng(rate)
    pieces = [int(n) for n in np.diff(np.r_[0, np.sort(rng.choice(np.arange(1, total), 40, replace=False)), total])]
    for chunk_ms in ALL_CHUNK_MS:
        chunks, signal = _run(rate, chunk_ms, pieces)
        exact = chunk_ms * rate / 1000
        assert [c.sequence_number for c in chunks] == list(range(len(chunks)))
        for k, c in enumerate(chunks):
            # start_sample of chunk k is exactly floor(k * d * r / 1000): no drift, whole samples
            assert c.start_sample == k * chunk_ms * rate // 1000
            assert np.array_equal(c.samples, signal[c.start_sample:c.start_sample + c.num_samples])
            if k < len(chunks) - 1:
                assert c.num_samples in (int(np.floor(exact)), int(np.ceil(exact)))
                assert c.start_sample + c.num_samples == chunks[k + 1].start_sample
        assert sum(c.num_samples for c in chunks) == total
        assert 0 < chunks[-1].num_samples <= int(np.ceil(exact))


def test_whole_sample_durations_are_exact() -> None:
    for rate in ALL_SAMPLE_RATES:
        for chunk_ms in ALL_CHUNK_MS:
            if chunk_ms * rate % 1000 == 0:
                chunks, _ = _run(rate, chunk_ms, [rate // 3, rate - rate // 3])
                assert {c.num_samples for c in chunks[:-1]} == {chunk_ms * rate // 1000}


def test_fractional_durations_alternate_without_drift() -> None:
    # 30 ms at 22050 Hz = 661.5 samples: 661, 662, 661, 662, ...; after 100 chunks exactly 66150 samples
    chunks, _ = _run(22_050, 30, [22_050 * 4])
    sizes = [c.num_samples for c in chunks]
    assert sizes[:4] == [661, 662, 661, 662]
    assert chunks[100].start_sample == 66_150 == chunk_boundary(100, 30, 22_050)
    # 25 ms at 44100 Hz = 1102.5 samples
    chunks, _ = _run(44_100, 25, [44_100])
    assert [c.num_samples for c in chunks[:4]] == [1102, 1103, 1102, 1103]


def test_chunk_is_emitted_by_the_push_that_completes_it() -> None:
    p = Packetizer(24_000, 20)  # 480 samples per chunk
    assert p.push(np.zeros(479, np.float32)) == []
    out = p.push(np.zeros(1, np.float32))  # the 480th sample: emitted now, no waiting for more input
    assert [(c.sequence_number, c.start_sample, c.num_samples) for c in out] == [(0, 0, 480)]
    out = p.push(np.zeros(1920, np.float32))  # one 80 ms model frame = four 20 ms chunks at once
    assert [(c.sequence_number, c.start_sample) for c in out] == [(1, 480), (2, 960), (3, 1440), (4, 1920)]
    assert p.push(np.zeros(0, np.float32)) == []
    assert p.flush() == []  # nothing left over: no empty last chunk
    with pytest.raises(RuntimeError):
        p.push(np.zeros(1, np.float32))


def test_model_frames_at_24k_80ms_map_one_to_one() -> None:
    p = Packetizer(24_000, 80)
    for k in range(5):
        (c,) = p.push(np.full(1920, k, np.float32))
        assert (c.sequence_number, c.start_sample, c.num_samples) == (k, 1920 * k, 1920)
        assert np.all(c.samples == k)


def test_short_stream_and_empty_stream() -> None:
    p = Packetizer(8_000, 100)
    assert p.push(np.ones(10, np.float32)) == []
    (last,) = p.flush()
    assert (last.sequence_number, last.start_sample, last.num_samples) == (0, 0, 10)
    assert Packetizer(8_000, 100).flush() == []


def test_chunks_do_not_alias_caller_buffers() -> None:
    p = Packetizer(24_000, 20)
    buf = np.ones(480, np.float32)
    (c,) = p.push(buf)
    buf[:] = 7
    assert np.all(c.samples == 1)


@pytest.mark.parametrize("bad", [19, 101, 0])
def test_rejects_out_of_range_durations(bad: int) -> None:
    with pytest.raises(ValueError):
        Packetizer(24_000, bad)


def test_rejects_non_mono() -> None:
    with pytest.raises(ValueError):
        Packetizer(24_000, 20).push(np.zeros((2, 10), np.float32))
