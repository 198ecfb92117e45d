"""The format table, request-format resolution, and its agreement with the proto enum."""

from __future__ import annotations

import pytest

from contract.formats import (
    ALL_SAMPLE_RATES,
    DEFAULT_FORMAT,
    SPECS,
    AudioFormat,
    Encoding,
    FormatError,
    is_supported,
    resolve_chunk_ms,
    resolve_format,
    supported_formats,
)
from qwen3tts.v1 import tts_pb2


def test_encoding_numbers_match_the_proto() -> None:
    proto = {v.name.removeprefix("AUDIO_ENCODING_"): v.number for v in tts_pb2.AudioEncoding.DESCRIPTOR.values}
    assert proto == {e.name: e.value for e in Encoding}


def test_every_encoding_has_a_consistent_entry() -> None:
    assert [s.encoding for s in supported_formats()] == sorted(e for e in Encoding if e is not Encoding.UNSPECIFIED)
    for spec in supported_formats():
        assert list(spec.sample_rates) == sorted(spec.sample_rates)
        assert spec.default_sample_rate in spec.sample_rates
        assert SPECS[spec.encoding] is spec
    assert ALL_SAMPLE_RATES == tuple(sorted({r for s in supported_formats() for r in s.sample_rates}))


def test_resolve_defaults() -> None:
    assert resolve_format(0, 0) == DEFAULT_FORMAT == AudioFormat(Encoding.PCM_S16LE, 24000)
    assert resolve_format(0, 16000) == AudioFormat(Encoding.PCM_S16LE, 16000)
    assert resolve_format(Encoding.MULAW, 0) == AudioFormat(Encoding.MULAW, 8000)
    assert resolve_format(Encoding.ALAW, 0) == AudioFormat(Encoding.ALAW, 8000)
    assert resolve_format(Encoding.OGG_OPUS, 0) == AudioFormat(Encoding.OGG_OPUS, 24000)
    for enc in (Encoding.MP3, Encoding.FLAC, Encoding.AAC, Encoding.WAV):
        assert resolve_format(enc, 0) == AudioFormat(enc, 24000)
    assert resolve_format(Encoding.MP3, 11025) == AudioFormat(Encoding.MP3, 11025)
    assert resolve_format(Encoding.PCM_F32LE, 44100) == AudioFormat(Encoding.PCM_F32LE, 44100)
    assert not resolve_format(Encoding.PCM_F32LE, 24000).resampled
    assert resolve_format(Encoding.OGG_OPUS, 48000).resampled


@pytest.mark.parametrize("encoding, rate, field", [
    (Encoding.MULAW, 44100, "audio_format.sample_rate_hertz"),
    (Encoding.OGG_OPUS, 22050, "audio_format.sample_rate_hertz"),
    (Encoding.PCM_S16LE, 12000, "audio_format.sample_rate_hertz"),
    (Encoding.PCM_S16LE, -1, "audio_format.sample_rate_hertz"),
    (0, 11025, "audio_format.sample_rate_hertz"),
    (Encoding.FLAC, 32000, "audio_format.sample_rate_hertz"),
    (Encoding.MP3, 96000, "audio_format.sample_rate_hertz"),
    (10, 0, "audio_format.encoding"),
    (-3, 0, "audio_format.encoding"),
])
def test_resolve_rejects(encoding: int, rate: int, field: str) -> None:
    with pytest.raises(FormatError) as e:
        resolve_format(encoding, rate)
    assert e.value.field == field
    assert str(e.value).startswith(field + ": ")
    assert not is_supported(encoding, rate)


def test_is_supported_matches_table() -> None:
    for enc in Encoding:
        for rate in (0, *ALL_SAMPLE_RATES, 11025):
            assert is_supported(enc, rate) == (enc in SPECS and rate in SPECS[enc].sample_rates)


def test_chunk_ms() -> None:
    assert resolve_chunk_ms(0, 80) == 80
    assert [resolve_chunk_ms(v, 80) for v in (20, 55, 100)] == [20, 55, 100]
    for bad in (1, 19, 101, 1000):
        with pytest.raises(FormatError) as e:
            resolve_chunk_ms(bad, 80)
        assert e.value.field == "chunk_duration_ms"
