"""Fields of Linux's /proc/cpuinfo (the first processor's), read once; torch-free, so it can run before MKL's
first call (tts/mkl_reproducibility.py)."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def _fields() -> dict[str, str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block ends here
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def field(name: str) -> str:
    """`name`'s value ("flags", "vendor_id", "model name", ...), or "" where there is none."""
    return _fields().get(name, "")
