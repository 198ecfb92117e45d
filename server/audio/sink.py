"""An append-only in-memory file for libsndfile's virtual I/O (soundfile writes into it; we drain the bytes).

libsndfile only appends when writing raw and Ogg streams (it seeks to the end and back to 0 at open, before any
byte exists); a write anywhere but the end would mean a format that rewrites its header, which a stream cannot
do, so it raises.
"""

from __future__ import annotations

import io


class ByteSink:
    """File-like object for `soundfile.SoundFile(sink, "w", ...)`; `drain()` takes the bytes written so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._drained = 0  # bytes handed out by drain() before _buf[0]
        self._pos = 0  # absolute write position

    def write(self, data: bytes) -> int:
        if self._pos != self._drained + len(self._buf):
            raise io.UnsupportedOperation(f"non-append write at offset {self._pos}")
        self._buf += data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        end = self._drained + len(self._buf)
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset, io.SEEK_END: end + offset}[whence]
        if not 0 <= target <= end:
            raise io.UnsupportedOperation(f"seek to {target} outside [0, {end}]")
        self._pos = target
        return target

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:  # never needed for writing; present for libsndfile's probes
        return b""

    def drain(self) -> bytes:
        out = bytes(self._buf)
        self._drained += len(self._buf)
        self._buf.clear()
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)
