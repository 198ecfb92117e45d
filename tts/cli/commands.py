"""What the offline CLI's commands do (argument parsing lives in tts/cli/__main__.py).

Each returns an exit code; errors a user can fix raise the library's exceptions, which the CLI prints as one
line naming the field (tts/cli/requests.py: the server's rulebook, the CLI's names), before any weights load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from contract.rules import InvalidRequest, Violation
from tts.cli.requests import cli_request, renamed

REFERENCE_VOICE = "reference"  # the in-memory voice `synth --ref-audio` registers


def synth(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf

    from tts.checkpoint.loading import load_config, resolve
    from tts.engine.loader import load_engine
    from tts.engine.memory import context_for

    _threads(args.threads)
    where = resolve(args.model)
    config = load_config(where.path)
    caps = config.capabilities(args.model)
    if args.voice and not caps.clones_voices:
        raise InvalidRequest([Violation("voice", f"this {config.model_type} checkpoint cannot clone voices")])
    voice = REFERENCE_VOICE if args.ref_audio else args.voice if caps.clones_voices else args.speaker
    req = cli_request(caps, text=args.text, language=args.language, voice=voice, instruct=args.instruct,
                      greedy=args.greedy, seed=args.seed, max_frames=args.max_frames,
                      text_normalization=args.text_normalization)  # before loading weights
    if args.dry_run:
        for s in req.segments:
            print(json.dumps({"index": s.index, "source": [s.start, s.end], "text": s.text}, ensure_ascii=False))
        return 0
    if not args.out:
        raise InvalidRequest([Violation("out", "is required (the output WAV file), unless --dry-run")])
    engine = load_engine(where, device=args.device, dtype=args.dtype, codec_dtype=args.codec_dtype,
                         quantization=args.quantization, slots=args.max_batch,
                         max_context=context_for(config, [req]), voice_store=args.store,
                         model_name=args.model)
    if args.ref_audio:
        engine.voices.register(REFERENCE_VOICE, args.ref_audio, ref_text=args.ref_text,
                               x_vector_only=args.x_vector_only, persist=False)
    t0 = time.perf_counter()
    try:
        result = engine.synthesize(req)
    except InvalidRequest as e:
        raise renamed(e, caps) from None
    took = time.perf_counter() - t0
    sf.write(args.out, result.pcm, result.sample_rate, subtype="FLOAT")
    if args.codes_out:
        np.save(args.codes_out, result.codes.astype(np.int64))
    audio_s = len(result.pcm) / result.sample_rate
    print(f"wrote {args.out}: {len(result.codes)} frames, {audio_s:.2f} s of audio in {took:.2f} s "
          f"(seed {result.seed}, {result.finish_reason.value})", file=sys.stderr)
    return 0


def synth_batch(args: argparse.Namespace) -> int:
    from tts.checkpoint.loading import load_config, resolve
    from tts.cli.batch_job import JobError, read_requests, run
    from tts.engine.loader import load_engine
    from tts.engine.memory import context_for

    if args.max_batch < 1:
        raise JobError("--max-batch must be >= 1")
    if args.arrival_rate is not None and args.arrival_rate <= 0:
        raise JobError("--arrival-rate must be > 0")
    _threads(args.threads)
    where = resolve(args.model)
    config = load_config(where.path)
    job = read_requests(Path(args.requests), config.capabilities(args.model))
    engine = load_engine(where, device=args.device, dtype=args.dtype, codec_dtype=args.codec_dtype,
                         quantization=args.quantization, slots=args.max_batch,
                         max_context=context_for(config, job.requests), model_name=args.model)
    print(json.dumps(run(engine, job, Path(args.out_dir), args.arrival_rate)))
    return 0


def register_voice(args: argparse.Namespace) -> int:
    from tts.voices.registry import VoiceRegistry

    _threads(args.threads)
    registry = VoiceRegistry.open(args.model, args.store, device=args.device)
    voice = registry.register(args.name, args.ref_audio, ref_text=args.ref_text, x_vector_only=args.x_vector_only)
    print(json.dumps(voice.describe()))
    return 0


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)
