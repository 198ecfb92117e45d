"""Streamed audio -> a file named by its extension: .wav/.flac (soundfile), .ogg/.opus (Ogg Opus), .mp3, .aac,
.raw/.pcm.

    encoding = encoding_for(path)               # what to ask the server for, e.g. pcm_s16le for .wav
    with AudioFileWriter(path, started.audio_format) as out:
        for chunk in synthesis:
            out.write(chunk.audio)               # committed on a clean exit, discarded on an exception

WAV and FLAC are written through libsndfile from PCM_S16LE (16-bit) or, for WAV, PCM_F32LE (32-bit float: at
24 kHz the model's own samples): the file then carries its exact length, which the server's streamed WAV and
FLAC cannot (they are written before the length is known), so `encoding_for` asks for PCM. The streamed WAV and
FLAC encodings are accepted too and stored as they come. Ogg Opus, MP3 and AAC (ADTS) chunks already form one
valid file and are concatenated as they are. Raw files hold the received bytes of any raw encoding.

The audio goes to a hidden temporary file next to the target and is renamed into place only when the stream
completed: an incomplete stream must not look like a finished file (the API contract says to discard it).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from client.encoding import Encoding
from client.messages import AudioFormat

_CONTAINERS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".opus": "OGG", ".mp3": "MP3", ".aac": "AAC",
               ".raw": "RAW", ".pcm": "RAW"}
# What each container can take, and the libsndfile subtype of the PCM ones (None: the bytes as they come).
_ACCEPTS = {
    "WAV": {Encoding.PCM_S16LE: "PCM_16", Encoding.PCM_F32LE: "FLOAT", Encoding.WAV: None},
    "FLAC": {Encoding.PCM_S16LE: "PCM_16", Encoding.FLAC: None},  # FLAC stores integers only
    "OGG": {Encoding.OGG_OPUS: None},
    "MP3": {Encoding.MP3: None},
    "AAC": {Encoding.AAC: None},
    "RAW": {Encoding.PCM_S16LE: None, Encoding.PCM_F32LE: None, Encoding.MULAW: None, Encoding.ALAW: None},
}


def container_for(path: str | Path) -> str:
    """"WAV" | "FLAC" | "OGG" | "RAW" from the file extension; ValueError for another extension."""
    ext = Path(path).suffix.lower()
    if ext not in _CONTAINERS:
        raise ValueError(f"cannot tell the audio format of {str(path)!r}: use one of {', '.join(_CONTAINERS)}")
    return _CONTAINERS[ext]


def encoding_for(path: str | Path, float32: bool = False) -> Encoding:
    """The encoding to request for a file: Opus for .ogg/.opus, MP3 for .mp3, AAC for .aac, else PCM (32-bit
    float if `float32`)."""
    container = container_for(path)
    compressed = {"OGG": Encoding.OGG_OPUS, "MP3": Encoding.MP3, "AAC": Encoding.AAC}
    if container in compressed:
        if float32:
            raise ValueError(f"float samples cannot be stored in a {Path(path).suffix} file")
        return compressed[container]
    if float32 and container == "FLAC":
        raise ValueError("FLAC cannot store float samples; write a .wav file for float32")
    return Encoding.PCM_F32LE if float32 else Encoding.PCM_S16LE


class AudioFileWriter:
    def __init__(self, path: str | Path, fmt: AudioFormat) -> None:
        self.path = Path(path)
        self.format = fmt
        self.container = container_for(path)
        if fmt.encoding not in _ACCEPTS[self.container]:
            raise ValueError(f"{fmt.encoding} audio cannot be written to a {self.path.suffix} file")
        self._subtype = _ACCEPTS[self.container][fmt.encoding]
        self._tmp = self.path.with_name(f".{self.path.name}.part")
        self._sound = self._file = None
        if self._subtype is not None:
            import soundfile  # only PCM containers need libsndfile

            self._sound = soundfile.SoundFile(self._tmp, "w", samplerate=fmt.sample_rate, channels=1,
                                              subtype=self._subtype, format=self.container)
        else:
            self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit()/discard()
        self.bytes_written = 0

    def write(self, audio: bytes) -> None:
        if self._sound is not None:
            import numpy as np

            self._sound.write(np.frombuffer(audio, self.format.encoding.numpy_dtype))
        else:
            self._file.write(audio)
        self.bytes_written += len(audio)

    def commit(self) -> Path:
        """Finish the file and move it into place."""
        self._close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        self._close()
        self._tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._sound is not None:
            self._sound.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> AudioFileWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
