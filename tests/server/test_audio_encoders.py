"""Encoders: every encoding decoded back (with soundfile/libsndfile, an independent reader) and compared."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import soxr

from server.audio.g711 import G711Encoder
from server.audio.opus import OPUS_SAMPLE_RATES, OggOpusEncoder, page_duration_ms, parse_ogg_pages
from server.audio.pcm import encode_f32le, encode_s16le, float_to_s16

ALL_S16 = np.arange(-32767, 32768, dtype=np.int64)


def _tone(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.4 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - test).astype(np.float64) ** 2)))


# ---- PCM_S16LE ---------------------------------------------------------------------------------------------

def test_s16_rounding_rule_edge_cases() -> None:
    x = np.array([0.0, 1.0, -1.0, 1.5, -7.0, np.inf, -np.inf, np.nan,
                  0.5 / 32767, 1.5 / 32767, 2.5 / 32767, -0.5 / 32767, -1.5 / 32767,
                  0.49 / 32767, 0.51 / 32767, 32766.5 / 32767], dtype=np.float64).astype(np.float32)
    got = float_to_s16(x)
    # expected from the rule: round-half-to-even of the exact float32 value times 32767, clipped to +-32767
    exact = x.astype(np.float64) * 32767
    assert got.dtype == np.dtype("<i2")
    assert got[:8].tolist() == [0, 32767, -32767, 32767, -32767, 32767, -32767, 0]
    assert got[8:].tolist() == np.rint(exact[8:]).astype(int).tolist()
    # the float32 nearest to k.5/32767 is not exactly k.5/32767: check against the exact product, not k.5
    for v, g in zip(exact[8:], got[8:], strict=True):
        assert abs(v - g) <= 0.5 and (abs(v - g) < 0.5 or g % 2 == 0)


def test_s16_every_code_round_trips_and_bytes_are_little_endian() -> None:
    x = (ALL_S16 / 32767.0).astype(np.float32)  # every int16 level (except -32768) as float
    data = encode_s16le(x)
    assert len(data) == 2 * x.size
    assert np.array_equal(np.frombuffer(data, "<i2"), ALL_S16)
    assert encode_s16le(np.array([1.0 / 32767 * 258], np.float32)) == b"\x02\x01"  # 258 = 0x0102, LE


def test_s16_decodes_with_soundfile() -> None:
    x = _tone(24_000, 0.25)
    data = encode_s16le(x)
    y, _ = sf.read(io.BytesIO(data), format="RAW", subtype="PCM_16", samplerate=24_000, channels=1, dtype="int16",
                   endian="LITTLE")
    assert np.array_equal(y, float_to_s16(x))
    assert np.max(np.abs(y / 32767.0 - x)) <= 0.5 / 32767 + 1e-9  # at most half an LSB away


# ---- PCM_F32LE ---------------------------------------------------------------------------------------------

def test_f32_is_bit_identical() -> None:
    x = _tone(24_000, 0.25)
    x[:5] = np.array([1.75, -2.5, np.float32(1e-42), -0.0, np.nan], np.float32)  # no clipping, NaN/denormal kept
    data = encode_f32le(x)
    assert data == x.astype("<f4").tobytes()
    assert np.frombuffer(data, "<f4").view(np.uint32).tolist() == x.view(np.uint32).tolist()
    assert encode_f32le(np.array([1.0], np.float32)) == b"\x00\x00\x80\x3f"
    y, _ = sf.read(io.BytesIO(data[20:]), format="RAW", subtype="FLOAT", samplerate=24_000, channels=1,
                   dtype="float32", endian="LITTLE")
    assert y.tobytes() == x[5:].tobytes()


# ---- MULAW / ALAW ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("law, subtype", [("mulaw", "ULAW"), ("alaw", "ALAW")])
def test_g711_every_level_within_quantisation_error(law: str, subtype: str) -> None:
    x = (ALL_S16 / 32767.0).astype(np.float32)
    enc = G711Encoder(law, 8_000)
    data = enc.encode(x[:1000]) + enc.encode(x[1000:]) + enc.finish()
    assert len(data) == x.size  # one byte per sample
    whole = G711Encoder(law, 8_000)
    assert whole.encode(x) + whole.finish() == data  # stateless: chunking does not matter
    y, _ = sf.read(io.BytesIO(data), format="RAW", subtype=subtype, samplerate=8_000, channels=1, dtype="int16")
    err = np.abs(y.astype(np.int64) - ALL_S16)
    # G.711 segments: quantisation step <= 1/16 of the magnitude, error <= half a step (+ LSBs lost to the
    # 14-bit (mu) / 13-bit (A) input): |err| <= |x|/32 + 8 in 16-bit units
    assert np.all(err <= np.abs(ALL_S16) / 32 + 8)
    assert 0 < err.max() <= 1024
    # silence stays (near) silence and the sign is always kept
    assert abs(int(y[32767])) <= 8
    assert np.all(np.sign(y[np.abs(ALL_S16) > 16]) == np.sign(ALL_S16[np.abs(ALL_S16) > 16]))


@pytest.mark.parametrize("law, subtype", [("mulaw", "ULAW"), ("alaw", "ALAW")])
def test_g711_telephony_tone_at_8k(law: str, subtype: str) -> None:
    x24 = _tone(24_000, 0.5)
    x = soxr.resample(x24, 24_000, 8_000)
    enc = G711Encoder(law, 8_000)
    data = b"".join(enc.encode(x[k:k + 160]) for k in range(0, x.size, 160)) + enc.finish()  # 20 ms chunks
    y, _ = sf.read(io.BytesIO(data), format="RAW", subtype=subtype, samplerate=8_000, channels=1, dtype="float32")
    assert y.size == x.size
    assert _snr_db(x, y) > 30  # G.711 gives ~35-38 dB SNR on speech-level signals


def test_g711_rejects_unknown_law() -> None:
    with pytest.raises(ValueError):
        G711Encoder("ulaw", 8_000)


# ---- OGG_OPUS ----------------------------------------------------------------------------------------------

def _body_magic(page: bytes) -> bytes:
    return page[27 + page[26]:][:8]  # first 8 bytes of the page body (after the segment table)


def _encode_opus(x: np.ndarray, rate: int, page_ms: int, piece: int):
    enc = OggOpusEncoder(rate, page_ms=page_ms)
    pages = []
    for k in range(0, x.size, piece):
        pages += enc.encode(x[k:k + piece])
    pages += enc.finish()
    return pages, enc


@pytest.mark.parametrize("rate", OPUS_SAMPLE_RATES)
def test_opus_pages_form_a_valid_decodable_file(rate: int) -> None:
    x = _tone(rate, 1.5, seed=rate)
    pages, enc = _encode_opus(x, rate, page_ms=60, piece=rate * 80 // 1000)
    data = b"".join(p.data for p in pages)
    # every chunk is whole Ogg pages; the first carries OpusHead + OpusTags; only the last is end-of-stream
    for i, p in enumerate(pages):
        ogg, used = parse_ogg_pages(p.data)
        assert used == len(p.data) and ogg
        assert len(ogg) == (3 if i == 0 else 1)
        assert (ogg[-1].header_type & 0x04 != 0) == (i == len(pages) - 1) == p.end_of_stream
    first = parse_ogg_pages(pages[0].data)[0]
    assert _body_magic(first[0].data) == b"OpusHead" and _body_magic(first[1].data) == b"OpusTags"
    # sample accounting: contiguous, adds up to exactly the input
    assert pages[0].start_sample == 0
    for a, b in zip(pages, pages[1:], strict=False):
        assert b.start_sample == a.start_sample + a.num_samples
    assert sum(p.num_samples for p in pages) == x.size
    # decodes (libsndfile checks the Ogg CRCs) to exactly the samples written, with a sensible SNR
    y, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == rate and y.shape == x.shape
    assert _snr_db(x, y) > 15  # measured 24-36 dB (auto VBR bitrate, ~24 kbit/s at 8 kHz .. ~64 at 48 kHz)
    assert enc.pre_skip_48k == 312


def test_opus_page_durations_follow_the_page_latency() -> None:
    rate = 24_000
    x = _tone(rate, 2.0)
    for page_ms, expected in ((20, 60), (50, 60), (60, 60), (70, 80), (80, 80), (90, 100), (100, 100)):
        assert page_duration_ms(page_ms) == expected
        pages, _ = _encode_opus(x, rate, page_ms, piece=1920)
        per_page = rate * expected // 1000
        assert pages[0].num_samples == per_page - rate * 265 // 10_000  # one packet less, minus 6.5 ms pre-skip
        assert {p.num_samples for p in pages[1:-1]} == {per_page}
        assert sum(p.num_samples for p in pages) == x.size


def test_opus_page_appears_as_soon_as_the_next_packet_is_encoded() -> None:
    # 20 ms packets at 24 kHz = 480 samples; first page = packets 1-2; it is written when packet 3 is encoded,
    # i.e. when the first sample after packet 3 arrives
    enc = OggOpusEncoder(24_000, page_ms=60)
    x = _tone(24_000, 0.2)
    assert enc.encode(x[:1440]) == []
    (page,) = enc.encode(x[1440:1441])
    assert (page.start_sample, page.num_samples) == (0, 960 - 156)


def test_opus_is_identical_whatever_the_input_split() -> None:
    x = _tone(16_000, 0.7)
    a, _ = _encode_opus(x, 16_000, 60, piece=1280)
    b, _ = _encode_opus(x, 16_000, 60, piece=77)
    strip = lambda ps: [(p.start_sample, p.num_samples, len(p.data)) for p in ps]  # noqa: E731
    assert strip(a) == strip(b)


def test_opus_without_audio_is_just_the_headers() -> None:
    enc = OggOpusEncoder(24_000)
    (page,) = enc.finish()
    assert page.num_samples == 0
    ogg, used = parse_ogg_pages(page.data)
    assert used == len(page.data) and [_body_magic(p.data) for p in ogg] == [b"OpusHead", b"OpusTags"]
    assert enc.finish() == []
    with pytest.raises(RuntimeError):
        enc.encode(np.zeros(10, np.float32))


def test_opus_rejects_other_rates() -> None:
    for rate in (22_050, 44_100, 11_025):
        with pytest.raises(ValueError):
            OggOpusEncoder(rate)


def test_parse_ogg_pages_keeps_partial_tail() -> None:
    pages, _ = _encode_opus(_tone(24_000, 0.3), 24_000, 60, piece=1920)
    data = b"".join(p.data for p in pages)
    full, used = parse_ogg_pages(data)
    assert used == len(data)
    part, used2 = parse_ogg_pages(data[:-5])
    assert len(part) == len(full) - 1 and used2 == len(data) - len(full[-1].data)
    with pytest.raises(ValueError):
        parse_ogg_pages(b"XXXX" + data)
