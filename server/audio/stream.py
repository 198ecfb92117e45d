"""One request's audio output: 24 kHz float32 frames in, encoded chunks (AudioChunk payloads) out.

    stream = AudioStream(resolve_format(enc, rate), chunk_ms)
    for frame in frames:                    # any lengths, e.g. 1920-sample codec frames
        for chunk in stream.push(frame):    # chunks complete now; may be []
            send(chunk)
    for chunk in stream.finish():           # the tail (resampler flush, last short chunk, encoder flush)
        send(chunk)

Raw encodings: resample -> Packetizer (exact chunk boundaries, see packetizer.py) -> encoder; one chunk per
packetizer chunk. OGG_OPUS: resample -> Opus encoder (page latency = chunk_ms) -> one chunk per Ogg audio page,
the first also carrying the header pages (see opus.py).

MP3, AAC, FLAC, WAV (ffmpeg through PyAV, see avmux.py): resample -> Packetizer -> encoder; one chunk per
packetizer chunk whose input completes some audio, holding the whole codec frames the muxer wrote for it (the
first chunk also carries the file header). `start_sample`/`num_samples` are the input audio those frames
complete (frame end in the input timeline, the codec's priming excluded), so a chunk's duration (but the
first's and the last's) is a whole number of codec frames near chunk_ms: MP3 576 (<= 24 kHz) or 1152 samples
per frame, AAC 1024 samples, both running ~2000-2300 samples behind the input (their encoder delay); FLAC
blocks of chunk_ms (capped at 4608 samples) and WAV exactly the packetizer's chunks. A packetizer chunk that
completes nothing sends no chunk; its bytes go out with the next one. `finish` sends what the encoder still
holds (its flush) as one last chunk.

In every case sequence numbers run 0, 1, 2, ... without gaps, `start_sample` is the previous chunk's
start_sample + num_samples, and the chunks' num_samples add up to the total output samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.formats import NATIVE_SAMPLE_RATE, AudioFormat, Encoding
from server.audio.avmux import AAC, FLAC, MP3, WAV, AvEncoder, EncodedPacket
from server.audio.g711 import G711Encoder
from server.audio.opus import OggOpusEncoder
from server.audio.packetizer import Packetizer
from server.audio.pcm import PcmF32Encoder, PcmS16Encoder
from server.audio.resample import StreamResampler


@dataclass(frozen=True)
class EncodedChunk:
    audio: bytes
    sequence_number: int
    start_sample: int  # at sample_rate
    num_samples: int  # audio samples this chunk accounts for, at sample_rate
    sample_rate: int

    @property
    def duration_ns(self) -> int:
        """num_samples / sample_rate in nanoseconds, rounded half up (exact for whole-ns durations)."""
        return (self.num_samples * 1_000_000_000 * 2 + self.sample_rate) // (2 * self.sample_rate)

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate


def _raw_encoder(fmt: AudioFormat):
    if fmt.encoding is Encoding.PCM_S16LE:
        return PcmS16Encoder()
    if fmt.encoding is Encoding.PCM_F32LE:
        return PcmF32Encoder()
    if fmt.encoding is Encoding.MULAW:
        return G711Encoder("mulaw", fmt.sample_rate)
    if fmt.encoding is Encoding.ALAW:
        return G711Encoder("alaw", fmt.sample_rate)
    raise ValueError(f"no raw encoder for {fmt.encoding!r}")


_AV_FORMATS = {Encoding.MP3: MP3, Encoding.AAC: AAC, Encoding.FLAC: FLAC, Encoding.WAV: WAV}


class AudioStream:
    def __init__(self, fmt: AudioFormat, chunk_ms: int, input_rate: int = NATIVE_SAMPLE_RATE) -> None:
        if fmt.encoding is Encoding.UNSPECIFIED:
            raise ValueError("resolve the format first (resolve_format)")
        self.format = fmt
        self.chunk_ms = chunk_ms
        self._resampler = StreamResampler(fmt.sample_rate, in_rate=input_rate)
        self._opus = OggOpusEncoder(fmt.sample_rate, page_ms=chunk_ms) if fmt.encoding is Encoding.OGG_OPUS else None
        self._packetizer = None if self._opus else Packetizer(fmt.sample_rate, chunk_ms)
        av_format = _AV_FORMATS.get(fmt.encoding)
        self._av = (AvEncoder(av_format, fmt.sample_rate, block_samples=chunk_ms * fmt.sample_rate // 1000)
                    if av_format else None)
        self._encoder = None if self._opus or self._av else _raw_encoder(fmt)
        self._next_seq = 0
        self.samples_out = 0  # samples accounted for by the chunks returned so far
        self._finished = False

    @property
    def chunks_out(self) -> int:
        return self._next_seq

    @property
    def audio_seconds(self) -> float:
        return self.samples_out / self.format.sample_rate

    def push(self, pcm: np.ndarray) -> list[EncodedChunk]:
        if self._finished:
            raise RuntimeError("push() after finish()")
        return self._encode(self._resampler.process(pcm), last=False)

    def finish(self) -> list[EncodedChunk]:
        if self._finished:
            return []
        self._finished = True
        return self._encode(self._resampler.flush(), last=True)

    def _encode(self, pcm: np.ndarray, last: bool) -> list[EncodedChunk]:
        if self._opus is not None:
            pages = self._opus.encode(pcm)
            if last:
                pages += self._opus.finish()
            return [self._emit(p.data, p.start_sample, p.num_samples) for p in pages]
        assert self._packetizer is not None
        chunks = self._packetizer.push(pcm)
        if last:
            chunks += self._packetizer.flush()
        if self._av is not None:
            groups = [self._av.encode(c.samples) for c in chunks]
            if last:
                groups.append(self._av.finish())
            return [self._emit_packets(g) for g in groups if g]
        assert self._encoder is not None
        out = [self._emit(self._encoder.encode(c.samples), c.start_sample, c.num_samples) for c in chunks]
        if last:
            tail = self._encoder.finish()
            if tail:  # no raw encoder has a trailer today; keep the bytes if one ever does
                out.append(self._emit(tail, self.samples_out, 0))
        return out

    def _emit_packets(self, packets: list[EncodedPacket]) -> EncodedChunk:
        return self._emit(b"".join(p.data for p in packets), packets[0].start_sample,
                          sum(p.num_samples for p in packets))

    def _emit(self, data: bytes, start: int, n: int) -> EncodedChunk:
        if start != self.samples_out:
            raise RuntimeError(f"chunk starts at {start}, expected {self.samples_out}")
        chunk = EncodedChunk(data, self._next_seq, start, n, self.format.sample_rate)
        self._next_seq += 1
        self.samples_out += n
        return chunk
