"""Which output formats exist: encodings, their sample rates and defaults, and chunk-duration bounds.

One table serves request validation (`resolve_format`, `resolve_chunk_ms`, used by contract/rules.py) and
GetServiceInfo (`supported_formats`). The numbers of `Encoding` are those of `qwen3tts.v1.AudioEncoding` (a test checks it), so
this module needs no protobuf import.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NATIVE_SAMPLE_RATE = 24_000  # the 12 Hz codec's output rate
MIN_CHUNK_MS = 20
MAX_CHUNK_MS = 100


class Encoding(enum.IntEnum):
    """Output encodings; values equal `qwen3tts.v1.AudioEncoding`."""

    UNSPECIFIED = 0
    PCM_S16LE = 1
    PCM_F32LE = 2
    MULAW = 3
    ALAW = 4
    OGG_OPUS = 5
    MP3 = 6
    FLAC = 7
    AAC = 8
    WAV = 9


@dataclass(frozen=True)
class EncodingSpec:
    encoding: Encoding
    sample_rates: tuple[int, ...]  # ascending
    default_sample_rate: int
    bytes_per_sample: int | None  # None: compressed or a container (bytes per chunk vary)


PCM_RATES = (8_000, 16_000, 22_050, 24_000, 44_100, 48_000)
# G.711 is a telephony codec defined at 8 kHz; 16 kHz ("wideband" mu-law/A-law) is accepted for VoIP stacks.
_G711_RATES = (8_000, 16_000)
# libopus encodes only at these rates (RFC 6716); libsndfile refuses others.
_OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)
# MPEG-1/2/2.5 Layer III rates, also AAC's sampling-frequency table up to 48 kHz (LAME and ffmpeg's aac
# encoder take exactly these); the model's 24 kHz is native to both.
MPEG_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)

SPECS: dict[Encoding, EncodingSpec] = {
    Encoding.PCM_S16LE: EncodingSpec(Encoding.PCM_S16LE, PCM_RATES, NATIVE_SAMPLE_RATE, 2),
    Encoding.PCM_F32LE: EncodingSpec(Encoding.PCM_F32LE, PCM_RATES, NATIVE_SAMPLE_RATE, 4),
    Encoding.MULAW: EncodingSpec(Encoding.MULAW, _G711_RATES, 8_000, 1),
    Encoding.ALAW: EncodingSpec(Encoding.ALAW, _G711_RATES, 8_000, 1),
    Encoding.OGG_OPUS: EncodingSpec(Encoding.OGG_OPUS, _OPUS_RATES, NATIVE_SAMPLE_RATE, None),
    Encoding.MP3: EncodingSpec(Encoding.MP3, MPEG_RATES, NATIVE_SAMPLE_RATE, None),
    # FLAC and WAV carry PCM_S16LE's samples (lossless), so they offer PCM's rates.
    Encoding.FLAC: EncodingSpec(Encoding.FLAC, PCM_RATES, NATIVE_SAMPLE_RATE, None),
    Encoding.AAC: EncodingSpec(Encoding.AAC, MPEG_RATES, NATIVE_SAMPLE_RATE, None),
    Encoding.WAV: EncodingSpec(Encoding.WAV, PCM_RATES, NATIVE_SAMPLE_RATE, None),
}

# Every sample rate some encoding accepts, ascending.
ALL_SAMPLE_RATES: tuple[int, ...] = tuple(sorted({r for s in SPECS.values() for r in s.sample_rates}))


@dataclass(frozen=True)
class AudioFormat:
    """An output format; once resolved (`resolve_format`) never UNSPECIFIED and never rate 0."""

    encoding: Encoding
    sample_rate: int

    @property
    def resampled(self) -> bool:
        return self.sample_rate != NATIVE_SAMPLE_RATE


DEFAULT_FORMAT = AudioFormat(Encoding.PCM_S16LE, NATIVE_SAMPLE_RATE)


class FormatError(ValueError):
    """A request's audio format or chunk duration is not acceptable; `field` names the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _encoding(value: int) -> Encoding | None:
    try:
        return Encoding(value)
    except ValueError:
        return None


def is_supported(encoding: int, sample_rate: int) -> bool:
    """True if (encoding, sample_rate) is an accepted explicit pair (rate 0 and UNSPECIFIED excluded)."""
    enc = _encoding(encoding)
    return enc in SPECS and sample_rate in SPECS[enc].sample_rates


def resolve_format(encoding: int, sample_rate: int, field: str = "audio_format") -> AudioFormat:
    """The request's (encoding, sample_rate_hertz) resolved, or FormatError naming the offending field.

    UNSPECIFIED encoding means PCM_S16LE; with UNSPECIFIED the rate must be 0 or a PCM rate. Rate 0 means the
    encoding's default rate.
    """
    enc = _encoding(encoding)
    if enc is None:
        raise FormatError(f"{field}.encoding", f"unknown encoding {encoding}")
    if enc is Encoding.UNSPECIFIED:
        enc = Encoding.PCM_S16LE
    spec = SPECS[enc]
    if sample_rate == 0:
        return AudioFormat(enc, spec.default_sample_rate)
    if sample_rate not in spec.sample_rates:
        rates = ", ".join(str(r) for r in spec.sample_rates)
        raise FormatError(f"{field}.sample_rate_hertz",
                          f"{sample_rate} Hz is not available for {enc.name}; choose one of {rates} (or 0)")
    return AudioFormat(enc, sample_rate)


def resolve_chunk_ms(chunk_ms: int, default_ms: int, field: str = "chunk_duration_ms") -> int:
    """0 -> `default_ms`; otherwise `chunk_ms` if within [MIN_CHUNK_MS, MAX_CHUNK_MS], else FormatError."""
    if chunk_ms == 0:
        return default_ms
    if not MIN_CHUNK_MS <= chunk_ms <= MAX_CHUNK_MS:
        raise FormatError(field, f"{chunk_ms} ms is out of range; choose {MIN_CHUNK_MS}..{MAX_CHUNK_MS} (or 0)")
    return chunk_ms


def supported_formats() -> list[EncodingSpec]:
    """The table for GetServiceInfo, in encoding order (UNSPECIFIED excluded)."""
    return [SPECS[e] for e in sorted(SPECS)]
