"""User reference audio for voice cloning -> float32 mono 24 kHz samples, exactly as the official wrapper does it.

The official `create_voice_clone_prompt` decodes a file with soundfile (bytes/base64) or `librosa.load` (paths;
librosa reads through soundfile too, so WAV/FLAC/OGG give the same samples), mixes down to mono with the mean over
channels, and resamples with `librosa.resample`, whose default is soxr at "HQ" quality followed by a length fix:
the output is zero-padded or cut to ceil(N * 24000 / sr) samples, with the ratio computed in floating point. soxr
alone sometimes returns one sample fewer (44.1 kHz: 44100 samples -> 24000, librosa -> 24001, the last one 0), and
that sample changes both the last mel frame of the x-vector and the last codec frame, so it is reproduced here.

Everything a user can get wrong raises `ReferenceAudioError` (a ValueError) whose `field` is "reference_audio".
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

FIELD = "reference_audio"
TARGET_SAMPLE_RATE = 24000
FORMATS = "WAV, FLAC, OGG"


class ReferenceAudioError(ValueError):
    """The reference audio cannot be used; `field` names the request field to blame."""

    def __init__(self, message: str, field: str = FIELD):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReferenceLimits:
    # 30 s of 48 kHz stereo float32 WAV is 11.5 MB; the limit keeps every valid reference below it.
    max_bytes: int = 16 * 1024 * 1024
    min_seconds: float = 1.0
    max_seconds: float = 30.0
    min_sample_rate: int = 8000
    max_sample_rate: int = 192000
    # Peak below -60 dBFS after the mono mix-down: digital silence, dither, or channels that cancel out.
    silence_peak: float = 1e-3


DEFAULT_LIMITS = ReferenceLimits()


@dataclass(frozen=True)
class ReferenceAudio:
    samples: np.ndarray  # float32 [N], mono, TARGET_SAMPLE_RATE
    source_sample_rate: int
    source_channels: int

    @property
    def sample_rate(self) -> int:
        return TARGET_SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.samples.size / TARGET_SAMPLE_RATE


def load_reference(source: bytes | str | os.PathLike, limits: ReferenceLimits = DEFAULT_LIMITS) -> ReferenceAudio:
    """An encoded audio file (its bytes, or a local path) -> checked, mono, 24 kHz reference."""
    samples, sample_rate = decode_audio(source, limits)
    return reference_from_samples(samples, sample_rate, limits)


def decode_audio(source: bytes | str | os.PathLike,
                 limits: ReferenceLimits = DEFAULT_LIMITS) -> tuple[np.ndarray, int]:
    """An encoded audio file -> (float32 samples [N, channels], sample rate), with the size, rate and duration
    limits checked (the duration before the samples are decoded)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ReferenceAudioError(f"reference audio file not found: {path}")
        if path.stat().st_size > limits.max_bytes:
            raise ReferenceAudioError(_too_big(path.stat().st_size, limits))
        data = path.read_bytes()
    if not data:
        raise ReferenceAudioError(f"reference audio is empty (0 bytes); expected an audio file ({FORMATS})")
    if len(data) > limits.max_bytes:
        raise ReferenceAudioError(_too_big(len(data), limits))
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sample_rate = int(f.samplerate)
            _check_rate_and_length(sample_rate, int(f.frames), limits)
            samples = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        reason = getattr(e, "error_string", None) or str(e)  # libsndfile's words, without the stream's repr
        raise ReferenceAudioError(f"reference audio is not a supported audio file ({FORMATS}): {reason}") from e
    return samples, sample_rate


def reference_from_samples(samples: np.ndarray, sample_rate: int,
                           limits: ReferenceLimits = DEFAULT_LIMITS) -> ReferenceAudio:
    """Decoded samples [N] or [N, channels] at `sample_rate` -> checked, mono, 24 kHz reference."""
    x = np.asarray(samples)
    if x.ndim not in (1, 2) or x.size == 0:
        raise ReferenceAudioError(f"reference audio must be samples [N] or [N, channels], got shape {list(x.shape)}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ReferenceAudioError(f"reference samples must be floating point, got {x.dtype}")
    x = x.astype(np.float32)
    channels = 1 if x.ndim == 1 else x.shape[1]
    _check_rate_and_length(int(sample_rate), x.shape[0], limits)
    if not np.isfinite(x).all():
        raise ReferenceAudioError("reference audio contains NaN or infinite samples")
    mono = x if x.ndim == 1 else x.mean(axis=-1)
    peak = float(np.abs(mono).max())
    if peak < limits.silence_peak:
        raise ReferenceAudioError(
            f"reference audio is silent (peak {_dbfs(peak)} after mixing to mono; needs at least "
            f"{_dbfs(limits.silence_peak)})"
        )
    return ReferenceAudio(resample_to_24k(mono, int(sample_rate)), int(sample_rate), channels)


def resample_to_24k(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """float32 [N] -> float32 [ceil(N * 24000 / sample_rate)]: `librosa.resample`'s default, bit for bit."""
    mono = np.asarray(mono, dtype=np.float32)
    if sample_rate == TARGET_SAMPLE_RATE:
        return mono
    out = soxr.resample(mono, sample_rate, TARGET_SAMPLE_RATE, quality="soxr_hq")
    size = math.ceil(mono.size * (float(TARGET_SAMPLE_RATE) / sample_rate))
    if out.size >= size:
        return np.ascontiguousarray(out[:size], dtype=np.float32)
    return np.concatenate([out, np.zeros(size - out.size, dtype=np.float32)])


def _check_rate_and_length(sample_rate: int, frames: int, limits: ReferenceLimits) -> None:
    if not limits.min_sample_rate <= sample_rate <= limits.max_sample_rate:
        raise ReferenceAudioError(
            f"reference audio sample rate {sample_rate} Hz is outside {limits.min_sample_rate}-"
            f"{limits.max_sample_rate} Hz"
        )
    seconds = frames / sample_rate
    if seconds < limits.min_seconds:
        raise ReferenceAudioError(
            f"reference audio is too short ({seconds:.2f} s); it must last at least {limits.min_seconds:g} s"
        )
    if seconds > limits.max_seconds:
        raise ReferenceAudioError(
            f"reference audio is too long ({seconds:.2f} s); it must last at most {limits.max_seconds:g} s"
        )


def _too_big(size: int, limits: ReferenceLimits) -> str:
    return f"reference audio is too large ({size:,} bytes); the limit is {limits.max_bytes:,} bytes"


def _dbfs(amplitude: float) -> str:
    return "-inf dBFS" if amplitude <= 0 else f"{20 * math.log10(amplitude):.0f} dBFS"
