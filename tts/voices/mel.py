"""The speaker encoder's front end: log-mel spectrogram of 24 kHz audio, as the official extraction computes it.

Reflect-pad (n_fft - hop) / 2 samples on each side, STFT without centring (Hann window, periodic), magnitude
sqrt(re² + im² + 1e-9), a Slaney-normalised mel filterbank on the Slaney mel scale (librosa's default; built here
without librosa, bit-identical to `librosa.filters.mel`), then log(max(mel, 1e-5)). Always float32.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SAMPLE_RATE = 24000
N_FFT = 1024
HOP = 256
WIN = 1024
N_MELS = 128
FMIN = 0.0
FMAX = 12000.0
MAG_EPS = 1e-9
LOG_FLOOR = 1e-5

# The Slaney (Auditory Toolbox) mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above it.
_MEL_PER_HZ = 3.0 / 200.0
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ * _MEL_PER_HZ
_LOG_STEP = math.log(6.4) / 27.0  # log-Hz per mel above the break


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3.0)
    high = hz >= _BREAK_HZ
    mel[high] = _BREAK_MEL + np.log(hz[high] / _BREAK_HZ) / _LOG_STEP
    return mel


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = (200.0 / 3.0) * mel
    high = mel >= _BREAK_MEL
    hz[high] = _BREAK_HZ * np.exp(_LOG_STEP * (mel[high] - _BREAK_MEL))
    return hz


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] float32 triangular filters with Slaney area normalisation.

    The triangles are evaluated in float64 and stored in float32, and the normalisation is applied to the stored
    float32 values, in that order, because that is what makes the result equal librosa's bit for bit."""
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array([fmin]))[0], hz_to_mel(np.array([fmax]))[0], n_mels + 2))
    widths = np.diff(edges)
    offsets = edges[:, None] - bins[None, :]  # edge frequency minus bin frequency
    weights = np.zeros((n_mels, bins.size), dtype=np.float32)
    for m in range(n_mels):
        rising = -offsets[m] / widths[m]
        falling = offsets[m + 2] / widths[m + 1]
        weights[m] = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # each filter has unit area in Hz / 2
    return weights


class LogMel:
    """Callable: float32 audio [B, N] at 24 kHz (N > 384) -> log-mel [B, 128, frames], frames = 1 + (N - 256) // 256."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.basis = torch.from_numpy(mel_filterbank()).to(device)
        self.window = torch.hann_window(WIN).to(device)

    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dtype != torch.float32 or audio.dim() != 2:
            raise ValueError(f"expected float32 audio [batch, samples], got {audio.dtype} {list(audio.shape)}")
        pad = (N_FFT - HOP) // 2
        x = torch.nn.functional.pad(audio[:, None], (pad, pad), mode="reflect")[:, 0]
        spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=WIN, window=self.window, center=False,
                          normalized=False, onesided=True, return_complex=True)
        magnitude = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + MAG_EPS)
        return torch.log(torch.matmul(self.basis, magnitude).clamp(min=LOG_FLOOR))
