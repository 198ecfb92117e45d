"""Batch-1 speed of our engine vs the official package on the same real-0.6B-dimension random checkpoint.

    .venv/bin/python -m benchmarks.engine_speed [--threads 2] [--frames 25] [--checkpoint DIR] [--no-oracle]

Both run float32 on CPU with EOS disabled (random weights would stop at random points), sampling on, one
request. Method (the same as docs/benchmarks.md's oracle baseline): per-frame time = (t(N+1 frames) - t(1
frame)) / N, so prefill and warm-up cancel; time to first frame = t(1 frame). For the oracle that is
`model.generate` (talker + code predictor, no codec) with EOS banned through the talker's generation config;
for us the same work is the engine's prefill + decode steps, timed without the codec, which is timed
separately (seconds of decode per second of audio, ours streaming frame by frame vs the official decode).
Timings on shared 2-vCPU machines are noisy: compare the ratios printed by one run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from contract.request import SynthesisRequest
from tools.make_checkpoint import make_checkpoint
from tts.engine.engine import Engine
from tts.engine.loader import load_engine

DEFAULT_CKPT = Path(".cache/checkpoints/real-0.6b-cv")
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs far away into the forest."
SPEAKER, LANGUAGE = "ryan", "english"
FRAME_S = 0.08
# Bandwidth floor inputs: fp32 bytes that one batch-1 frame must stream (talker layers + head, 15 predictor
# passes of its 5 layers + one lm_head each): docs/benchmarks.md derives them from the checkpoint shapes.


def ensure_checkpoint(path: Path) -> Path:
    if not (path / "speech_tokenizer" / "model.safetensors").is_file():
        print(f"building the real-0.6b-cv random checkpoint in {path} (~4.3 GB, once)", flush=True)
        make_checkpoint("real-0.6b-cv", path, seed=0)
    return path


def frame_bytes(engine: Engine) -> int:
    talker = engine.model.talker
    layer_params = sum(p.numel() for p in talker.model.layers.parameters()) + talker.codec_head.weight.numel()
    cp = talker.code_predictor
    cp_pass = sum(p.numel() for p in cp.model.layers.parameters()) + cp.lm_head[0].weight.numel()
    per = talker.codec_head.weight.element_size()
    return (layer_params + (cp.num_code_groups - 1) * cp_pass) * per


def time_ours(engine: Engine, frames: int) -> dict:
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # benchmark only: never stop early
    seconds = engine.runner.seconds

    def run(n: int) -> tuple[float, float]:
        """(talker + predictor seconds, codec seconds) for an n-frame utterance."""
        before = dict(seconds)
        engine.synthesize(SynthesisRequest(text=TEXT, voice=SPEAKER, language=LANGUAGE, seed=0, max_audio_duration_ms=n * 80))
        spent = {k: seconds[k] - before[k] for k in seconds}
        return spent["prefill"] + spent["decode"], spent["codec"]

    run(2)  # warm-up (allocations, first-call overheads)
    t1, _ = run(1)
    tn, codec = run(frames + 1)
    return {"s_per_frame": (tn - t1) / frames, "first_frame_s": t1,
            "codec_s_per_audio_s": codec / ((frames + 1) * FRAME_S)}


def time_oracle(path: Path, frames: int, dtype: str) -> dict:
    from tests.oracle import load_oracle

    oracle = load_oracle(path, dtype=getattr(torch, dtype), attn_implementation="sdpa")
    model = oracle.model
    model.talker.generation_config.bad_words_ids = [[model.config.talker_config.codec_eos_token_id]]
    inputs = dict(input_ids=oracle._tokenize_texts([oracle._build_assistant_text(TEXT)]), instruct_ids=[None],
                  languages=[LANGUAGE], speakers=[SPEAKER], non_streaming_mode=True)

    def run(new_tokens: int) -> tuple[float, torch.Tensor]:
        torch.manual_seed(0)
        kwargs = oracle._merge_generate_kwargs(max_new_tokens=new_tokens)
        t0 = time.perf_counter()
        codes, _ = model.generate(**inputs, **kwargs)
        return time.perf_counter() - t0, codes[0]

    run(2)
    t2, _ = run(2)
    tn, codes = run(frames + 2)
    t0 = time.perf_counter()
    model.speech_tokenizer.model.float()  # the codec in float32 for both (bf16 convs are pathological on CPU)
    model.speech_tokenizer.decode([{"audio_codes": codes}])
    codec = time.perf_counter() - t0
    return {"s_per_frame": (tn - t2) / frames, "first_frame_s": t2, "codec_s_per_audio_s": codec / (len(codes) * FRAME_S)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=25)
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="talker dtype (both)")
    p.add_argument("--compile", action="store_true", help="torch.compile our decode step first")
    p.add_argument("--no-oracle", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = ensure_checkpoint(args.checkpoint)
    engine = load_engine(str(path), slots=1, max_context=512, dtype=args.dtype)
    if args.compile:
        t0 = time.perf_counter()
        engine.runner.compile()
        engine.synthesize(SynthesisRequest(text=TEXT, voice=SPEAKER, language=LANGUAGE, seed=0, max_audio_duration_ms=2 * 80))
        print(f"compiled the decode step in {time.perf_counter() - t0:.0f} s", flush=True)
    ours = time_ours(engine, args.frames)
    floor_gb = frame_bytes(engine) / 1e9
    del engine
    rows = {"ours": ours}
    if not args.no_oracle:
        rows["oracle"] = time_oracle(path, args.frames, args.dtype)
    mode = "compiled" if args.compile else "eager"
    print(f"\nreal-0.6B dims, {args.dtype} talker ({mode}), float32 codec, {args.threads} threads, batch 1, {args.frames} frames, EOS banned "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')})")
    print("| engine | s/frame | frames/s | first frame (s) | codec s per audio-s |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['s_per_frame']:.3f} | {1 / r['s_per_frame']:.2f} | {r['first_frame_s']:.2f} | "
              f"{r['codec_s_per_audio_s']:.2f} |")
    if "oracle" in rows:
        print(f"speed-up (frames/s ours / oracle): {rows['oracle']['s_per_frame'] / ours['s_per_frame']:.2f}x")
    print(f"weights streamed per frame: {floor_gb:.2f} GB -> {ours['s_per_frame'] and floor_gb / ours['s_per_frame']:.1f} "
          f"GB/s effective")
    print(json.dumps({k: {m: round(v, 4) for m, v in r.items()} for k, r in rows.items()}))


if __name__ == "__main__":
    main()
