"""MP3, AAC (ADTS), FLAC and WAV streams (server/audio/avmux.py): streaming, validity, duration and fidelity.

Every file is decoded by decoders other than the encoder: PyAV's (ffmpeg 8 inside the wheel), libsndfile
through soundfile (mpg123 for MP3, libFLAC, its WAV reader) and, where it is installed, the ffmpeg
command-line tool (Debian's ffmpeg 5.1: `apt-get install ffmpeg`), fed through a pipe like a streaming client.
"""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess

import av
import numpy as np
import pytest
import soundfile as sf
import soxr

from contract.formats import SPECS, AudioFormat, Encoding
from server.audio.avmux import AAC, FLAC, MP3, WAV, AvEncoder, AvFormat, EncodedPacket, lossy_bitrate
from server.audio.pcm import encode_s16le, float_to_s16
from server.audio.stream import AudioStream, EncodedChunk

FFMPEG = shutil.which("ffmpeg")
PRIMING = {"mp3": 1105, "aac": 1024, "flac": 0, "wav": 0}  # decoded samples before input sample 0
LEAD = {"mp3": 1152, "aac": 1024}  # decoded length: n + LEAD rounded up to whole frames (priming + padding)
# Whole-signal SNR after aligning the priming, on `_voice` (measured 23.8-25.5 dB MP3, 18.0-27.2 dB AAC over
# every rate; FLAC and WAV are compared exactly instead).
MIN_SNR_DB = {"mp3": 20.0, "aac": 14.0}


def _voice(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Voice-like and not periodic (a periodic tone would let a wrong alignment correlate too): harmonics of a
    gliding 110-170 Hz pitch up to 3.4 kHz, a 2.5 Hz syllable envelope, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 1.3 * t)) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    x = 0.3 * x * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t)) / np.max(np.abs(x))
    return (x + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def _encode(fmt: AvFormat, rate: int, x: np.ndarray, piece: int, block: int | None = None):
    """Feed `x` in pieces; returns (packets, encoder, lags, streamed bytes), a lag being how far the completed
    audio trails the input after an encode() call that returned packets."""
    enc = AvEncoder(fmt, rate, block_samples=block)
    packets: list[EncodedPacket] = []
    lags: list[int] = []
    for k in range(0, x.size, piece):
        out = enc.encode(x[k:k + piece])
        if out:
            lags.append(enc.samples_in - (out[-1].start_sample + out[-1].num_samples))
        packets += out
    streamed = sum(len(p.data) for p in packets)
    packets += enc.finish()
    return packets, enc, lags, streamed


def _decode_av(data: bytes, format: str | None = None) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data), format=format) as c:
        stream = c.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(stream)]
        rate = stream.codec_context.sample_rate
    y = np.concatenate(frames) if frames else np.zeros(0)
    return (y / 32768.0 if y.dtype == np.int16 else y.astype(np.float64)), rate


def _decode_sndfile(data: bytes) -> tuple[np.ndarray, int]:
    with sf.SoundFile(io.BytesIO(data)) as f:
        if f.format != "FLAC":
            return f.read(dtype="float64"), f.samplerate
        # A streamed FLAC has "unknown" total samples: libsndfile reports 2**63 - 1 frames and soundfile's
        # read() then seeks past the end; libsndfile itself reads the frames fine, so call it directly.
        buf = np.zeros(1 << 20, np.int16)
        n = sf._snd.sf_readf_short(f._file, sf._ffi.cast("short *", buf.ctypes.data), buf.size)
        return buf[:n] / 32768.0, f.samplerate


def _decode_cli(data: bytes) -> tuple[np.ndarray, int]:
    """ffmpeg 5.1 reading a pipe (non-seekable, like a client playing the stream); errors fail the test."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate", "-of", "csv=p=0",
                            "-i", "pipe:0"], input=data, capture_output=True, check=True, timeout=30)
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "pipe:1"],
                         input=data, capture_output=True, check=True, timeout=30)
    assert out.stderr == b""
    return np.frombuffer(out.stdout, "<f4").astype(np.float64), int(probe.stdout)


DECODERS = {"pyav": _decode_av, "sndfile": _decode_sndfile, "ffmpeg-cli": _decode_cli}
NO_CLI = pytest.mark.skipif(not FFMPEG, reason="no ffmpeg CLI (apt-get install ffmpeg)")


def _decoded_length(fmt: AvFormat, n: int, frame: int) -> int:
    """No stream metadata tells a decoder the priming or the padding, so they are decoded too."""
    return math.ceil((n + LEAD[fmt.name]) / frame) * frame if fmt.lossy else n


def _spans(items) -> list[tuple[int, int]]:
    return [(c.start_sample, c.num_samples) for c in items]


def _snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - test) ** 2)))


def _check_fidelity(fmt: AvFormat, x: np.ndarray, y: np.ndarray) -> None:
    p = PRIMING[fmt.name]
    if fmt.lossy:
        assert _snr_db(x, y[p:p + x.size]) >= MIN_SNR_DB[fmt.name]
    else:  # lossless: exactly the PCM_S16LE integers
        np.testing.assert_array_equal(np.rint(y * 32768).astype(np.int64), float_to_s16(x).astype(np.int64))


# (format, rate, decoder); libsndfile reads no ADTS
CASES = [(fmt, rate) for fmt, rates in ((MP3, (8_000, 24_000, 44_100)), (AAC, (11_025, 24_000, 48_000)),
                                        (FLAC, (16_000, 24_000, 44_100)), (WAV, (8_000, 22_050, 24_000)))
         for rate in rates]
DECODE_CASES = [pytest.param(fmt, rate, dec, id=f"{fmt.name}-{rate}-{name}",
                              marks=[NO_CLI] if name == "ffmpeg-cli" else [])
                for fmt, rate in CASES for name, dec in DECODERS.items()
                if not (fmt is AAC and name == "sndfile")]


@pytest.mark.parametrize("fmt, rate, decode", DECODE_CASES)
def test_stream_is_a_valid_file_with_the_expected_length_and_audio(fmt: AvFormat, rate: int, decode) -> None:
    x = _voice(rate, 1.3, seed=rate)
    packets, enc, _, _ = _encode(fmt, rate, x, piece=rate * 80 // 1000, block=rate * 20 // 1000)
    data = b"".join(p.data for p in packets)
    assert enc.priming == PRIMING[fmt.name]
    y, got_rate = decode(data)
    assert got_rate == rate
    assert y.size == _decoded_length(fmt, x.size, enc.frame_size)
    _check_fidelity(fmt, x, y)


@pytest.mark.parametrize("fmt, rate", [(f, r) for f, r in CASES], ids=[f"{f.name}-{r}" for f, r in CASES])
def test_packets_account_for_every_sample(fmt: AvFormat, rate: int) -> None:
    x = _voice(rate, 0.9)
    piece = rate * 80 // 1000
    packets, enc, _, _ = _encode(fmt, rate, x, piece, block=rate * 20 // 1000)
    assert packets[0].start_sample == 0 and all(p.num_samples > 0 and p.data for p in packets)
    for a, b in zip(packets, packets[1:], strict=False):
        assert b.start_sample == a.start_sample + a.num_samples
    assert sum(p.num_samples for p in packets) == x.size == enc.samples_in
    frame = enc.frame_size
    if fmt.lossy:  # one packet per codec frame, except the first (its priming frames' bytes ride along)
        assert {p.num_samples for p in packets[1:-1]} == {frame}
        assert packets[0].num_samples == frame - PRIMING[fmt.name] % frame
    elif fmt is FLAC:  # a FLAC frame per 20 ms block
        assert frame == rate * 20 // 1000 and {p.num_samples for p in packets[:-1]} == {frame}
    else:  # WAV: a packet per piece
        assert [p.num_samples for p in packets] == [min(piece, x.size - k) for k in range(0, x.size, piece)]


@pytest.mark.parametrize("fmt", [MP3, AAC, FLAC, WAV], ids=lambda f: f.name)
def test_bytes_come_out_while_audio_goes_in(fmt: AvFormat) -> None:
    # 10 ms pieces at 24 kHz: how far the completed audio trails the input each time packets come out is the
    # encoder's delay (measured: MP3 2257 samples = 94 ms, AAC 2048 = 85 ms, FLAC and WAV 0 past their block)
    rate, piece = 24_000, 240
    x = _voice(rate, 2.0)
    packets, enc, lags, streamed = _encode(fmt, rate, x, piece, block=480)
    assert streamed / sum(len(p.data) for p in packets) > 0.85  # all but the encoder's flush
    delay = {"mp3": 2257, "aac": 2048, "flac": 0, "wav": 0}[fmt.name]
    assert min(lags) == delay
    assert max(lags) < delay + max(enc.frame_size, 480) + piece  # at most a frame (or block) + a piece more


@pytest.mark.parametrize("fmt", [MP3, AAC, FLAC, WAV], ids=lambda f: f.name)
def test_output_does_not_depend_on_how_the_input_is_split(fmt: AvFormat) -> None:
    x = _voice(24_000, 0.7)
    a, _, _, _ = _encode(fmt, 24_000, x, piece=1920, block=480)
    b, _, _, _ = _encode(fmt, 24_000, x, piece=77, block=480)
    assert b"".join(p.data for p in a) == b"".join(p.data for p in b)  # bitexact: reproducible bytes
    if fmt is not WAV:  # codec frames do not follow the pieces (WAV's packets are the pieces)
        assert _spans(a) == _spans(b)


def test_mp3_is_bare_cbr_frames() -> None:
    x = _voice(24_000, 0.5)
    packets, _, _, _ = _encode(MP3, 24_000, x, piece=1920)
    data = b"".join(p.data for p in packets)
    assert data[:3] != b"ID3" and b"Xing" not in data and b"Info" not in data[:200]
    # MPEG-2 Layer III header: sync 0xFFF, version 2 (24 kHz), layer III, 64 kbit/s, 24000 Hz, mono
    assert data[0] == 0xFF and data[1] & 0xFE == 0xF2 and data[3] >> 6 == 3
    frame_bytes = 576 * 64_000 // 8 // 24_000  # 192 bytes (no padding slot at 24 kHz / 64 kbit/s)
    assert len(data) == frame_bytes * math.ceil((x.size + 1152) / 576)
    assert all(data[k:k + 2] == data[:2] for k in range(0, len(data), frame_bytes))


def _adts_frames(data: bytes) -> list[tuple[int, int, int, int]]:
    """(profile, sampling index, channel configuration, length) of each ADTS frame, walking the headers."""
    out, pos = [], 0
    while pos < len(data):
        h = data[pos:pos + 7]
        assert h[0] == 0xFF and h[1] & 0xF6 == 0xF0, f"no ADTS sync at {pos}"
        length = ((h[3] & 0x03) << 11) | (h[4] << 3) | (h[5] >> 5)
        out.append((h[2] >> 6, (h[2] >> 2) & 0x0F, ((h[2] & 1) << 2) | (h[3] >> 6), length))
        pos += length
    assert pos == len(data)
    return out


@pytest.mark.parametrize("rate, index", [(8_000, 11), (24_000, 6), (44_100, 4)])
def test_aac_is_adts_lc_mono(rate: int, index: int) -> None:
    x = _voice(rate, 0.5)
    packets, _, _, _ = _encode(AAC, rate, x, piece=rate // 10)
    frames = _adts_frames(b"".join(p.data for p in packets))
    assert {f[:3] for f in frames} == {(1, index, 1)}  # profile 1 = AAC LC, channel configuration 1 = mono
    assert len(frames) == math.ceil((x.size + 1024) / 1024)
    kbit = sum(f[3] for f in frames) * 8 / (len(frames) * 1024 / rate) / 1000
    assert kbit < lossy_bitrate(rate) / 1000 * 1.3  # about the target (ABR), headers included


def test_flac_streaminfo_says_length_and_md5_unknown() -> None:
    x = _voice(24_000, 0.5)
    packets, _, _, _ = _encode(FLAC, 24_000, x, piece=1920, block=480)
    data = packets[0].data
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0 and data[5:8] == b"\x00\x00\x22"  # STREAMINFO: 34 B
    info = data[8:8 + 34]
    min_block, max_block = struct.unpack(">HH", info[:4])
    packed = int.from_bytes(info[10:18], "big")  # rate 20 bits | channels-1 3 | bits-1 5 | total samples 36
    assert (min_block, max_block) == (480, 480)
    assert (packed >> 44, (packed >> 41) & 7, (packed >> 36) & 31) == (24_000, 0, 15)
    assert packed & (1 << 36) - 1 == 0 and info[18:34] == bytes(16)  # total samples and MD5: unknown
    # no PADDING block (type 1) among the metadata blocks
    pos, types = 4, []
    while True:
        types.append(data[pos] & 0x7F)
        last, size = data[pos] & 0x80, int.from_bytes(data[pos + 1:pos + 4], "big")
        pos += 4 + size
        if last:
            break
    assert types == [0, 4]  # STREAMINFO, VORBIS_COMMENT


def test_wav_header_is_streamable_and_data_is_pcm_s16le() -> None:
    x = _voice(16_000, 0.5)
    x[:3] = [1.5, -np.inf, np.nan]  # the PCM_S16LE rule: clip, +-inf -> +-32767, NaN -> 0
    packets, _, _, _ = _encode(WAV, 16_000, x, piece=320)
    data = b"".join(p.data for p in packets)
    riff, riff_size, wave, fmt_id, fmt_size = struct.unpack("<4sI4s4sI", data[:20])
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    data_id, data_size = struct.unpack("<4sI", data[36:44])
    assert (riff, wave, fmt_id, fmt_size, data_id) == (b"RIFF", b"WAVE", b"fmt ", 16, b"data")
    assert riff_size == data_size == 0xFFFFFFFF  # unknown: readers take the data to the end of the file
    assert (tag, channels, rate, byte_rate, align, bits) == (1, 1, 16_000, 32_000, 2, 16)
    assert data[44:] == encode_s16le(x)


@pytest.mark.parametrize("fmt", [MP3, AAC, FLAC, WAV], ids=lambda f: f.name)
def test_no_audio_gives_an_empty_or_header_only_file(fmt: AvFormat) -> None:
    enc = AvEncoder(fmt, 24_000, block_samples=480)
    assert enc.encode(np.zeros(0, np.float32)) == []
    packets = enc.finish()
    assert enc.finish() == []
    with pytest.raises(RuntimeError):
        enc.encode(np.zeros(10, np.float32))
    if fmt.lossy:  # no frame at all: an empty file
        assert packets == []
        return
    (p,) = packets
    assert (p.start_sample, p.num_samples) == (0, 0)
    assert len(p.data) == 44 if fmt is WAV else p.data[:4] == b"fLaC"
    for name, decode in DECODERS.items():
        if name != "ffmpeg-cli" or FFMPEG:
            y, rate = decode(p.data)
            assert (y.size, rate) == (0, 24_000), name


@pytest.mark.parametrize("fmt", [MP3, AAC], ids=lambda f: f.name)
def test_short_lossy_streams_decode_when_the_format_is_named(fmt: AvFormat) -> None:
    # ffmpeg may not recognise a few headerless frames from an unnamed source (see avmux.py); named, it does
    for rate in (44_100, 24_000):
        for n in (1, 523, 1306, 5337):
            packets, enc, _, _ = _encode(fmt, rate, _voice(rate, n / rate), piece=480)
            y, _ = _decode_av(b"".join(p.data for p in packets), format=fmt.name)  # demuxers "mp3", "aac"
            assert y.size == _decoded_length(fmt, n, enc.frame_size)


def test_lossy_input_is_sanitised() -> None:
    x = _voice(24_000, 0.3)
    x[100:200] = np.nan
    x[300:400] = 7.0
    x[500] = -np.inf
    for fmt in (MP3, AAC):
        packets, _, _, _ = _encode(fmt, 24_000, x, piece=1920)
        y, _ = _decode_av(b"".join(p.data for p in packets))
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) < 1.5


def test_rejects_what_the_codecs_cannot_do() -> None:
    for fmt, rate in ((MP3, 96_000), (AAC, 7_350), (FLAC, 11_025), (WAV, 12_000)):
        with pytest.raises(ValueError):
            AvEncoder(fmt, rate)
    with pytest.raises(ValueError):
        AvEncoder(MP3, 24_000).encode(np.zeros((2, 10), np.float32))


# ---- through AudioStream -----------------------------------------------------------------------------------

AV_ENCODINGS = {Encoding.MP3: MP3, Encoding.AAC: AAC, Encoding.FLAC: FLAC, Encoding.WAV: WAV}
STREAM_CASES = [(Encoding.MP3, 24_000), (Encoding.MP3, 16_000), (Encoding.MP3, 48_000),
                (Encoding.AAC, 24_000), (Encoding.AAC, 22_050), (Encoding.FLAC, 24_000),
                (Encoding.FLAC, 44_100), (Encoding.WAV, 24_000), (Encoding.WAV, 8_000)]


def _stream(fmt: AudioFormat, chunk_ms: int, x: np.ndarray) -> tuple[list[EncodedChunk], list[int], int]:
    """(chunks, chunks per push, samples accounted for before finish())."""
    stream = AudioStream(fmt, chunk_ms)
    chunks, per_push = [], []
    for k in range(0, x.size, 1920):  # 80 ms codec frames at 24 kHz
        out = stream.push(x[k:k + 1920])
        per_push.append(len(out))
        chunks += out
    pushed = stream.samples_out
    chunks += stream.finish()
    assert stream.finish() == [] and stream.samples_out == sum(c.num_samples for c in chunks)
    return chunks, per_push, pushed


@pytest.mark.parametrize("chunk_ms", [20, 100])
@pytest.mark.parametrize("encoding, rate", STREAM_CASES, ids=[f"{e.name}-{r}" for e, r in STREAM_CASES])
def test_audio_stream_chunks(encoding: Encoding, rate: int, chunk_ms: int) -> None:
    assert rate in SPECS[encoding].sample_rates
    fmt = AV_ENCODINGS[encoding]
    x = _voice(24_000, 1.6, seed=rate + chunk_ms)
    ref = x if rate == 24_000 else soxr.resample(x, 24_000, rate, quality="HQ")
    chunks, per_push, pushed = _stream(AudioFormat(encoding, rate), chunk_ms, x)
    # bookkeeping: sequence without gaps, contiguous start samples, adding up to the resampled length
    assert [c.sequence_number for c in chunks] == list(range(len(chunks)))
    assert [c.start_sample for c in chunks] == list(np.cumsum([0] + [c.num_samples for c in chunks[:-1]]))
    assert sum(c.num_samples for c in chunks) == ref.size
    assert all(c.num_samples > 0 and c.sample_rate == rate for c in chunks)
    # streaming: finish() sends only what the resampler (<= 40 ms here) and the encoder (<= 180 ms: MP3 at
    # 16 kHz) hold back, plus the last chunk; after their delay no two 80 ms frames in a row send nothing
    assert (ref.size - pushed) / rate <= 0.25 + chunk_ms / 1000
    assert all(a or b for a, b in zip(per_push[5:], per_push[6:], strict=False))
    nominal = chunk_ms * rate // 1000
    frame = {"mp3": 576 if rate <= 24_000 else 1152, "aac": 1024, "flac": min(nominal, 4608), "wav": nominal}
    assert all(c.num_samples % frame[fmt.name] == 0 for c in chunks[1:-1])  # whole frames (FLAC: blocks)
    if fmt is WAV:  # the PCM_S16LE stream's chunks, bytes and all, behind a 44-byte header
        pcm, _, _ = _stream(AudioFormat(Encoding.PCM_S16LE, rate), chunk_ms, x)
        assert _spans(chunks) == _spans(pcm)
        assert chunks[0].audio[44:] == pcm[0].audio
        assert [c.audio for c in chunks[1:]] == [c.audio for c in pcm[1:]]
    data = b"".join(c.audio for c in chunks)
    y, got_rate = _decode_av(data)
    assert got_rate == rate
    assert y.size == _decoded_length(fmt, ref.size, frame[fmt.name])
    _check_fidelity(fmt, ref, y)


def test_audio_stream_without_audio() -> None:
    for encoding in AV_ENCODINGS:
        stream = AudioStream(AudioFormat(encoding, 24_000), 80)
        chunks = stream.finish()
        if encoding in (Encoding.MP3, Encoding.AAC):
            assert chunks == []
        else:
            (c,) = chunks
            assert (c.sequence_number, c.start_sample, c.num_samples) == (0, 0, 0)
            assert c.audio[:4] == (b"RIFF" if encoding is Encoding.WAV else b"fLaC")
