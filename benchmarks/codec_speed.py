"""Codec decoder speed at the real 12 Hz dimensions (random weights, float32): our stateful step vs the official
whole-utterance decode, plus their max difference on the same weights.

    .venv/bin/python -m benchmarks.codec_speed [--frames 100] [--threads 2] [--repeats 3] [--no-oracle]

Reported: seconds of compute per second of audio (one frame = 80 ms). Ours steps T=1 frame at a time (the
streaming path; the offline `decode` is the same loop), at batch 1 and batch 4 (per stream). The oracle runs
`Qwen3TTSTokenizerV2Decoder.chunked_decode` over the whole utterance (what `model.decode` runs; one forward
for <= 300 frames). Timings on shared CPUs swing a lot: runs alternate and min/median over repeats are shown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from tts.checkpoint.config import CodecConfig
from tts.codec import CodecDecoder

FRAME_S = 0.08


def oracle_decoder(raw_config: dict, ours: CodecDecoder) -> nn.Module:
    from tests.oracle import import_qwen_tts

    import_qwen_tts()
    from qwen_tts.core.tokenizer_12hz.configuration_qwen3_tts_tokenizer_v2 import (
        Qwen3TTSTokenizerV2DecoderConfig,
    )
    from qwen_tts.core.tokenizer_12hz.modeling_qwen3_tts_tokenizer_v2 import Qwen3TTSTokenizerV2Decoder

    cfg = Qwen3TTSTokenizerV2DecoderConfig(**raw_config["decoder_config"])
    cfg._attn_implementation = "sdpa"
    dec = Qwen3TTSTokenizerV2Decoder(cfg).eval()
    missing, unexpected = dec.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and all("input_proj" in k for k in missing), (missing, unexpected)
    return dec


def time_steps(dec: CodecDecoder, codes: torch.Tensor) -> tuple[list[float], torch.Tensor]:
    """codes [B, frames, Q]: step T=1 through all frames on a fresh state; per-step wall times and the PCM."""
    state = dec.new_state(codes.shape[0])
    times, pcm = [], []
    with torch.no_grad():
        for t in range(codes.shape[1]):
            t0 = time.perf_counter()
            pcm.append(dec.step(codes[:, t : t + 1], state))
            times.append(time.perf_counter() - t0)
    return times, torch.cat(pcm, dim=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-oracle", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    codec_dir = ensure_checkpoint(args.checkpoint) / "speech_tokenizer"
    raw = json.loads((codec_dir / "config.json").read_text())
    config = CodecConfig.parse(raw, str(codec_dir))
    ours = CodecDecoder.from_checkpoint(codec_dir, config)
    oracle = None if args.no_oracle else oracle_decoder(raw, ours)
    n = args.frames
    codes = torch.randint(0, config.codebook_size, (4, n, config.num_quantizers))
    print(f"real dims from {codec_dir}, {sum(p.numel() for p in ours.parameters()) / 1e6:.1f} M decoder params, "
          f"float32, {args.threads} threads, {n} frames ({n * FRAME_S:.1f} s audio)")

    with torch.no_grad():  # warm-up (oneDNN primitive creation, allocator)
        time_steps(ours, codes[:1, :3])
        time_steps(ours, codes[:, :3])
        if oracle is not None:
            oracle.chunked_decode(codes[0, :3].T[None])

    b1, b4, orc, first_last = [], [], [], []
    for _ in range(args.repeats):
        times, pcm1 = time_steps(ours, codes[:1])
        b1.append(statistics.median(times) / FRAME_S)
        q = max(1, n // 4)
        first_last.append((statistics.median(times[:q]) * 1e3, statistics.median(times[-q:]) * 1e3))
        times4, pcm4 = time_steps(ours, codes)
        b4.append(statistics.median(times4) / FRAME_S / 4)
        if oracle is not None:
            with torch.no_grad():
                t0 = time.perf_counter()
                ref = oracle.chunked_decode(codes[0].T[None])[0, 0]
                orc.append((time.perf_counter() - t0) / (n * FRAME_S))

    def show(name: str, xs: list[float]) -> None:
        print(f"  {name:52s} min {min(xs):.3f}  median {statistics.median(xs):.3f}  s per audio-second")

    print("decode time per second of audio:")
    show("ours, step T=1, batch 1", b1)
    show("ours, step T=1, batch 4 (per stream)", b4)
    if oracle is not None:
        show(f"official decode, whole utterance ({n} frames)", orc)
    print("per-step ms at batch 1, first vs last quarter of the utterance (constant cost): "
          + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in first_last))
    batch_diff = (pcm4[0] - pcm1[0]).abs().max().item()
    print(f"max |batch-4 slot 0 - batch-1| = {batch_diff:.3g}")
    if oracle is not None:
        print(f"max |ours - official| = {(pcm1[0] - ref).abs().max().item():.3g} "
              f"(output rms {ref.pow(2).mean().sqrt().item():.3f})")


if __name__ == "__main__":
    main()
