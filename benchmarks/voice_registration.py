"""Cost of registering a cloned voice at the real 0.6B-Base dimensions (random weights): reference decode +
resample, x-vector (ECAPA-TDNN, 8.85 M parameters) and reference codes (Mimi encoder, ~56 M parameters).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.voice_registration [--threads 2] [--seconds 5 10 30]

Builds `real-0.6b-base` into .cache/checkpoints/ on first use (~4.3 GB). Reported per reference length: wall
seconds of each stage and of the whole registration, and seconds per second of reference (min over repeats).
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from tools.make_checkpoint import make_checkpoint
from tts.checkpoint.config import ModelConfig
from tts.checkpoint.loading import parse_dtype
from tts.voices.clone import VoiceEncoders
from tts.voices.reference_audio import load_reference

DEFAULT_CKPT = Path(".cache/checkpoints/real-0.6b-base")


def ensure_checkpoint(path: Path) -> Path:
    if not (path / "speech_tokenizer" / "model.safetensors").is_file():
        print(f"building the real-0.6b-base random checkpoint in {path} (~4.3 GB, once)", flush=True)
        make_checkpoint("real-0.6b-base", path, seed=0)
    return path


def reference_bytes(seconds: float, sample_rate: int = 44100) -> bytes:
    """A stereo 16-bit WAV of a voice-like signal: what a user would typically upload."""
    rng = np.random.default_rng(0)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    x = sum(np.sin(2 * np.pi * 140 * (k + 1) * t + rng.uniform(0, 6)) / (k + 1) for k in range(8))
    x = 0.4 * x / np.abs(x).max() * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    wav = np.stack([x, x + 0.01 * rng.standard_normal(t.size)], axis=1)
    buf = io.BytesIO()
    sf.write(buf, wav.astype(np.float32), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--seconds", type=float, nargs="+", default=[5.0, 10.0, 30.0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = ensure_checkpoint(args.checkpoint)
    t0 = time.perf_counter()
    encoders = VoiceEncoders.from_checkpoint(path, ModelConfig.load(path), parse_dtype(args.dtype))
    print(f"loaded both encoders in {time.perf_counter() - t0:.1f} s ({args.dtype}, {args.threads} threads)")
    encoders.extract(load_reference(reference_bytes(2.0)).samples, with_codes=True)  # warm-up
    print(f"{'ref s':>6} {'load+resample':>14} {'x-vector':>9} {'codes':>7} {'total':>7} {'s per ref s':>12}")
    for seconds in args.seconds:
        data = reference_bytes(seconds)
        best = None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ref = load_reference(data)
            t1 = time.perf_counter()
            encoders.speaker.embed(ref.samples)
            t2 = time.perf_counter()
            encoders.codec.encode(ref.samples)
            t3 = time.perf_counter()
            run = (t1 - t0, t2 - t1, t3 - t2, t3 - t0)
            best = run if best is None or run[3] < best[3] else best
        load, xvec, codes, total = best
        print(f"{seconds:6.1f} {load:14.3f} {xvec:9.3f} {codes:7.3f} {total:7.3f} {total / seconds:12.4f}")


if __name__ == "__main__":
    main()
