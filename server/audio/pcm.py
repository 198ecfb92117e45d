"""Raw PCM encoders: signed 16-bit and 32-bit float, little-endian, mono, no header.

PCM_S16LE rule: s = round_half_to_even(clip(x, -1, 1) * 32767), computed in float64 where the product of a
float32 sample and 32767 is exact, so the rounding is that of the exact value. Full scale is symmetric: +1.0 ->
32767, -1.0 -> -32767 (-32768 never occurs); NaN -> 0, +-inf -> +-32767. This is also libsndfile's
float->int16 convention (x * 0x7FFF, round to nearest), so `soundfile` reading the bytes back with
dtype="float32" returns s / 32768.

PCM_F32LE rule: the float32 samples as they are (no clipping, NaN kept), little-endian: at 24 kHz the bytes
are the model's samples bit for bit.
"""

from __future__ import annotations

import numpy as np

S16_SCALE = 32767.0


def mono_float32(pcm: np.ndarray) -> np.ndarray:
    """The samples as a contiguous 1-D float32 array (the input itself when it is one already)."""
    x = np.ascontiguousarray(pcm, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono 1-D samples, got shape {x.shape}")
    return x


def float_to_s16(pcm: np.ndarray) -> np.ndarray:
    """float samples -> little-endian int16 array by the PCM_S16LE rule above."""
    x = np.asarray(pcm, dtype=np.float64)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.rint(np.clip(x, -1.0, 1.0) * S16_SCALE).astype("<i2")


def encode_s16le(pcm: np.ndarray) -> bytes:
    return float_to_s16(pcm).tobytes()


def encode_f32le(pcm: np.ndarray) -> bytes:
    return np.ascontiguousarray(pcm, dtype="<f4").tobytes()


class PcmS16Encoder:
    """Stateless; the `encode`/`finish` interface shared with the other encoders."""

    def encode(self, pcm: np.ndarray) -> bytes:
        return encode_s16le(pcm)

    def finish(self) -> bytes:
        return b""


class PcmF32Encoder:
    def encode(self, pcm: np.ndarray) -> bytes:
        return encode_f32le(pcm)

    def finish(self) -> bytes:
        return b""
