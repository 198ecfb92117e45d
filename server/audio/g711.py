"""G.711 mu-law and A-law encoders (one byte per sample, no header) using libsndfile's codec via soundfile.

Samples are first converted to int16 by the PCM_S16LE rule (server/audio/pcm.py: clip, x * 32767, round half to
even); libsndfile then applies the standard G.711 companding (mu-law from the top 14 bits, A-law from the top 13
bits). G.711 is stateless per sample, so chunk boundaries do not affect the bytes. Decoding back
(`soundfile.read(..., format="RAW", subtype="ULAW"|"ALAW")`) reproduces the int16 value within the codec's
quantisation step: at most 1/32 of the magnitude plus a few LSBs (see tests/server/test_audio_encoders.py).
"""

from __future__ import annotations

import numpy as np
import soundfile as sf

from server.audio.pcm import float_to_s16
from server.audio.sink import ByteSink


class G711Encoder:
    """`encode(pcm)` -> bytes for the samples given (exactly one byte each); `finish()` -> b""."""

    def __init__(self, law: str, sample_rate: int) -> None:
        subtype = {"mulaw": "ULAW", "alaw": "ALAW"}.get(law)
        if subtype is None:
            raise ValueError(f"law must be 'mulaw' or 'alaw', got {law!r}")
        self.law = law
        self.sample_rate = sample_rate
        self._sink = ByteSink()
        self._file = sf.SoundFile(self._sink, "w", samplerate=sample_rate, channels=1, format="RAW",
                                  subtype=subtype, endian="FILE")

    def encode(self, pcm: np.ndarray) -> bytes:
        s16 = float_to_s16(pcm).astype(np.int16)  # native order for libsndfile's short path
        if s16.size:
            self._file.write(s16)
        out = self._sink.drain()
        if len(out) != s16.size:  # libsndfile writes RAW data through at once; anything else is a bug
            raise RuntimeError(f"G.711 encoder produced {len(out)} bytes for {s16.size} samples")
        return out

    def finish(self) -> bytes:
        if not self._file.closed:
            self._file.close()
        return self._sink.drain()

