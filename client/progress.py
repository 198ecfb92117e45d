"""The CLI's progress line on stderr: seconds of audio received and the real-time factor, redrawn in place.

Redrawn at most every `interval` seconds: a 20 ms chunk size would otherwise write 50 lines a second.
"""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO, enabled: bool, interval: float = 0.1) -> None:
        self.stream, self.enabled, self.interval = stream, enabled, interval
        self.start = time.monotonic()
        self._drawn_at = 0.0
        self._width = 0

    def restart(self) -> None:
        """Measure from now (e.g. once the request was accepted: model loading is not synthesis time)."""
        self.start = time.monotonic()

    def update(self, audio_seconds: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < self.interval:
            return
        self._drawn_at = now
        self._draw(f"{audio_seconds:7.2f} s of audio received, {rtf_text(now - self.start, audio_seconds)}")

    def clear(self) -> None:
        if self.enabled and self._width:
            self._draw("")

    def _draw(self, line: str) -> None:
        # Pad over the previous line: a shorter line must not leave old characters behind.
        self.stream.write("\r" + line.ljust(self._width))
        if not line:
            self.stream.write("\r")
        self._width = len(line)
        self.stream.flush()


def rtf_text(elapsed: float, audio_seconds: float) -> str:
    """"real-time factor 0.42" (wall time per second of audio; below 1 is faster than real time)."""
    if audio_seconds <= 0:
        return "real-time factor -"
    return f"real-time factor {elapsed / audio_seconds:.2f}"
