"""Audio encodings by name ("pcm_s16le", ...), mapped to the API's numbers (qwen3tts.v1.AudioEncoding).

Names are what users type (CLI flags, keyword arguments); the numbers stay inside the client.
"""

from __future__ import annotations

from enum import StrEnum

from client.errors import ProtocolError
from qwen3tts.v1 import tts_pb2


class Encoding(StrEnum):
    PCM_S16LE = "pcm_s16le"  # signed 16-bit little-endian PCM, no header
    PCM_F32LE = "pcm_f32le"  # 32-bit float little-endian PCM, no header (the model's own samples at 24 kHz)
    MULAW = "mulaw"  # G.711 mu-law, one byte per sample
    ALAW = "alaw"  # G.711 A-law, one byte per sample
    OGG_OPUS = "ogg_opus"  # a complete Ogg Opus stream, chunked at page boundaries
    MP3 = "mp3"  # MPEG audio frames (no ID3 tag): the chunks concatenate to a playable .mp3
    FLAC = "flac"  # a FLAC stream (STREAMINFO length "unknown"): the chunks concatenate to a .flac file
    AAC = "aac"  # AAC-LC in ADTS frames: the chunks concatenate to a playable .aac
    WAV = "wav"  # a streamable WAV (RIFF sizes 0xFFFFFFFF: "to the end of the file"), 16-bit PCM

    @property
    def proto(self) -> int:
        return tts_pb2.AudioEncoding.Value("AUDIO_ENCODING_" + self.name)

    @property
    def bytes_per_sample(self) -> int | None:
        """Bytes per sample of a raw encoding; None for the containers and compressed ones (Opus, MP3, ...)."""
        return _BYTES_PER_SAMPLE.get(self)

    @property
    def numpy_dtype(self) -> str | None:
        """The numpy dtype of a PCM encoding's samples; None for G.711 and Opus."""
        return {Encoding.PCM_S16LE: "<i2", Encoding.PCM_F32LE: "<f4"}.get(self)

    @classmethod
    def parse(cls, value: str | Encoding) -> Encoding:
        """"pcm_s16le", "PCM_S16LE", Encoding.PCM_S16LE -> Encoding.PCM_S16LE; ValueError naming the choices."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"unknown encoding {value!r}; choose one of {', '.join(cls)}") from None

    @classmethod
    def from_proto(cls, value: int, request_id: str | None = None) -> Encoding:
        """The API contract: a client must treat an enum value it does not know as an error."""
        for e in cls:
            if e.proto == value:
                return e
        raise ProtocolError(f"the server sent an unknown audio encoding ({value})", request_id)


_BYTES_PER_SAMPLE = {Encoding.PCM_S16LE: 2, Encoding.PCM_F32LE: 4, Encoding.MULAW: 1, Encoding.ALAW: 1}
