"""Audio output of the server: format table, resampling, packetizing and encoding (one concept per module).

- formats.py     encodings, sample rates, defaults, chunk bounds; request validation helpers
- resample.py    streaming 24 kHz -> output rate (soxr.ResampleStream)
- packetizer.py  exact-duration chunks with sequence numbers and start samples
- pcm.py         PCM_S16LE / PCM_F32LE
- g711.py        MULAW / ALAW (libsndfile)
- opus.py        OGG_OPUS, one Ogg page per chunk (libsndfile + libopus)
- avmux.py       MP3, AAC (ADTS), FLAC, WAV as streams (ffmpeg's encoders and muxers via PyAV)
- tempo.py       TimeStretch: pitch-preserving speed change (ffmpeg's atempo via PyAV)
- sink.py        the in-memory file libsndfile writes into
- stream.py      AudioStream: frames in, encoded chunks out (the pipeline a request uses)
"""

from contract.formats import (
    ALL_SAMPLE_RATES,
    DEFAULT_FORMAT,
    MAX_CHUNK_MS,
    MIN_CHUNK_MS,
    NATIVE_SAMPLE_RATE,
    AudioFormat,
    Encoding,
    EncodingSpec,
    FormatError,
    is_supported,
    resolve_chunk_ms,
    resolve_format,
    supported_formats,
)
from server.audio.packetizer import Chunk, Packetizer
from server.audio.resample import StreamResampler
from server.audio.stream import AudioStream, EncodedChunk

__all__ = [
    "ALL_SAMPLE_RATES", "DEFAULT_FORMAT", "MAX_CHUNK_MS", "MIN_CHUNK_MS", "NATIVE_SAMPLE_RATE",
    "AudioStream", "Chunk", "EncodedChunk", "Encoding", "EncodingSpec", "FormatError", "AudioFormat",
    "Packetizer", "StreamResampler", "is_supported", "resolve_chunk_ms", "resolve_format", "supported_formats",
]
