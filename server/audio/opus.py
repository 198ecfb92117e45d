"""Ogg Opus stream encoder: libopus + libogg inside soundfile's bundled libsndfile, cut at Ogg page boundaries.

How it works. libsndfile (soundfile 0.14.0 bundles libsndfile 1.2.2 with libopus/libogg) writes an Ogg Opus
file into an append-only in-memory sink; every byte it writes belongs to a whole page, so after each write the
new bytes are parsed into pages and each audio page becomes one `OpusPage`. Concatenating all pages is a valid
Ogg Opus file (RFC 7845): OpusHead and OpusTags pages first, the last page flagged end-of-stream, and its granule
position trimming the padding so a decoder returns exactly the samples written.

Page timing (libsndfile 1.2.2). Opus packets are 20 ms. The page latency is set to `page_ms`
(SFC_SET_OGG_PAGE_LATENCY_MS; libsndfile clamps it to >= 50 ms): a page closes when it holds
n = max(3, ceil(page_ms / 20)) packets, i.e. 60 ms for page_ms <= 60, else page_ms rounded up to 20 ms. The first
audio page holds n - 1 packets and, after the 6.5 ms encoder pre-skip, n * 20 - 26.5 ms of decoded audio; the
last page holds what remains. A page is written when the packet after it is encoded, and a packet is encoded
when the first sample after it arrives, so a page covering audio up to time t appears once input reaches
t + 20 ms plus one sample (plus the 6.5 ms pre-skip in the decoded timeline).

Sample accounting. Ogg Opus granule positions count 48 kHz samples including the pre-skip. For an audio page
with granule g the decoded audio at the output rate r ends at (g - pre_skip) * r / 48000 (an exact integer:
packets are 20 ms); a page covers from the previous page's end to its own end. So `start_sample` and
`num_samples` describe the decoded audio whose last packets complete on that page, and the pages' sample counts
add up to exactly the number of samples written.

Rates: 8000, 12000, 16000, 24000, 48000 Hz only (libopus). Bitrate: libopus' automatic choice (libsndfile's
default; VBR, complexity 10, application AUDIO): measured about 24 / 32 / 40 / 64 kbit/s including Ogg framing
at 8 / 16 / 24 / 48 kHz mono.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from server.audio.sink import ByteSink

OPUS_SAMPLE_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)
OPUS_PACKET_MS = 20  # libsndfile's fixed Opus frame size
_SFC_SET_OGG_PAGE_LATENCY_MS = 0x1302  # sndfile.h; argument: double, milliseconds (clamped to 50..1600)
_GRANULE_RATE = 48_000


@dataclass(frozen=True)
class OggPage:
    data: bytes  # the whole page: 27-byte header, segment table, body
    granule_position: int
    header_type: int  # 0x02 = beginning of stream, 0x04 = end of stream
    sequence: int


@dataclass(frozen=True)
class OpusPage:
    """One Ogg audio page (the first one prefixed with the two header pages) and the audio it completes."""

    data: bytes
    start_sample: int  # at the encoder's sample rate, in the decoded (pre-skip removed) timeline
    num_samples: int
    end_of_stream: bool


def parse_ogg_pages(data: bytes) -> tuple[list[OggPage], int]:
    """Split `data` into whole Ogg pages; returns (pages, bytes consumed). A trailing partial page is left."""
    pages: list[OggPage] = []
    pos = 0
    while len(data) - pos >= 27:
        if data[pos:pos + 4] != b"OggS":
            raise ValueError(f"no Ogg capture pattern at byte {pos}")
        n_segments = data[pos + 26]
        header_len = 27 + n_segments
        if len(data) - pos < header_len:
            break
        body_len = sum(data[pos + 27:pos + header_len])
        if len(data) - pos < header_len + body_len:
            break
        (granule,) = struct.unpack_from("<q", data, pos + 6)
        (seq,) = struct.unpack_from("<I", data, pos + 18)
        pages.append(OggPage(bytes(data[pos:pos + header_len + body_len]), granule, data[pos + 5], seq))
        pos += header_len + body_len
    return pages, pos


def page_duration_ms(page_ms: int) -> int:
    """Audio per (non-first, non-last) page for a requested page latency: max(3, ceil(page_ms / 20)) * 20."""
    return max(3, math.ceil(max(page_ms, 50) / OPUS_PACKET_MS)) * OPUS_PACKET_MS


class OggOpusEncoder:
    """`encode(pcm)` -> the audio pages completed so far; `finish()` -> the remaining pages (last one EOS)."""

    def __init__(self, sample_rate: int, page_ms: int = 60) -> None:
        if sample_rate not in OPUS_SAMPLE_RATES:
            raise ValueError(f"Opus needs one of {OPUS_SAMPLE_RATES} Hz, got {sample_rate}")
        self.sample_rate = sample_rate
        self.page_ms = page_ms
        self._sink = ByteSink()
        self._file = sf.SoundFile(self._sink, "w", samplerate=sample_rate, channels=1, format="OGG",
                                  subtype="OPUS")
        latency = sf._ffi.new("double *", float(page_ms))
        sf._snd.sf_command(self._file._file, _SFC_SET_OGG_PAGE_LATENCY_MS, latency, sf._ffi.sizeof("double"))
        self._raw = bytearray()  # written bytes not yet parsed into pages
        self._headers = b""  # OpusHead + OpusTags pages, held until the first audio page
        self._in_headers = True
        self._pre_skip: int | None = None  # 48 kHz samples, from OpusHead
        self._end = 0  # decoded samples covered by the pages returned so far
        self._finished = False

    @property
    def pre_skip_48k(self) -> int | None:
        return self._pre_skip

    def encode(self, pcm: np.ndarray) -> list[OpusPage]:
        if self._finished:
            raise RuntimeError("encode() after finish()")
        x = np.asarray(pcm, dtype=np.float64)
        x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0).astype(np.float32)
        if x.size:
            self._file.write(x)
        return self._collect()

    def finish(self) -> list[OpusPage]:
        if self._finished:
            return []
        self._finished = True
        self._file.close()  # encodes the buffered samples and writes the end-of-stream page
        pages = self._collect()
        if self._raw:
            raise RuntimeError(f"{len(self._raw)} trailing bytes are not a whole Ogg page")
        if self._headers:  # no audio was ever written: the stream is just the two header pages
            pages.append(OpusPage(self._headers, 0, 0, True))
            self._headers = b""
        return pages

    def _collect(self) -> list[OpusPage]:
        self._raw += self._sink.drain()
        pages, used = parse_ogg_pages(bytes(self._raw))
        del self._raw[:used]
        out: list[OpusPage] = []
        for page in pages:
            # OpusHead (BOS page), then the OpusTags packet (pages with granule 0, or -1 while it continues);
            # audio pages have a positive granule position (RFC 7845 section 3).
            if self._in_headers and page.granule_position <= 0:
                if page.header_type & 0x02:
                    self._pre_skip = _opus_head_pre_skip(page.data)
                self._headers += page.data
                continue
            self._in_headers = False
            assert self._pre_skip is not None
            factor = _GRANULE_RATE // self.sample_rate
            end = max(0, page.granule_position - self._pre_skip) // factor
            out.append(OpusPage(self._headers + page.data, self._end, end - self._end,
                                bool(page.header_type & 0x04)))
            self._headers = b""
            self._end = end
        return out


def _opus_head_pre_skip(page: bytes) -> int:
    body = page[27 + page[26]:]
    if body[:8] != b"OpusHead":
        raise ValueError("first Ogg page is not an OpusHead")
    (pre_skip,) = struct.unpack_from("<H", body, 10)
    return pre_skip
