"""Pitch-preserving streaming time stretch (OpenAI's `speed`, 0.25-4.0): ffmpeg's `atempo` filter via PyAV.

atempo is a WSOLA time-scale modifier: it cuts the input into overlapping windows (sample_rate / 24 rounded up
to a power of two: 1024 samples = 43 ms at 24 kHz), places each at the new rate where it best correlates with
what was already written, and overlap-adds them. Pitch and timbre are kept; only the duration changes, by
1 / speed. ffmpeg maintains it, it streams (it emits output as windows complete), and it needs nothing but
the PyAV wheel the encoders already use.

One atempo accepts 0.5..100 (ffmpeg 8), so speeds below 0.5 chain two stages of sqrt(speed) each (0.25 =
0.5 x 0.5): each stage stays inside the range where WSOLA sounds natural, instead of one extreme stretch.

Speed 1.0 is a passthrough: `process` returns its input as a float32 array without touching a bit (no filter
is built). Otherwise the output length is input / speed within two windows of input time (measured: at most
1.2 windows, at speed 4), and output appears while input arrives: first after 60-120 ms of input, then
trailing it by at most ~3 windows of input time (measured 1440 samples at speed 0.3, 2880 at 4 with 20 ms
pieces); `flush` returns the rest. For one stage the output does not depend on how the input is split.
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
import numpy as np

from contract.formats import NATIVE_SAMPLE_RATE
from contract.rules import MAX_SPEED, MIN_SPEED  # noqa: F401 - the range lives with the rulebook
from server.audio.pcm import mono_float32

_ATEMPO_MIN = 0.5  # the smallest factor one atempo accepts
# atempo sizes its output buffer as round(input samples / tempo) and fails (ENOMEM) when that is 0, e.g. for a
# 1-sample frame at speed 4; pieces shorter than this wait for the next one (far below atempo's own latency).
MIN_PUSH = 64


def atempo_stages(speed: float) -> list[float]:
    """The atempo factors whose product is `speed`: one, or two equal ones below 0.5."""
    return [speed] if speed >= _ATEMPO_MIN else [speed ** 0.5] * 2


class TimeStretch:
    """Stateful mono float32 time stretch; one per output stream."""

    def __init__(self, speed: float, sample_rate: int = NATIVE_SAMPLE_RATE) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be in {MIN_SPEED}..{MAX_SPEED}, got {speed}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.speed = speed
        self.sample_rate = sample_rate
        self._time_base = Fraction(1, sample_rate)
        self._graph = None if speed == 1.0 else self._build()
        self._pending = np.zeros(0, dtype=np.float32)  # input held back until MIN_PUSH samples
        self._done = False
        self.samples_in = 0
        self.samples_out = 0

    @property
    def passthrough(self) -> bool:
        return self._graph is None

    def _build(self) -> av.filter.Graph:
        graph = av.filter.Graph()
        src = graph.add_abuffer(format="flt", sample_rate=self.sample_rate, layout="mono",
                                time_base=self._time_base)
        stages = [graph.add("atempo", repr(f)) for f in atempo_stages(self.speed)]
        graph.link_nodes(src, *stages, graph.add("abuffersink")).configure()
        return graph

    def process(self, pcm: np.ndarray) -> np.ndarray:
        """Stretch the next piece; returns the output samples ready now (may be empty)."""
        if self._done:
            raise RuntimeError("process() after flush()")
        x = mono_float32(pcm)
        if self._graph is None:
            self.samples_in += x.shape[0]
            self.samples_out += x.shape[0]
            return x
        self.samples_in += x.shape[0]
        self._pending = np.concatenate([self._pending, x])
        if self._pending.shape[0] < MIN_PUSH:
            return np.zeros(0, dtype=np.float32)
        self._push_pending()
        return self._pull()

    def _push_pending(self) -> None:
        assert self._graph is not None
        # a NaN would spread through the overlap-add and the correlation search (the encoders map it to 0)
        frame = av.AudioFrame.from_ndarray(np.nan_to_num(self._pending)[None, :], format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.time_base = self._time_base
        frame.pts = self.samples_in - self._pending.shape[0]
        self._pending = np.zeros(0, dtype=np.float32)
        self._graph.push(frame)

    def flush(self) -> np.ndarray:
        """End of input: the rest of the output. No process() afterwards."""
        if self._done:
            return np.zeros(0, dtype=np.float32)
        self._done = True
        if self._graph is None:
            return np.zeros(0, dtype=np.float32)
        if self._pending.size * 2 >= self.speed:  # shorter: < 1 output sample, and atempo would fail on it
            self._push_pending()
        self._graph.push(None)
        return self._pull()

    def _pull(self) -> np.ndarray:
        assert self._graph is not None
        out = []
        while True:
            try:
                frame = self._graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):  # needs more input / fully drained
                break
            out.append(frame.to_ndarray().reshape(-1))
        y = np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, dtype=np.float32)
        self.samples_out += y.shape[0]
        return y
