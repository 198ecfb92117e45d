"""Synthetic voice-like reference audio for voice-cloning tests (no real recordings in the repository)."""

from __future__ import annotations

import numpy as np


def voice_like(seed: int, sample_rate: int, seconds: float, channels: int = 1, f0: float = 150.0,
               level: float = 0.5) -> np.ndarray:
    """float32 [N] (channels == 1) or [N, channels]: a vibrato harmonic series with a syllable-rate envelope
    plus a little noise, peak `level`. Channels differ (their own phases and noise), so a mix-down matters."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(sample_rate * seconds))) / sample_rate
    pitch = 2 * np.pi * f0 * (t + 0.01 * np.sin(2 * np.pi * 5 * t))
    out = []
    for _ in range(channels):
        x = sum(np.sin((k + 1) * pitch + rng.uniform(0, 2 * np.pi)) / (k + 1)
                for k in range(8) if (k + 1) * f0 < sample_rate / 2)
        x = x * (0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 2 * np.pi)))
        x = x + 0.03 * rng.standard_normal(t.size)
        out.append(level * x / np.abs(x).max())
    wav = np.stack(out, axis=1).astype(np.float32)
    return wav[:, 0] if channels == 1 else wav
