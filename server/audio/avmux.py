"""MP3, ADTS AAC, FLAC and WAV as streams: ffmpeg's encoders and muxers through PyAV, into a write-only sink.

How it works. PyAV (av 18.1.0 bundles ffmpeg 8 with libmp3lame, the native aac and flac encoders and the pcm
encoders) writes the container into a Python object that has `write` but no `seek`, so libavformat treats the
output as non-seekable (a pipe): every muxer writes its file header once, up front, and never goes back to
patch it. With `flush_packets` each packet's bytes reach the sink as soon as it is muxed, so the bytes can be
attributed packet by packet. The concatenation of everything written is a valid file:

- MP3: bare MPEG audio frames (no ID3 tag, no Xing/LAME tag: those need a seek back or add nothing a stream
  can know). 576 samples per frame at <= 24 kHz (MPEG-2/2.5), 1152 at 32-48 kHz (MPEG-1). CBR at
  `lossy_bitrate`.
- AAC: AAC-LC in ADTS frames of 1024 samples (each frame carries its own header; no global header), ffmpeg's
  native encoder averaging `lossy_bitrate`.
- FLAC: "fLaC", STREAMINFO (total samples 0 and MD5 all zero: "unknown", as the format allows), a Vorbis
  comment, then frames. No PADDING block (it only serves a later in-place rewrite).
- WAV: a 44-byte RIFF/WAVE header whose RIFF and data sizes are 0xFFFFFFFF (ffmpeg's convention for
  non-seekable output; readers take the data to run to the end of the file), then PCM s16le.

`fflags=+bitexact` and `flags=+bitexact` keep version strings out (the bytes are reproducible across runs).

Sample accounting. Encoders stamp packets with pts in the input timeline: the first lossy packets start
before 0 (the codec's priming, `priming`), the last ends at the number of samples written. A packet
completes the input audio up to pts + duration (clamped to [0, samples written]); `EncodedPacket` carries
[start_sample, start_sample + num_samples) of that. Bytes that complete nothing yet (the file header, priming
packets) are held and prepended to the next packet that does, so every packet except an empty stream's lone
header accounts for at least one sample, and the counts add up to the samples written.

Decoded length (no decoder can know the priming or the padding from these streams): FLAC and WAV decode to
exactly the n samples written. MP3 and AAC decode to ceil((n + L) / F) * F samples (F the frame size) with the
input starting at decoded sample `priming`: MP3 priming 1105 (LAME's 576 + the 529-sample decoder delay) and
L = 1152 (LAME pads at least 47 samples after the input), AAC priming and L both 1024 (measured at 8, 24 and
48 kHz for n = 1..8000).

Encoder delay (how far the audio completed by the packets out so far trails the input, when a packet comes
out): MP3 2257 samples with 576-sample frames (94 ms at 24 kHz, 282 ms at 8 kHz) and 3409 with 1152-sample
frames (71 ms at 48 kHz); AAC 2048 (85 ms at 24 kHz); between packets it grows by up to one frame. FLAC: none
past its block (a frame is written when its block is full); WAV: none.

Caveat: ffmpeg recognises headerless MP3 and ADTS by counting consecutive frames, so a stream of only a few
frames (say under 150 ms) read from an unnamed pipe may not be recognised unless the format is named
(`-f mp3` / `-f aac`, a file extension, the HTTP Content-Type); named, every length decodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from contract.formats import MPEG_RATES, PCM_RATES
from server.audio.pcm import float_to_s16

FLAC_MAX_BLOCK = 4_608  # the FLAC "streamable subset" limit at <= 48 kHz


@dataclass(frozen=True)
class AvFormat:
    """One container/codec pair as ffmpeg names them."""

    name: str
    muxer: str
    codec: str
    sample_rates: tuple[int, ...]
    lossy: bool  # lossy: float32 in at a bitrate; lossless: int16 by the PCM_S16LE rule in
    muxer_options: dict[str, str] = field(default_factory=dict)


MP3 = AvFormat("mp3", "mp3", "libmp3lame", MPEG_RATES, True, {"id3v2_version": "0", "write_xing": "0"})
AAC = AvFormat("aac", "adts", "aac", MPEG_RATES, True)
FLAC = AvFormat("flac", "flac", "flac", PCM_RATES, False, {"metadata_header_padding": "0"})
WAV = AvFormat("wav", "wav", "pcm_s16le", PCM_RATES, False)


def lossy_bitrate(sample_rate: int) -> int:
    """Mono target bitrate in bit/s for MP3 (CBR) and AAC (average): a usual speech rate, 64 kbit/s at 24 kHz
    (waveform SNR on a voice-like test signal: ~25 dB MP3, ~22 dB AAC), scaled with the bandwidth; every value
    is legal for both codecs at its rates (at 8 kHz AAC-LC allows at most 48 kbit/s, MPEG-2.5 Layer III 64)."""
    if sample_rate <= 12_000:
        return 32_000
    if sample_rate <= 16_000:
        return 48_000
    if sample_rate <= 24_000:
        return 64_000
    return 96_000


@dataclass(frozen=True)
class EncodedPacket:
    data: bytes  # muxer output: whole codec frames (the first packet also carries the file header)
    start_sample: int  # input-timeline audio these bytes complete: [start_sample, start_sample + num_samples)
    num_samples: int


class _WriteOnlySink:
    """No `seek` attribute on purpose: PyAV then opens a non-seekable AVIOContext (see the module doc)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        self._buf += data
        return len(data)

    def drain(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


class AvEncoder:
    """`encode(pcm)` -> packets completed so far; `finish()` -> the rest (the encoder's flush).

    `block_samples` sets FLAC's block size (a FLAC frame is written when a block is full); the lossy codecs
    have fixed frame sizes and PCM writes whatever it is given, so it is ignored for them.
    """

    def __init__(self, fmt: AvFormat, sample_rate: int, block_samples: int | None = None) -> None:
        if sample_rate not in fmt.sample_rates:
            raise ValueError(f"{fmt.name} needs one of {fmt.sample_rates} Hz, got {sample_rate}")
        self.format = fmt
        self.sample_rate = sample_rate
        self._sink = _WriteOnlySink()
        options = {"fflags": "+bitexact", "flush_packets": "1", **fmt.muxer_options}
        self._container = av.open(self._sink, "w", format=fmt.muxer, options=options)
        self._stream = self._container.add_stream(fmt.codec, rate=sample_rate, layout="mono")
        codec_options = {"flags": "+bitexact"}
        if fmt.lossy:
            self._stream.codec_context.bit_rate = lossy_bitrate(sample_rate)
        elif fmt is FLAC and block_samples:
            codec_options["frame_size"] = str(min(max(block_samples, 16), FLAC_MAX_BLOCK))
        self._stream.codec_context.options = codec_options
        self._container.start_encoding()  # opens the codec and writes the file header now (also for no audio)
        self._held = self._sink.drain()  # bytes not yet attributed to completed audio
        self._time_base = Fraction(1, sample_rate)
        self.samples_in = 0
        self._end = 0  # input samples completed by the packets returned so far
        self.priming: int | None = None  # samples before input sample 0 in the decoded stream
        self._finished = False

    @property
    def frame_size(self) -> int:
        """Samples per codec frame (0: any size, PCM)."""
        return self._stream.codec_context.frame_size

    def encode(self, pcm: np.ndarray) -> list[EncodedPacket]:
        if self._finished:
            raise RuntimeError("encode() after finish()")
        x = np.asarray(pcm)
        if x.ndim != 1:
            raise ValueError(f"expected mono 1-D samples, got shape {x.shape}")
        if not x.size:
            return []
        if self.format.lossy:  # the same sanitising as Opus: NaN -> 0, clip to full scale
            x64 = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
            data, sample_fmt = np.clip(x64, -1.0, 1.0).astype(np.float32), "flt"
        else:  # WAV data is then byte-identical to PCM_S16LE, and FLAC decodes to exactly those integers
            data, sample_fmt = float_to_s16(x).astype(np.int16), "s16"
        frame = av.AudioFrame.from_ndarray(data[None, :], format=sample_fmt, layout="mono")
        frame.sample_rate = self.sample_rate
        frame.time_base = self._time_base
        frame.pts = self.samples_in
        self.samples_in += x.size
        return self._mux(self._stream.encode(frame))

    def finish(self) -> list[EncodedPacket]:
        if self._finished:
            return []
        self._finished = True
        out = self._mux(self._stream.encode(None))
        self._container.close()
        self._held += self._sink.drain()  # a trailer (none of these muxers writes one when it cannot seek)
        rest = self.samples_in - self._end
        if rest and not self._held:
            raise RuntimeError(f"{self.format.name}: {rest} samples written but never encoded")
        if self._held and out and not rest:
            last = out.pop()
            out.append(EncodedPacket(last.data + self._held, last.start_sample, last.num_samples))
        elif self._held:  # the tail, or no audio at all: the file is then its header (FLAC, WAV) or empty
            out.append(EncodedPacket(self._held, self._end, rest))
        self._held = b""
        self._end = self.samples_in
        return out

    def _mux(self, packets: list[av.Packet]) -> list[EncodedPacket]:
        out: list[EncodedPacket] = []
        for packet in packets:
            # read the timing before muxing: the muxer may rescale the packet to its stream time base
            pts, duration = packet.pts, packet.duration
            if packet.time_base != self._time_base or pts is None or duration is None:
                raise RuntimeError(f"{self.format.name}: packet without sample timing ({packet})")
            if self.priming is None:
                self.priming = max(0, -pts)
            self._container.mux(packet)
            self._held += self._sink.drain()
            end = min(max(pts + duration, self._end), self.samples_in)
            if end > self._end and self._held:
                out.append(EncodedPacket(self._held, self._end, end - self._end))
                self._held = b""
                self._end = end
        return out
