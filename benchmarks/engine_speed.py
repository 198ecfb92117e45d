"""Batch-1 speed of our engine vs the official package on the same real-0.6B-dimension random checkpoint.

    .venv/bin/python -m benchmarks.engine_speed [--threads 2] [--frames 25] [--checkpoint DIR] [--no-oracle]
        [--quantization none|int8|auto] [--slots N] [--codec-batched]

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
import statistics
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


def _bytes(module: torch.nn.Module) -> int:
    """Stored bytes of the weights a decode step reads (parameters and buffers: int8 linears keep theirs as
    buffers; their bfloat16 prompt copies, read only by prompt chunks, are left out, and so is the int8 weight
    of a layer whose step reads its packed words instead: the same bytes)."""
    unread = {f"{name}.weight".lstrip(".") for name, m in module.named_modules()
              if getattr(m, "packed", None) is not None}
    return sum(t.numel() * t.element_size() for name, t in (*module.named_parameters(), *module.named_buffers())
               if not name.endswith("prompt_weight") and name not in unread)


def frame_bytes(engine: Engine) -> tuple[int, int]:
    """Weight bytes one batch-1 frame streams: (talker layers + codec head, 15 predictor passes of its layers
    plus one lm_head each), in whatever precision each component is stored."""
    talker = engine.model.talker
    cp = talker.code_predictor
    talker_bytes = _bytes(talker.model.layers) + _bytes(talker.codec_head)
    cp_pass = _bytes(cp.model.layers) + _bytes(cp.lm_head[0])
    return talker_bytes, (cp.num_code_groups - 1) * cp_pass


def measure_bandwidth() -> float:
    """GB/s of a 1 GB float32 sum (what docs/benchmarks.md calls the measured bandwidth), median of 5."""
    x = torch.ones(256 * 1024 * 1024)
    x.sum()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        x.sum()
        times.append(time.perf_counter() - t0)
    return x.numel() * 4 / statistics.median(times) / 1e9


def cpu_model() -> str:
    from tts.cpuinfo import field
    from tts.model.cpu_isa import detect

    name = field("model name") or "unknown CPU"

    capped = [f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
              if k in os.environ]  # an instruction-set cap (the AVX2 path measured on a wider CPU) is part of the figure
    return f"{name}, {os.cpu_count()} vCPU, {detect().describe()}" + (f" (capped: {', '.join(capped)})" if capped else "")


def time_ours(engine: Engine, frames: int) -> dict:
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # benchmark only: never stop early
    seconds = engine.runner.seconds

    def run(n: int) -> tuple[float, float]:
        """(talker + predictor seconds, codec seconds) for an n-frame utterance."""
        before = dict(seconds)
        engine.synthesize(SynthesisRequest(text=TEXT, voice=SPEAKER, language=LANGUAGE, seed=0, max_audio_duration_ms=n * 80))
        spent = {k: seconds[k] - before[k] for k in seconds}
        return spent["prefill"] + spent["decode"], spent["codec"]

    def first_audio() -> dict:
        """A 1-frame request, split: prefill (prompt + first code 0), the first decode step, the first codec step,
        and the whole call (submit -> first PCM, tokenizing and prompt building included)."""
        before = dict(seconds)
        t0 = time.perf_counter()
        engine.synthesize(SynthesisRequest(text=TEXT, voice=SPEAKER, language=LANGUAGE, seed=0, max_audio_duration_ms=80))
        total = time.perf_counter() - t0
        spent = {k: seconds[k] - before[k] for k in seconds}
        return {"first_audio_s": total, "prefill_s": spent["prefill"], "first_step_s": spent["decode"],
                "first_codec_s": spent["codec"]}

    run(2)  # warm-up (allocations, first-call overheads)
    firsts = [first_audio() for _ in range(3)]
    first = {k: statistics.median(f[k] for f in firsts) for k in firsts[0]}
    t1, _ = run(1)
    tn, codec = run(frames + 1)
    return {"s_per_frame": (tn - t1) / frames, "first_frame_s": t1,
            "codec_s_per_frame": codec / (frames + 1), "codec_s_per_audio_s": codec / ((frames + 1) * FRAME_S),
            **first}


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
    p.add_argument("--codec-dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--quantization", default="none", choices=["none", "int8", "auto"],
                   help="ours only (the oracle runs --dtype)")
    p.add_argument("--bandwidth", type=float, default=None,
                   help="measured memory bandwidth in GB/s for the floor (default: measured here, x.sum over 1 GB)")
    p.add_argument("--compile", action="store_true", help="torch.compile our decode step first")
    p.add_argument("--no-oracle", action="store_true")
    p.add_argument("--slots", type=int, default=1,
                   help="engine slots (the server's --max-batch); the benchmark's one stream sits in slot 0")
    p.add_argument("--codec-batched", action="store_true",
                   help="step the codec over every slot together, as on CUDA, instead of per stream (CPU default)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = ensure_checkpoint(args.checkpoint)
    engine = load_engine(str(path), slots=args.slots, max_context=512, dtype=args.dtype, codec_dtype=args.codec_dtype,
                         quantization=args.quantization)
    print(f"precision: {engine.precision.describe()}", flush=True)
    if args.codec_batched:
        engine.runner.set_codec_batching("all-slots")
    if args.compile or engine.precision.compile_step:
        t0 = time.perf_counter()
        engine.runner.compile()
        engine.synthesize(SynthesisRequest(text=TEXT, voice=SPEAKER, language=LANGUAGE, seed=0, max_audio_duration_ms=2 * 80))
        print(f"compiled the decode step in {time.perf_counter() - t0:.0f} s", flush=True)
    ours = time_ours(engine, args.frames)
    talker_b, cp_b = frame_bytes(engine)
    floor_gb = (talker_b + cp_b) / 1e9
    precision = engine.precision
    del engine
    bandwidth = args.bandwidth or measure_bandwidth()
    rows = {"ours": ours}
    if not args.no_oracle:
        rows["oracle"] = time_oracle(path, args.frames, args.dtype)
    mode = "compiled" if args.compile or precision.compile_step else "eager"
    codec = "batched over all slots" if args.codec_batched else "per stream"
    print(f"\nreal-0.6B dims, {precision.describe()} ({mode}), {args.threads} threads, one stream on {args.slots} "
          f"slot(s), codec {codec}, {args.frames} frames, "
          f"EOS banned (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}); CPU: {cpu_model()}")
    print("| engine | s/frame | frames/s | first frame (s) | codec s per audio-s |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['s_per_frame']:.3f} | {1 / r['s_per_frame']:.2f} | {r['first_frame_s']:.2f} | "
              f"{r['codec_s_per_audio_s']:.2f} |")
    if "oracle" in rows:
        print(f"speed-up (frames/s ours / oracle): {rows['oracle']['s_per_frame'] / ours['s_per_frame']:.2f}x")
    floor_s = floor_gb / bandwidth
    print(f"weights streamed per frame: {floor_gb:.2f} GB (talker {talker_b / 1e9:.2f}, predictor {cp_b / 1e9:.2f}) -> "
          f"{floor_gb / ours['s_per_frame']:.1f} GB/s effective; bandwidth {bandwidth:.1f} GB/s -> floor "
          f"{floor_s * 1e3:.0f} ms, ours {ours['s_per_frame'] / floor_s:.2f}x the floor")
    print(f"total per 80 ms frame (talker + predictor + codec): {(ours['s_per_frame'] + ours['codec_s_per_frame']) * 1e3:.0f} ms; "
          f"first audio {ours['first_audio_s'] * 1e3:.0f} ms = prefill {ours['prefill_s'] * 1e3:.0f} + first step "
          f"{ours['first_step_s'] * 1e3:.0f} + first codec {ours['first_codec_s'] * 1e3:.0f} ms (+ prompt building)")
    print(json.dumps({k: {m: round(v, 4) for m, v in r.items()} for k, r in rows.items()}))


if __name__ == "__main__":
    main()
