"""Offline command line (no server): `python -m tts.cli` (also spelled `python -m workers`)
`synth | synth-batch | register-voice ...`.

Errors a user can fix (bad arguments, unusable checkpoints, bad reference audio) print one line naming the
problem and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from tts.cli import commands
from tts.engine.precision import DTYPE_CHOICES

EXIT_USAGE = 2


def _model_args(p: argparse.ArgumentParser, *, dtypes: bool = True) -> None:
    p.add_argument("--model", required=True, help="checkpoint directory or hub id")
    if dtypes:
        p.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES,
                       help="talker and code predictor dtype; auto: float32 on a CPU (exact), bfloat16 on CUDA")
        p.add_argument("--codec-dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                       help="float16: the codec's convolutions in float16, the rest float32 (CPUs with AVX512-FP16)")
        p.add_argument("--quantization", default="none", choices=["none", "int8", "auto"],
                       help="int8: int8 weights for the talker and code predictor; auto: each component's precision "
                       "for this machine (CPU: int8 + a compiled step); none with float32 is the exact reference")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def _reference_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--ref-audio", required=required, help="reference speech (WAV/FLAC/OGG file, 1-30 s)")
    p.add_argument("--ref-text", default=None, help="transcript of the reference (in-context cloning)")
    p.add_argument("--x-vector-only", action="store_true", help="clone from the speaker embedding alone")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tts.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="synthesise one utterance to a WAV file")
    _model_args(p)
    p.add_argument("--text", required=True)
    p.add_argument("--language", default="auto")
    p.add_argument("--speaker", default=None, help="built-in speaker (CustomVoice checkpoints)")
    p.add_argument("--instruct", default=None, help="style instruction (1.7B CustomVoice) or voice description "
                   "(VoiceDesign)")
    p.add_argument("--voice", default=None, help="a registered voice (Base checkpoints; with --store)")
    p.add_argument("--store", default=None, help="voice store directory")
    _reference_args(p, required=False)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--greedy", action="store_true", help="deterministic decoding (do_sample=False)")
    mode.add_argument("--seed", type=int, default=None, help="seed of this request's random stream")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many 80 ms frames")
    p.add_argument("--max-batch", type=int, default=1, help="decode batch shape; equal to a server's --max-batch "
                   "(and the same threads), the output equals that server's bit for bit")
    p.add_argument("--text-normalization", default="auto", choices=["auto", "on", "off"],
                   help="spell out numbers, dates, money... (auto: English and Russian)")
    p.add_argument("--dry-run", action="store_true", help="print the segments as they will be spoken (JSON lines), "
                   "load no weights, write nothing")
    p.add_argument("--out", help="output WAV (24 kHz mono float32); required unless --dry-run")
    p.add_argument("--codes-out", default=None, help="also write the codes as int64 .npy [frames, 16]")

    p = sub.add_parser("synth-batch", help="many requests (JSONL) through the continuous batcher")
    _model_args(p)
    p.add_argument("--requests", required=True, help="JSONL: id, text, language, speaker, instruct, seed, greedy, "
                   "max_frames per line")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--max-batch", type=int, default=8, help="concurrent sequences (engine slots)")
    p.add_argument("--arrival-rate", type=float, default=None, help="Poisson arrivals, requests per second")

    p = sub.add_parser("register-voice", help="register a cloned voice (Base checkpoints) in a voice store")
    _model_args(p, dtypes=False)
    p.add_argument("--name", required=True)
    _reference_args(p, required=True)
    p.add_argument("--store", required=True, help="voice store directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from contract.rules import InvalidRequest
    from tts.checkpoint.config import ConfigError
    from tts.checkpoint.loading import CheckpointError
    from tts.cli.batch_job import JobError
    from tts.voices.reference_audio import ReferenceAudioError
    from tts.voices.store import VoiceError

    run = {"synth": commands.synth, "synth-batch": commands.synth_batch, "register-voice": commands.register_voice}
    try:
        return run[args.command](args)
    except (InvalidRequest, CheckpointError, ConfigError, JobError) as e:
        print(f"error: {e}", file=sys.stderr)
    except (ReferenceAudioError, VoiceError) as e:
        print(f"error: {e.field}: {e}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
