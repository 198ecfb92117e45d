"""CPU cost of each output encoding and of the time stretch, per second of audio, at 24 kHz.

    .venv/bin/python -m benchmarks.encoders [--seconds 10] [--runs 7]

Each run encodes `--seconds` of a voice-like signal fed in 80 ms pieces (one codec frame of the model, the
size AudioStream hands an encoder at the default chunk duration), finish()/flush() included, on a fresh
encoder. Reported: CPU milliseconds (process time: every thread counts) per second of audio, median and min
over the runs, and the bytes produced per second. mu-law is a telephony encoding served at 8/16 kHz; it is
timed at 24 kHz here like the rest, so its cost per sample compares.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from collections.abc import Callable

import av
import numpy as np
import soundfile as sf

from server.audio.avmux import AAC, FLAC, MP3, WAV, AvEncoder
from server.audio.g711 import G711Encoder
from server.audio.opus import OggOpusEncoder
from server.audio.pcm import PcmS16Encoder
from server.audio.tempo import TimeStretch

RATE = 24_000
PIECE = 1_920  # 80 ms


def voice(seconds: float) -> np.ndarray:
    """Harmonics of a gliding pitch under a syllable envelope, plus a little noise (not a pure tone: codecs
    spend their effort on tones differently)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(RATE * seconds)) / RATE
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 1.3 * t)) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    x = 0.3 * x * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t)) / np.max(np.abs(x))
    return (x + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def _bytes(out) -> int:
    """Size of what an encode/finish call returned: bytes, or a list of pages/packets with `.data`."""
    return len(out) if isinstance(out, bytes) else sum(len(p.data) for p in out)


def encode_all(make: Callable[[], object], x: np.ndarray) -> int:
    enc = make()
    n = 0
    for k in range(0, x.size, PIECE):
        n += _bytes(enc.encode(x[k:k + PIECE]))
    return n + _bytes(enc.finish())


def stretch_all(speed: float, x: np.ndarray) -> int:
    ts = TimeStretch(speed, RATE)
    n = sum(ts.process(x[k:k + PIECE]).size for k in range(0, x.size, PIECE))
    return (n + ts.flush().size) * 4  # float32 output bytes


CASES: dict[str, Callable[[np.ndarray], int]] = {
    "PCM_S16LE": lambda x: encode_all(PcmS16Encoder, x),
    "MULAW": lambda x: encode_all(lambda: G711Encoder("mulaw", RATE), x),
    "OGG_OPUS": lambda x: encode_all(lambda: OggOpusEncoder(RATE, page_ms=80), x),
    "MP3": lambda x: encode_all(lambda: AvEncoder(MP3, RATE), x),
    "AAC": lambda x: encode_all(lambda: AvEncoder(AAC, RATE), x),
    "FLAC": lambda x: encode_all(lambda: AvEncoder(FLAC, RATE, block_samples=PIECE), x),
    "WAV": lambda x: encode_all(lambda: AvEncoder(WAV, RATE), x),
    "time stretch 1.25x": lambda x: stretch_all(1.25, x),
}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return platform.processor() or "unknown"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()} ({fields.get('CPU(s)', '?').strip()} CPUs)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="audio per run")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    x = voice(args.seconds)
    print(f"CPU: {cpu_model()}")
    print(f"PyAV {av.__version__} (libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}), "
          f"libsndfile {sf.__libsndfile_version__}; {args.seconds:g} s of audio at {RATE} Hz in 80 ms pieces, "
          f"{args.runs} runs")
    print(f"{'encoding':<20} {'median ms CPU/s':>16} {'min':>8} {'kB/s':>8}")
    for name, run in CASES.items():
        run(x[:PIECE * 4])  # warm-up: imports, codec tables
        costs, size = [], 0
        for _ in range(args.runs):
            t0 = time.process_time()
            size = run(x)
            costs.append((time.process_time() - t0) * 1000 / args.seconds)
        print(f"{name:<20} {statistics.median(costs):>16.3f} {min(costs):>8.3f} {size / args.seconds / 1000:>8.1f}")


if __name__ == "__main__":
    main()
