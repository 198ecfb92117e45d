"""Cut a stream of PCM pieces of arbitrary lengths into chunks of a fixed duration.

Rule (at the output sample rate r, chunk duration d ms): chunk k covers samples

    [floor(k * d * r / 1000), floor((k + 1) * d * r / 1000))

so every chunk has exactly d ms when d * r / 1000 is a whole number of samples (every rate here except 22050
and 44100 Hz with odd d, e.g. 30 ms at 22050 Hz = 661.5 samples); otherwise chunk lengths are the floor or
the ceiling of it (661 or 662), their boundaries never drift, and `start_sample` of chunk k is exactly
floor(k * d * r / 1000). Only the last chunk (from `flush`) may be shorter.

A chunk is returned by the `push` call that completes it: nothing waits for the next piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.formats import MAX_CHUNK_MS, MIN_CHUNK_MS
from server.audio.pcm import mono_float32


@dataclass(frozen=True)
class Chunk:
    samples: np.ndarray  # float32, mono, at the output rate
    sequence_number: int  # 0, 1, 2, ...
    start_sample: int  # offset of samples[0] in the output stream

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])


def chunk_boundary(k: int, chunk_ms: int, sample_rate: int) -> int:
    """Sample offset where chunk k starts: floor(k * chunk_ms * sample_rate / 1000) (exact integer math)."""
    return k * chunk_ms * sample_rate // 1000


class Packetizer:
    """Stateful: `push(pcm)` returns the chunks completed so far, `flush()` the last partial chunk."""

    def __init__(self, sample_rate: int, chunk_ms: int) -> None:
        if not MIN_CHUNK_MS <= chunk_ms <= MAX_CHUNK_MS:
            raise ValueError(f"chunk_ms must be in {MIN_CHUNK_MS}..{MAX_CHUNK_MS}, got {chunk_ms}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self.chunk_ms = chunk_ms
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = 0  # output offset of _pending[0]
        self._next_seq = 0
        self._flushed = False

    @property
    def samples_in(self) -> int:
        """Samples received so far."""
        return self._pending_start + int(self._pending.shape[0])

    @property
    def chunks_out(self) -> int:
        return self._next_seq

    def push(self, pcm: np.ndarray) -> list[Chunk]:
        if self._flushed:
            raise RuntimeError("push() after flush()")
        pcm = mono_float32(pcm)
        if pcm.size:
            self._pending = np.concatenate([self._pending, pcm])  # a copy: the caller may reuse its buffer
        out: list[Chunk] = []
        total = self.samples_in
        while True:
            end = chunk_boundary(self._next_seq + 1, self.chunk_ms, self.sample_rate)
            if end > total:
                break
            n = end - self._pending_start
            out.append(Chunk(self._pending[:n].copy(), self._next_seq, self._pending_start))
            self._pending = self._pending[n:]
            self._pending_start = end
            self._next_seq += 1
        return out

    def flush(self) -> list[Chunk]:
        """The remaining samples as a last (shorter) chunk; [] if none remain. No push() afterwards."""
        self._flushed = True
        if not self._pending.size:
            return []
        chunk = Chunk(self._pending.copy(), self._next_seq, self._pending_start)
        self._pending_start += int(self._pending.shape[0])
        self._pending = np.zeros(0, dtype=np.float32)
        self._next_seq += 1
        return [chunk]
